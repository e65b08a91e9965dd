//! Spotting the first RTP packet of a video keyframe, so a subscriber that starts or resumes video is
//! fed from a decodable point instead of from the middle of a delta frame.
//!
//! Only the payload descriptor / NAL headers are read; malformed payloads simply are "not a keyframe".

use str0m::format::Codec;

/// Whether `payload` (an RTP payload of `codec`) starts a keyframe. Codecs we do not parse count as
/// keyframes, which degrades to "forward immediately" rather than "never forward".
pub(crate) fn starts_keyframe(codec: Codec, payload: &[u8]) -> bool {
    match codec {
        Codec::Vp8 => vp8_starts_keyframe(payload),
        Codec::H264 => h264_starts_keyframe(payload),
        _ => true,
    }
}

/// RFC 7741: the first packet of a frame has S=1 and partition id 0; the VP8 payload header that
/// follows the descriptor has its P bit (bit 0) clear on key frames.
fn vp8_starts_keyframe(payload: &[u8]) -> bool {
    vp8_header_offset(payload)
        .and_then(|at| payload.get(at))
        .is_some_and(|header| header & 0x01 == 0)
}

/// Where the VP8 payload header starts in the first packet of a frame (S=1, partition 0), past the
/// RFC 7741 descriptor; `None` for other packets.
pub(crate) fn vp8_header_offset(payload: &[u8]) -> Option<usize> {
    let &first = payload.first()?;
    let start_of_partition = first & 0x10 != 0;
    let partition_id = first & 0x07;
    if !start_of_partition || partition_id != 0 {
        return None;
    }
    let mut at = 1;
    if first & 0x80 != 0 {
        // Extension byte: I (picture id), L (TL0PICIDX), T/K (TID/KEYIDX).
        let &ext = payload.get(at)?;
        at += 1;
        if ext & 0x80 != 0 {
            let &pic = payload.get(at)?;
            at += if pic & 0x80 != 0 { 2 } else { 1 };
        }
        if ext & 0x40 != 0 {
            at += 1;
        }
        if ext & 0x30 != 0 {
            at += 1;
        }
    }
    Some(at)
}

const NAL_IDR: u8 = 5;
const NAL_SPS: u8 = 7;
const NAL_STAP_A: u8 = 24;
const NAL_FU_A: u8 = 28;

/// RFC 6184 packetization-mode 1: a single IDR/SPS NAL, a STAP-A holding one, or the first fragment
/// (FU-A with S set) of an IDR.
fn h264_starts_keyframe(payload: &[u8]) -> bool {
    let Some(&header) = payload.first() else {
        return false;
    };
    match header & 0x1f {
        NAL_IDR | NAL_SPS => true,
        NAL_STAP_A => {
            let mut rest = &payload[1..];
            while rest.len() > 2 {
                let size = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
                let Some(nal) = rest.get(2..2 + size) else {
                    return false;
                };
                if nal
                    .first()
                    .is_some_and(|n| matches!(n & 0x1f, NAL_IDR | NAL_SPS))
                {
                    return true;
                }
                rest = &rest[2 + size..];
            }
            false
        }
        NAL_FU_A => payload
            .get(1)
            .is_some_and(|fu| fu & 0x80 != 0 && fu & 0x1f == NAL_IDR),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vp8_key_and_delta_frames() {
        // X=1, S=1, PID=0; I=1 with a 15-bit picture id; then the VP8 header byte.
        assert!(vp8_starts_keyframe(&[0x90, 0x80, 0x81, 0x23, 0x00, 0x9d]));
        assert!(!vp8_starts_keyframe(&[0x90, 0x80, 0x81, 0x23, 0x01]));
        // Continuation packet (S=0).
        assert!(!vp8_starts_keyframe(&[0x80, 0x80, 0x05, 0x00]));
        assert!(vp8_starts_keyframe(&[0x10, 0x00]));
        for garbage in [&[][..], &[0x90], &[0x90, 0x80], &[0xff; 3]] {
            let _ = vp8_starts_keyframe(garbage);
        }
    }

    #[test]
    fn h264_idr_in_each_packetization() {
        assert!(h264_starts_keyframe(&[0x65, 1, 2]));
        assert!(!h264_starts_keyframe(&[0x41, 1, 2]));
        assert!(h264_starts_keyframe(&[0x18, 0, 2, 0x67, 0x42, 0, 1, 0x68]));
        assert!(h264_starts_keyframe(&[0x7c, 0x85, 0]));
        assert!(!h264_starts_keyframe(&[0x7c, 0x05, 0]));
        assert!(!h264_starts_keyframe(&[0x18, 0xff, 0xff, 0x67]));
    }
}
