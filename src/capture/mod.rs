//! Capture devices: the camera (nokhwa) and the microphone (cpal), as video and audio sources.

mod camera;
mod microphone;
mod resample;

pub use camera::CameraSource;
pub use microphone::MicrophoneSource;
