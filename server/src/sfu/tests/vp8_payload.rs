//! The synthetic VP8 packets test publishers send, shared by the simulated-time tests (`sim.rs`) and the
//! real-socket ones (`server/tests/sfu_support.rs`, which includes this file by path).

/// Packet `index` of synthetic frame `frame`: a VP8 payload descriptor (start bit on the first packet,
/// a 15-bit picture ID), a payload header whose clear P bit marks a key frame, then bytes unique to the
/// frame and packet, so a receiver can tell every packet apart.
pub fn vp8_test_packet(frame: u32, index: u16, keyframe: bool) -> Vec<u8> {
    let picture_id = (frame & 0x7fff) as u16 | 0x8000;
    let mut payload = vec![if index == 0 { 0x90 } else { 0x80 }, 0x80];
    payload.extend_from_slice(&picture_id.to_be_bytes());
    payload.push(if keyframe { 0x00 } else { 0x01 });
    payload.extend_from_slice(&frame.to_be_bytes());
    payload.extend_from_slice(&index.to_be_bytes());
    payload.extend((0..200u16).map(|b| (b as u8) ^ (frame as u8)));
    payload
}
