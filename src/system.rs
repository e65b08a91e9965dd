//! `check_system_requirements()`: what this machine lacks for a call, so an app can say so its own way.

use std::path::Path;

/// Something a call needs that this machine does not have.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MissingRequirement {
    /// No video capture device.
    Camera,
    /// No sound card (no microphone, no playback).
    AudioDevice,
}

/// Ok when everything a call needs is present; otherwise the list of what is missing. Signalling works
/// regardless; a missing device only stops that track from being published.
pub fn check_system_requirements() -> Result<(), Vec<MissingRequirement>> {
    let mut missing = Vec::new();
    if !has_camera() {
        missing.push(MissingRequirement::Camera);
    }
    if !has_sound_card() {
        missing.push(MissingRequirement::AudioDevice);
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(missing)
    }
}

fn has_camera() -> bool {
    std::fs::read_dir("/dev")
        .map(|dir| {
            dir.flatten()
                .any(|e| e.file_name().to_string_lossy().starts_with("video"))
        })
        .unwrap_or(false)
}

fn has_sound_card() -> bool {
    std::fs::read_to_string(Path::new("/proc/asound/cards"))
        .map(|cards| !cards.trim().is_empty() && !cards.contains("no soundcards"))
        .unwrap_or(false)
}
