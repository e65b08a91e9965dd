//! Where a publisher's media comes from: the chosen video and audio sources, started at publish time so
//! a missing or busy device is found (and reported) before anything is negotiated.

use std::sync::Arc;

use otter_protocol::{ErrorCode, OtError};

use super::properties::{AudioSourceChoice, PublisherProperties, VideoSourceChoice};
use crate::media::{
    AudioOutput, AudioSource, Capture, LatestSlot, TestPatternSource, ToneSource, VideoFormat,
    VideoOutput, VideoSource,
};

/// A video source, where it delivers, and at what size and rate.
pub(super) struct VideoRig {
    pub source: Arc<dyn VideoSource>,
    pub frames: VideoOutput,
    pub format: VideoFormat,
}

/// Starts the video source at `format`.
pub(super) fn start_video(
    props: &PublisherProperties,
    format: VideoFormat,
) -> Result<(Capture, VideoRig), OtError> {
    let source = video_source(props)?;
    let frames = Arc::new(LatestSlot::new());
    let capture = source.start(format, frames.clone())?;
    Ok((
        capture,
        VideoRig {
            source,
            frames,
            format,
        },
    ))
}

/// Starts the audio source; its frames arrive on the receiver.
pub(super) fn start_audio(
    props: &PublisherProperties,
) -> Result<(Capture, std::sync::mpsc::Receiver<otter_media::AudioFrame>), OtError> {
    let source = audio_source(props)?;
    let (output, frames) = AudioOutput::new();
    Ok((source.start(output)?, frames))
}

fn unavailable(what: &str) -> OtError {
    ErrorCode::HardwareUnavailable.with_message(format!("no {what} is available on this machine"))
}

fn video_source(props: &PublisherProperties) -> Result<Arc<dyn VideoSource>, OtError> {
    match &props.video_source {
        VideoSourceChoice::TestPattern => Ok(Arc::new(TestPatternSource)),
        VideoSourceChoice::Custom(source) => Ok(source.clone()),
        VideoSourceChoice::Camera => Ok(Arc::new(crate::capture::CameraSource {
            device: props.camera_device.clone(),
            position: props.camera_position,
        })),
        VideoSourceChoice::Screen => Err(unavailable("screen capture")),
    }
}

fn audio_source(props: &PublisherProperties) -> Result<Arc<dyn AudioSource>, OtError> {
    match &props.audio_source {
        AudioSourceChoice::Tone(hz) => Ok(Arc::new(ToneSource { frequency_hz: *hz })),
        AudioSourceChoice::Custom(source) => Ok(source.clone()),
        AudioSourceChoice::Microphone => Ok(Arc::new(crate::capture::MicrophoneSource {
            device: props.microphone_device.clone(),
        })),
    }
}
