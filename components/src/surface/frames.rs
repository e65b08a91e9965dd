//! The wire between a view's asset handler and its page script: what a frame request asks for and how a
//! frame is laid out. Pure, so it is tested without a webview.

use otter_media::{convert::i420_to_rgba, VideoFrame};
use otter_rtc::media::VideoSink;

/// Bytes before the pixels: width, height, and the frame's sequence number (low, high), all u32 LE.
pub const HEADER_LEN: usize = 16;

/// How the page wants pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PixelFormat {
    /// The planes as decoded (1.5 bytes a pixel); the page converts with a WebGL shader.
    #[default]
    I420,
    /// Packed RGBA (4 bytes a pixel), for pages without WebGL.
    Rgba,
}

/// A page's request for the next frame: `?after=N&drawn=D&format=i420|rgba`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FrameRequest {
    /// The newest sequence number the page has; it wants a newer one.
    pub after: u64,
    /// How many frames the page has drawn so far.
    pub drawn: u64,
    /// The pixel layout it wants.
    pub format: PixelFormat,
}

impl FrameRequest {
    /// Reads a request from a URI query. Unknown or malformed fields keep their defaults: the page is
    /// ours, but a bad request must still get a frame rather than an error loop.
    pub fn parse(query: Option<&str>) -> Self {
        let mut request = Self::default();
        for pair in query.unwrap_or_default().split('&') {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            match key {
                "after" => request.after = value.parse().unwrap_or(0),
                "drawn" => request.drawn = value.parse().unwrap_or(0),
                "format" if value == "rgba" => request.format = PixelFormat::Rgba,
                _ => {}
            }
        }
        request
    }
}

/// Lays out `frame` with sequence number `seq` for the page, reusing `out`'s allocation.
pub fn encode_frame(frame: &VideoFrame, seq: u64, format: PixelFormat, out: &mut Vec<u8>) {
    out.clear();
    out.extend_from_slice(&frame.width().to_le_bytes());
    out.extend_from_slice(&frame.height().to_le_bytes());
    out.extend_from_slice(&(seq as u32).to_le_bytes());
    out.extend_from_slice(&((seq >> 32) as u32).to_le_bytes());
    match format {
        PixelFormat::I420 => out.extend_from_slice(frame.data()),
        PixelFormat::Rgba => i420_to_rgba(frame, out),
    }
}

/// Waits until `sink` has a frame newer than `request.after` and lays it out, or gives up after
/// `timeout` (None: the page asks again).
pub async fn next_frame(
    sink: &VideoSink,
    request: FrameRequest,
    timeout: std::time::Duration,
) -> Option<Vec<u8>> {
    let (frame, seq) = tokio::time::timeout(timeout, sink.next_after(request.after))
        .await
        .ok()?;
    let pixels = match request.format {
        PixelFormat::I420 => frame.data().len(),
        PixelFormat::Rgba => (frame.width() * frame.height() * 4) as usize,
    };
    let mut out = Vec::with_capacity(HEADER_LEN + pixels);
    encode_frame(&frame, seq, request.format, &mut out);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn requests_parse_and_tolerate_garbage() {
        let r = FrameRequest::parse(Some("after=41&drawn=7&format=rgba"));
        assert_eq!((r.after, r.drawn, r.format), (41, 7, PixelFormat::Rgba));
        assert_eq!(FrameRequest::parse(None), FrameRequest::default());
        let r = FrameRequest::parse(Some("after=x&&drawn=-1&format=png&z"));
        assert_eq!(r, FrameRequest::default());
    }

    #[test]
    fn frames_carry_size_sequence_and_planes() {
        let frame = VideoFrame::black(4, 2);
        let mut out = Vec::new();
        encode_frame(&frame, (5u64 << 32) | 9, PixelFormat::I420, &mut out);
        assert_eq!(out.len(), HEADER_LEN + 12);
        assert_eq!(
            &out[..16],
            &[4, 0, 0, 0, 2, 0, 0, 0, 9, 0, 0, 0, 5, 0, 0, 0]
        );
        assert_eq!(&out[16..24], &[16; 8]);
        encode_frame(&frame, 1, PixelFormat::Rgba, &mut out);
        assert_eq!(out.len(), HEADER_LEN + 32);
        assert_eq!(&out[16..20], &[0, 0, 0, 255]);
    }

    #[tokio::test]
    async fn a_request_waits_for_a_newer_frame_and_times_out_without_one() {
        let sink = VideoSink::new();
        let wait = Duration::from_millis(50);
        assert!(next_frame(&sink, FrameRequest::default(), wait)
            .await
            .is_none());
        sink.put(VideoFrame::black(2, 2));
        let got = next_frame(&sink, FrameRequest::default(), wait)
            .await
            .unwrap();
        assert_eq!(got[8], 1, "the first frame has sequence 1");
        let seen = FrameRequest {
            after: 1,
            ..Default::default()
        };
        assert!(
            next_frame(&sink, seen, wait).await.is_none(),
            "nothing newer than 1"
        );
    }
}
