//! The test pattern: scrolling colour bars and a bouncing square (so the picture moves and codecs have
//! real work), with a stamp in the top-left corner that carries the frame counter and capture time.
//!
//! The stamp is 72 bits — counter (32), capture time in milliseconds modulo 2³² (32), and a CRC-8 — laid
//! out as an 8 × 9 grid of black or white luma cells. A cell is at least 8 pixels, larger for larger
//! pictures, and is read by averaging its centre, so it survives lossy coding; the CRC rejects misreads.

use crate::frame::VideoFrame;

const COLUMNS: usize = 8;
const ROWS: usize = 9;
const BITS: usize = COLUMNS * ROWS;

/// Eight bars (white, yellow, cyan, green, magenta, red, blue, black) as BT.601 Y, U, V.
const BARS: [(u8, u8, u8); 8] = [
    (235, 128, 128),
    (210, 16, 146),
    (170, 166, 16),
    (145, 54, 34),
    (106, 202, 222),
    (81, 90, 240),
    (41, 240, 110),
    (16, 128, 128),
];

/// What a stamp says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PatternStamp {
    /// The frame's number, from 0.
    pub counter: u32,
    /// Capture time in milliseconds since the Unix epoch, modulo 2³².
    pub capture_ms: u32,
}

impl PatternStamp {
    /// Milliseconds from this stamp's capture to `now_ms` (a Unix time in milliseconds), allowing for
    /// the modulo.
    pub fn age_ms(&self, now_ms: u64) -> u32 {
        (now_ms as u32).wrapping_sub(self.capture_ms)
    }
}

/// The side of one stamp cell for a picture size: big enough to survive coding, small enough to fit.
fn cell_size(width: u32, height: u32) -> usize {
    let by_size = (width.min(height) / 30) as usize & !1;
    by_size.max(8)
}

/// CRC-8 (polynomial 0x07) with a non-zero start and final XOR, so all-black and all-white areas are
/// never valid stamps.
fn crc8(bytes: &[u8]) -> u8 {
    let mut crc = 0xA5u8;
    for &b in bytes {
        crc ^= b;
        for _ in 0..8 {
            crc = if crc & 0x80 != 0 {
                (crc << 1) ^ 0x07
            } else {
                crc << 1
            };
        }
    }
    crc ^ 0x5A
}

fn stamp_bits(stamp: PatternStamp) -> [bool; BITS] {
    let mut bytes = [0u8; 9];
    bytes[..4].copy_from_slice(&stamp.counter.to_be_bytes());
    bytes[4..8].copy_from_slice(&stamp.capture_ms.to_be_bytes());
    bytes[8] = crc8(&bytes[..8]);
    let mut bits = [false; BITS];
    for (i, bit) in bits.iter_mut().enumerate() {
        *bit = bytes[i / 8] & (0x80 >> (i % 8)) != 0;
    }
    bits
}

/// Reads the stamp of a frame that came from a [`TestPattern`]; None if there is none or it is damaged.
/// The frame may have been halved on the way once or twice (a sender adapting to its link), so the
/// stamp's cells may be a half or a quarter of what this size would draw.
pub fn read_stamp(frame: &VideoFrame) -> Option<PatternStamp> {
    let (w, h) = (frame.width(), frame.height());
    [
        cell_size(w, h),
        cell_size(w * 2, h * 2) / 2,
        cell_size(w * 4, h * 4) / 4,
    ]
    .into_iter()
    .filter(|cell| *cell >= 2)
    .find_map(|cell| read_stamp_cells(frame, cell))
}

fn read_stamp_cells(frame: &VideoFrame, cell: usize) -> Option<PatternStamp> {
    let (w, h) = (frame.width() as usize, frame.height() as usize);
    if COLUMNS * cell > w || ROWS * cell > h {
        return None;
    }
    let y = frame.y();
    let mut bytes = [0u8; 9];
    for i in 0..BITS {
        let (cx, cy) = ((i % COLUMNS) * cell, (i / COLUMNS) * cell);
        // The centre half of the cell: edges blur under coding.
        let (x0, y0, side) = (cx + cell / 4, cy + cell / 4, cell / 2);
        let mut sum = 0u32;
        for row in y0..y0 + side {
            sum += y[row * w + x0..row * w + x0 + side]
                .iter()
                .map(|&p| p as u32)
                .sum::<u32>();
        }
        if sum / (side * side) as u32 > 128 {
            bytes[i / 8] |= 0x80 >> (i % 8);
        }
    }
    (crc8(&bytes[..8]) == bytes[8]).then(|| PatternStamp {
        counter: u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]),
        capture_ms: u32::from_be_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]),
    })
}

/// Draws test-pattern frames of one size. Rows of the bars are precomputed, so a frame costs a few
/// memory copies.
pub struct TestPattern {
    width: u32,
    height: u32,
    counter: u32,
    /// Two picture widths of bars in luma (and in chroma, at half resolution), so any scroll offset is
    /// one slice copy per row.
    bar_y: Vec<u8>,
    bar_u: Vec<u8>,
    bar_v: Vec<u8>,
}

impl TestPattern {
    /// A pattern of `width` × `height` (rounded down to even).
    pub fn new(width: u32, height: u32) -> Self {
        let (width, height) = (width & !1, height & !1);
        let w = width as usize;
        let bar_width = (w / BARS.len()).max(2) & !1;
        let luma = |x: usize| BARS[(x / bar_width) % BARS.len()];
        let bar_y = (0..2 * w).map(|x| luma(x).0).collect();
        let bar_u = (0..w).map(|x| luma(2 * x).1).collect();
        let bar_v = (0..w).map(|x| luma(2 * x).2).collect();
        Self {
            width,
            height,
            counter: 0,
            bar_y,
            bar_u,
            bar_v,
        }
    }

    /// The picture size.
    pub fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    /// The next frame, stamped with `capture_time_us`. Reuses `frame`'s buffer when it has the size.
    pub fn render_into(&mut self, frame: &mut VideoFrame, capture_time_us: u64) {
        if frame.width() != self.width || frame.height() != self.height {
            *frame = VideoFrame::black(self.width, self.height);
        }
        frame.capture_time_us = capture_time_us;
        let counter = self.counter;
        self.counter = self.counter.wrapping_add(1);
        let (w, h) = (self.width as usize, self.height as usize);
        let shift = (counter as usize * 4) % w;
        let (y, u, v) = frame.planes_mut();
        for row in 0..h {
            y[row * w..(row + 1) * w].copy_from_slice(&self.bar_y[shift..shift + w]);
        }
        let (cw, ch, cshift) = (w / 2, h / 2, shift / 2);
        for row in 0..ch {
            for (plane, bar) in [(&mut *u, &self.bar_u), (&mut *v, &self.bar_v)] {
                plane[row * cw..(row + 1) * cw].copy_from_slice(&bar[cshift..cshift + cw]);
            }
        }
        self.draw_square(y, counter);
        let stamp = PatternStamp {
            counter,
            capture_ms: (capture_time_us / 1000) as u32,
        };
        self.draw_stamp(y, u, v, stamp);
    }

    /// A white square bouncing across the lower part of the picture.
    fn draw_square(&self, y: &mut [u8], counter: u32) {
        let (w, h) = (self.width as usize, self.height as usize);
        let side = (h / 6).max(4);
        let travel_x = (w - side).max(1);
        let travel_y = (h / 2 - side).max(1);
        let t = counter as usize * 3;
        let bounce = |t: usize, span: usize| {
            if (t / span).is_multiple_of(2) {
                t % span
            } else {
                span - t % span
            }
        };
        let (x0, y0) = (bounce(t, travel_x), h / 2 + bounce(t * 2 / 3, travel_y));
        for row in y0..(y0 + side).min(h) {
            y[row * w + x0..row * w + (x0 + side).min(w)].fill(235);
        }
    }

    fn draw_stamp(&self, y: &mut [u8], u: &mut [u8], v: &mut [u8], stamp: PatternStamp) {
        let w = self.width as usize;
        let cell = cell_size(self.width, self.height);
        if COLUMNS * cell > w || ROWS * cell > self.height as usize {
            return; // too small to carry a stamp
        }
        for (i, bit) in stamp_bits(stamp).iter().enumerate() {
            let (cx, cy) = ((i % COLUMNS) * cell, (i / COLUMNS) * cell);
            let value = if *bit { 235 } else { 16 };
            for row in cy..cy + cell {
                y[row * w + cx..row * w + cx + cell].fill(value);
            }
        }
        // Neutral chroma under the stamp, so colour bleeding cannot move the luma average.
        let cw = w / 2;
        for row in 0..ROWS * cell / 2 {
            u[row * cw..row * cw + COLUMNS * cell / 2].fill(128);
            v[row * cw..row * cw + COLUMNS * cell / 2].fill(128);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_read_back_and_frames_move() {
        for (w, h) in [
            (320, 240),
            (640, 480),
            (1280, 720),
            (1920, 1080),
            (352, 288),
        ] {
            let mut pattern = TestPattern::new(w, h);
            let mut a = VideoFrame::black(w, h);
            let mut b = VideoFrame::black(w, h);
            pattern.render_into(&mut a, 1_700_000_000_123_456);
            pattern.render_into(&mut b, 1_700_000_000_156_789);
            let sa = read_stamp(&a).expect("stamp");
            let sb = read_stamp(&b).expect("stamp");
            assert_eq!((sa.counter, sb.counter), (0, 1));
            assert_eq!(sa.capture_ms, (1_700_000_000_123u64) as u32);
            assert_ne!(a.y(), b.y(), "the picture should move");
            assert_eq!(sb.age_ms(1_700_000_000_200), 44);
        }
    }

    #[test]
    fn stamps_survive_a_sender_halving_the_picture() {
        for (w, h) in [(640, 480), (1280, 720), (1920, 1080)] {
            let mut pattern = TestPattern::new(w, h);
            let mut frame = VideoFrame::black(w, h);
            pattern.render_into(&mut frame, 1_700_000_000_123_456);
            let half = frame.half();
            assert_eq!((half.width(), half.height()), (w / 2, h / 2));
            assert_eq!(half.capture_time_us, 1_700_000_000_123_456);
            assert_eq!(
                read_stamp(&half).map(|s| s.counter),
                Some(0),
                "{w}x{h} halved"
            );
            let quarter = half.half();
            assert_eq!(
                read_stamp(&quarter).map(|s| s.counter),
                Some(0),
                "{w}x{h} quartered"
            );
        }
    }

    #[test]
    fn a_plain_frame_has_no_stamp() {
        assert_eq!(read_stamp(&VideoFrame::black(320, 240)), None);
        let mut grey = VideoFrame::black(320, 240);
        grey.planes_mut().0.fill(200);
        assert_eq!(read_stamp(&grey), None);
    }
}
