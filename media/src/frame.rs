//! Raw media as it moves between capture, codecs and playback.

/// Audio is 48 kHz mono everywhere inside Otter (what Opus runs at natively).
pub const AUDIO_SAMPLE_RATE: u32 = 48_000;
/// Samples in one 20 ms audio frame, the unit of capture, coding and playback.
pub const AUDIO_FRAME_SAMPLES: usize = 960;

/// One picture, I420: a full-size Y plane followed by quarter-size U and V planes, tightly packed.
/// Width and height are even (every resolution Otter offers is), so the chroma planes are exact halves.
#[derive(Clone, PartialEq, Eq)]
pub struct VideoFrame {
    width: u32,
    height: u32,
    data: Vec<u8>,
    /// When the picture was captured, in microseconds since the Unix epoch (0 = unknown).
    pub capture_time_us: u64,
}

impl std::fmt::Debug for VideoFrame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "VideoFrame({}x{}, captured {} µs)",
            self.width, self.height, self.capture_time_us
        )
    }
}

impl VideoFrame {
    /// A black frame. Odd sizes are rounded down to even.
    pub fn black(width: u32, height: u32) -> Self {
        let (width, height) = (width & !1, height & !1);
        let luma = (width * height) as usize;
        let mut data = vec![16u8; luma + luma / 2];
        data[luma..].fill(128);
        Self {
            width,
            height,
            data,
            capture_time_us: 0,
        }
    }

    /// Wraps packed I420 data; None when its length does not match the (even) size.
    pub fn from_i420(width: u32, height: u32, data: Vec<u8>) -> Option<Self> {
        let luma = (width as usize) * (height as usize);
        (width.is_multiple_of(2) && height.is_multiple_of(2) && data.len() == luma + luma / 2)
            .then_some(Self {
                width,
                height,
                data,
                capture_time_us: 0,
            })
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// The packed I420 bytes.
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    fn luma_len(&self) -> usize {
        (self.width * self.height) as usize
    }

    /// The Y plane (stride = width).
    pub fn y(&self) -> &[u8] {
        &self.data[..self.luma_len()]
    }

    /// The U plane (stride = width / 2).
    pub fn u(&self) -> &[u8] {
        let l = self.luma_len();
        &self.data[l..l + l / 4]
    }

    /// The V plane (stride = width / 2).
    pub fn v(&self) -> &[u8] {
        let l = self.luma_len();
        &self.data[l + l / 4..]
    }

    /// The three planes, mutable.
    pub fn planes_mut(&mut self) -> (&mut [u8], &mut [u8], &mut [u8]) {
        let l = self.luma_len();
        let (y, uv) = self.data.split_at_mut(l);
        let (u, v) = uv.split_at_mut(l / 4);
        (y, u, v)
    }

    /// The picture at half the width and height (a 2×2 box filter), sizes rounded down to even; the
    /// capture time is kept. What a sender does when the link cannot carry the whole picture.
    pub fn half(&self) -> VideoFrame {
        let (w, h) = (self.width as usize, self.height as usize);
        let (hw, hh) = ((w / 2) & !1, (h / 2) & !1);
        let mut out = VideoFrame::black(hw as u32, hh as u32);
        out.capture_time_us = self.capture_time_us;
        let (src_y, src_u, src_v) = (self.y(), self.u(), self.v());
        let (y, u, v) = out.planes_mut();
        halve_plane(src_y, w, y, hw, hh);
        halve_plane(src_u, w / 2, u, hw / 2, hh / 2);
        halve_plane(src_v, w / 2, v, hw / 2, hh / 2);
        out
    }

    /// Copies planes with arbitrary strides (as decoders produce them) into this frame's packed layout.
    /// The frame must already have the source's size.
    pub fn copy_from_planes(&mut self, planes: [(&[u8], usize); 3]) {
        let (w, h) = (self.width as usize, self.height as usize);
        let (y, u, v) = self.planes_mut();
        for (dst, (src, stride), (pw, ph)) in [
            (y, planes[0], (w, h)),
            (u, planes[1], (w / 2, h / 2)),
            (v, planes[2], (w / 2, h / 2)),
        ] {
            for row in 0..ph {
                dst[row * pw..(row + 1) * pw]
                    .copy_from_slice(&src[row * stride..row * stride + pw]);
            }
        }
    }
}

/// Averages each 2×2 block of `src` (rows of `stride`) into one pixel of `dst` (`width`×`height`).
fn halve_plane(src: &[u8], stride: usize, dst: &mut [u8], width: usize, height: usize) {
    for (row, out) in dst.chunks_exact_mut(width).take(height).enumerate() {
        let (top, bottom) = (&src[2 * row * stride..], &src[(2 * row + 1) * stride..]);
        for (col, px) in out.iter_mut().enumerate() {
            let sum = top[2 * col] as u16
                + top[2 * col + 1] as u16
                + bottom[2 * col] as u16
                + bottom[2 * col + 1] as u16;
            *px = ((sum + 2) / 4) as u8;
        }
    }
}

/// 20 ms of 48 kHz mono audio.
#[derive(Debug, Clone, PartialEq)]
pub struct AudioFrame {
    /// [`AUDIO_FRAME_SAMPLES`] signed 16-bit samples.
    pub samples: Vec<i16>,
    /// When the first sample was captured, in microseconds since the Unix epoch (0 = unknown).
    pub capture_time_us: u64,
}

impl AudioFrame {
    /// 20 ms of silence.
    pub fn silence() -> Self {
        Self {
            samples: vec![0; AUDIO_FRAME_SAMPLES],
            capture_time_us: 0,
        }
    }
}

/// Microseconds since the Unix epoch, for capture stamps.
pub fn unix_micros() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}
