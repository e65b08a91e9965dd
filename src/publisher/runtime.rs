//! Changes to a live publisher's size, rate and bitrate (API.md §3.1, "changes at runtime").

use std::sync::atomic::Ordering;

use otter_protocol::{ErrorCode, OtError};

use super::Publisher;
use crate::media::VideoFormat;
use crate::session_core::Request;

impl Publisher {
    /// Changes the published size (API.md `resolution`, at runtime): the capture restarts at the new size,
    /// the encoder follows, and the others get `stream_property_changed` (`video_dimensions`).
    pub async fn set_resolution(&self, width: u32, height: u32) -> Result<(), OtError> {
        let (width, height) = (width & !1, height & !1);
        if width == 0 || height == 0 {
            return Err(ErrorCode::InvalidParameter.with_message("resolution must be at least 2x2"));
        }
        self.restart_video(|f| VideoFormat { width, height, ..f })?;
        let stream_id = self.inner.stream.stream_id.clone();
        self.inner
            .session
            .send_request(Request::UpdateStream {
                stream_id,
                has_audio: None,
                has_video: None,
                video_dimensions: Some((width, height)),
            })
            .await
            .map(|_| ())
    }

    /// Changes the frame rate (API.md `frame_rate`, at runtime).
    pub fn set_frame_rate(&self, fps: u32) -> Result<(), OtError> {
        let fps = fps.clamp(1, 60);
        self.restart_video(|f| VideoFormat { fps, ..f })?;
        self.inner
            .frame_us
            .store(1_000_000 / fps, Ordering::Relaxed);
        Ok(())
    }

    /// Caps the video bitrate (API.md `max_video_bitrate`, at runtime; None = the encoder's default).
    pub fn set_max_video_bitrate(&self, bps: Option<u32>) {
        let natural = self.inner.natural_bitrate.load(Ordering::Relaxed);
        let bitrate = bps.map_or(natural, |cap| natural.min(cap.max(5_000)));
        self.inner
            .switches
            .video_bitrate
            .store(bitrate, Ordering::Relaxed);
    }

    /// Restarts video capture with a changed format (the encoder follows the frames' size).
    fn restart_video(
        &self,
        change: impl FnOnce(VideoFormat) -> VideoFormat,
    ) -> Result<(), OtError> {
        let mut video = self.inner.video.lock().unwrap_or_else(|p| p.into_inner());
        let rig = video.as_mut().ok_or_else(|| {
            ErrorCode::InvalidParameter.with_message("this publisher has no video")
        })?;
        let mut running = self.inner.running.lock().unwrap_or_else(|p| p.into_inner());
        let running = running
            .as_mut()
            .ok_or_else(|| ErrorCode::NotConnected.with_message("unpublished"))?;
        let format = change(rig.format);
        running.restart_video(|| rig.source.start(format, rig.frames.clone()))?;
        rig.format = format;
        Ok(())
    }
}
