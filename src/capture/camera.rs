//! The camera, through nokhwa (V4L2 on Linux, AVFoundation on macOS, Media Foundation on Windows).
//! The device is opened on the capture thread (some back ends tie it to the opening thread); the opening's
//! outcome is handed back so a missing or busy camera is an error of `start`, not a silent black stream.

use std::sync::mpsc;
use std::time::Duration;

use nokhwa::pixel_format::RgbFormat;
use nokhwa::utils::{
    CameraFormat, CameraIndex, FrameFormat, RequestedFormat, RequestedFormatType, Resolution,
};
use nokhwa::Camera;
use otter_media::convert::rgb_to_i420;
use otter_media::frame::unix_micros;
use otter_media::VideoFrame;
use otter_protocol::{ErrorCode, OtError};

use crate::media::{Capture, VideoFormat, VideoOutput, VideoSource};
use crate::publisher::CameraPosition;

/// How long opening a camera may take.
const OPEN_TIMEOUT: Duration = Duration::from_secs(5);

/// A camera, by ID (from `devices()`) or by position.
#[derive(Debug, Clone)]
pub struct CameraSource {
    /// A device ID; None = by position.
    pub device: Option<String>,
    /// Front = the first camera, back = the second.
    pub position: CameraPosition,
}

impl CameraSource {
    fn index(&self) -> CameraIndex {
        match &self.device {
            Some(id) => id
                .parse::<u32>()
                .map(CameraIndex::Index)
                .unwrap_or_else(|_| CameraIndex::String(id.clone())),
            None => CameraIndex::Index(if self.position == CameraPosition::Back {
                1
            } else {
                0
            }),
        }
    }
}

fn hardware(e: impl std::fmt::Display) -> OtError {
    ErrorCode::HardwareUnavailable.with_message(format!("cannot open the camera: {e}"))
}

impl VideoSource for CameraSource {
    fn start(&self, format: VideoFormat, output: VideoOutput) -> Result<Capture, OtError> {
        if crate::devices::devices().cameras.is_empty() {
            return Err(ErrorCode::HardwareUnavailable
                .with_message("no camera is available on this machine"));
        }
        let index = self.index();
        let (opened_tx, opened) = mpsc::channel::<Result<(), OtError>>();
        let capture = Capture::spawn("otter-camera", move |stop| {
            let wanted = CameraFormat::new(
                Resolution::new(format.width, format.height),
                FrameFormat::MJPEG,
                format.fps,
            );
            let requested = RequestedFormat::new::<RgbFormat>(RequestedFormatType::Closest(wanted));
            let mut camera =
                match Camera::new(index, requested).and_then(|mut c| c.open_stream().map(|_| c)) {
                    Ok(c) => c,
                    Err(e) => {
                        let _ = opened_tx.send(Err(hardware(e)));
                        return;
                    }
                };
            let _ = opened_tx.send(Ok(()));
            let mut frame = VideoFrame::black(format.width, format.height);
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                // `frame()` blocks until the device delivers, which paces the loop at the camera's rate.
                let Ok(buffer) = camera.frame() else { break };
                let captured = unix_micros();
                let Ok(rgb) = buffer.decode_image::<RgbFormat>() else {
                    continue;
                };
                rgb_to_i420(rgb.as_raw(), rgb.width(), rgb.height(), &mut frame);
                frame.capture_time_us = captured;
                output.put(frame.clone());
            }
            let _ = camera.stop_stream();
        })
        .map_err(hardware)?;
        match opened.recv_timeout(OPEN_TIMEOUT) {
            Ok(Ok(())) => Ok(capture),
            Ok(Err(e)) => Err(e),
            Err(_) => {
                Err(ErrorCode::HardwareUnavailable.with_message("the camera did not open in time"))
            }
        }
    }
}
