//! Capture devices: the camera (nokhwa) and the microphone (cpal), as video and audio sources.

mod camera;
mod microphone;

pub use camera::CameraSource;
pub use microphone::MicrophoneSource;
