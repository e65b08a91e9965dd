//! `check_system_requirements()`: what this machine lacks for a call, so an app can say so its own way.

/// Something a call needs that this machine does not have.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MissingRequirement {
    /// No video capture device.
    Camera,
    /// No audio capture device.
    Microphone,
    /// No audio output device (received audio is mixed but not heard).
    Speaker,
    /// A codec could not be initialised (the message says which and why).
    Codec(String),
}

/// Ok when everything a call needs is present; otherwise the list of what is missing. Signalling works
/// regardless; a missing device only stops that track from being published or heard.
pub fn check_system_requirements() -> Result<(), Vec<MissingRequirement>> {
    let mut missing = Vec::new();
    let devices = crate::devices::devices();
    if devices.cameras.is_empty() {
        missing.push(MissingRequirement::Camera);
    }
    if devices.microphones.is_empty() {
        missing.push(MissingRequirement::Microphone);
    }
    if !has_speaker() {
        missing.push(MissingRequirement::Speaker);
    }
    for codec in [otter_media::VideoCodec::Vp8, otter_media::VideoCodec::H264] {
        let settings = otter_media::VideoEncoderSettings::new(64, 64, 15);
        if let Err(e) = otter_media::video_encoder(codec, settings)
            .and_then(|_| otter_media::video_decoder(codec))
        {
            missing.push(MissingRequirement::Codec(e.to_string()));
        }
    }
    if let Err(e) = otter_media::opus_codec::OpusEncoder::new(40_000, false) {
        missing.push(MissingRequirement::Codec(e.to_string()));
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(missing)
    }
}

fn has_speaker() -> bool {
    use cpal::traits::HostTrait;
    cpal::default_host().default_output_device().is_some()
}

#[cfg(test)]
mod tests {
    #[test]
    fn codecs_are_present_and_missing_devices_are_named() {
        let missing = super::check_system_requirements().err().unwrap_or_default();
        assert!(
            !missing
                .iter()
                .any(|m| matches!(m, super::MissingRequirement::Codec(_))),
            "{missing:?}"
        );
        // This project's CI machines have no camera; where one exists this is simply not listed.
        let has_camera = !crate::devices::devices().cameras.is_empty();
        assert_eq!(
            missing.contains(&super::MissingRequirement::Camera),
            !has_camera
        );
    }
}
