//! Capture devices: what this machine has.

/// A camera or microphone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    /// Pass as `camera_device` / `microphone_device`.
    pub id: String,
    /// A human-readable name.
    pub name: String,
}

/// The cameras and microphones present.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Devices {
    /// Video capture devices.
    pub cameras: Vec<Device>,
    /// Audio capture devices.
    pub microphones: Vec<Device>,
}

/// Lists capture devices. Never fails: a back end that cannot be queried contributes nothing.
pub fn devices() -> Devices {
    let cameras = nokhwa::query(nokhwa::utils::ApiBackend::Auto)
        .map(|list| {
            list.into_iter()
                .map(|c| Device {
                    id: c.index().to_string(),
                    name: c.human_name(),
                })
                .collect()
        })
        .unwrap_or_default();
    let microphones = {
        use cpal::traits::{DeviceTrait, HostTrait};
        cpal::default_host()
            .input_devices()
            .map(|list| {
                list.filter_map(|d| d.name().ok())
                    .map(|n| Device {
                        id: n.clone(),
                        name: n,
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    Devices {
        cameras,
        microphones,
    }
}
