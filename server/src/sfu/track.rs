//! One subscriber's outgoing track: the per-subscriber state of the forwarding path, kept small.
//!
//! Each subscriber gets its own SSRC (str0m allocates it with the m-line), so sequence numbers are
//! rewritten into a contiguous per-subscriber space: `out = in - offset`. The offset is chosen when the
//! track (re)starts or switches simulcast layer, so pausing, resuming and switching leave no gap, while
//! loss and reordering on the publisher side stay visible to the subscriber (it can NACK them; str0m
//! answers from its send buffer). A layer switch also rebases the RTP timestamps (each layer has its
//! own), continuing from the last one sent by the time elapsed.

use std::time::Instant;

use str0m::format::{Codec, PayloadParams};
use str0m::media::{MediaKind, Mid, Pt};

use super::keyframe::starts_keyframe;

/// How many distinct publisher payload types one track remembers a mapping for.
const PT_SLOTS: usize = 4;

/// What to do with one incoming packet for one subscriber track.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admit {
    /// Send it with this outgoing (extended) sequence number and RTP timestamp.
    Forward(u64, u32),
    /// Skip it (paused, another layer, or older than the point the track (re)started from).
    Drop,
    /// Skip it, and the publisher should be asked for a keyframe of this layer: video waits for one.
    NeedKeyframe(u8),
}

/// One incoming packet, as the track sees it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Incoming<'a> {
    /// Extended sequence number, in its layer's space.
    pub seq: u64,
    /// The publisher's simulcast layer (0 = best; audio is 0).
    pub layer: u8,
    pub timestamp: u32,
    pub codec: Codec,
    pub payload: &'a [u8],
}

/// A subscriber's send m-line and the rewriting state for it.
#[derive(Debug)]
pub(crate) struct TrackOut {
    /// The subscriber-side m-line.
    pub(crate) mid: Mid,
    /// Audio or video; publisher tracks are matched to subscriber tracks by kind.
    pub(crate) kind: MediaKind,
    enabled: bool,
    /// The layer being forwarded; `None` before the first packet and while paused.
    layer: Option<u8>,
    /// The layer wanted; forwarding moves to it at its next keyframe.
    target: u8,
    /// `out = in - offset` for the current layer.
    offset: i64,
    /// Incoming sequence numbers below this belong to before the (re)start and are dropped, so they
    /// cannot collide with numbers already sent.
    resume_from: u64,
    /// Highest outgoing sequence number written so far.
    last_out: u64,
    /// `out = in + ts_offset` (wrapping) for the current layer.
    ts_offset: u32,
    /// The last timestamp sent and when, to continue from at a layer switch.
    last_ts: Option<(u32, Instant)>,
    /// Which layer the timestamps are based on (kept across a pause: resuming the same layer keeps
    /// its offset).
    ts_layer: Option<u8>,
    /// Publisher PT → subscriber PT, filled lazily on the first packet of each PT.
    pt_map: [Option<(Pt, Pt)>; PT_SLOTS],
}

impl TrackOut {
    /// A track that starts forwarding (or not) at its first admitted packet.
    pub(crate) fn new(mid: Mid, kind: MediaKind, enabled: bool) -> TrackOut {
        TrackOut {
            mid,
            kind,
            enabled,
            layer: None,
            target: 0,
            offset: 0,
            resume_from: 0,
            // A random-ish start below 2^15 keeps the SRTP rollover counter at 0 for a long while and
            // avoids every subscriber starting at the same number.
            last_out: u64::from(rand::random::<u16>() & 0x7fff),
            ts_offset: 0,
            last_ts: None,
            ts_layer: None,
            pt_map: [None; PT_SLOTS],
        }
    }

    /// Turn forwarding on or off. Returns true when it was switched on (the caller then asks the
    /// publisher for a keyframe). Either way the next forwarded packet rebases the sequence numbers.
    pub(crate) fn set_enabled(&mut self, enabled: bool) -> bool {
        let switched_on = enabled && !self.enabled;
        if enabled != self.enabled {
            self.layer = None;
        }
        self.enabled = enabled;
        switched_on
    }

    /// Aim at another layer. Returns true when that changes the target (the caller then asks for a
    /// keyframe of it); the current layer flows until one comes.
    pub(crate) fn set_target(&mut self, layer: u8) -> bool {
        let changed = layer != self.target;
        self.target = layer;
        changed && self.enabled && self.layer != Some(layer)
    }

    /// The layer wanted.
    pub(crate) fn target(&self) -> u8 {
        self.target
    }

    /// The layer flowing, or the one wanted while none is.
    pub(crate) fn layer(&self) -> u8 {
        self.layer.unwrap_or(self.target)
    }

    /// Decide about one incoming packet arriving `now`.
    pub(crate) fn admit(&mut self, packet: Incoming<'_>, now: Instant) -> Admit {
        if !self.enabled {
            return Admit::Drop;
        }
        if self.layer == Some(packet.layer) {
            // The layer flowing (the old one, while the target's keyframe is awaited).
            return self.forward(packet, now);
        }
        // Not the layer flowing: start on the target, or (while nothing flows) on any worse layer,
        // at a keyframe.
        let may_start =
            packet.layer == self.target || (self.layer.is_none() && packet.layer > self.target);
        if !may_start {
            return Admit::Drop;
        }
        if self.kind == MediaKind::Video && !starts_keyframe(packet.codec, packet.payload) {
            return match packet.layer == self.target {
                true => Admit::NeedKeyframe(self.target),
                false => Admit::Drop,
            };
        }
        self.rebase(packet, now);
        self.forward(packet, now)
    }

    /// Start the outgoing numbering for `packet`'s layer right after what was sent.
    fn rebase(&mut self, packet: Incoming<'_>, now: Instant) {
        self.offset = packet.seq as i64 - (self.last_out as i64 + 1);
        self.resume_from = packet.seq;
        if self.ts_layer != Some(packet.layer) {
            let clock = match self.kind {
                MediaKind::Audio => 48_000,
                MediaKind::Video => 90_000,
            };
            let next = match self.last_ts {
                Some((ts, at)) => {
                    let elapsed = now.saturating_duration_since(at).as_secs_f64();
                    ts.wrapping_add(((elapsed * clock as f64) as u32).max(1))
                }
                None => packet.timestamp,
            };
            self.ts_offset = next.wrapping_sub(packet.timestamp);
            self.ts_layer = Some(packet.layer);
        }
        self.layer = Some(packet.layer);
    }

    fn forward(&mut self, packet: Incoming<'_>, now: Instant) -> Admit {
        if packet.seq < self.resume_from {
            return Admit::Drop;
        }
        let out = (packet.seq as i64 - self.offset) as u64;
        let ts = packet.timestamp.wrapping_add(self.ts_offset);
        if out > self.last_out || self.last_ts.is_none() {
            self.last_ts = Some((ts, now));
        }
        self.last_out = self.last_out.max(out);
        Admit::Forward(out, ts)
    }

    /// The subscriber's PT for the publisher's `params`, resolving (via `resolve`) and caching it on
    /// first use. `None` when the subscriber did not negotiate a matching codec.
    pub(crate) fn out_pt(
        &mut self,
        params: &PayloadParams,
        resolve: impl FnOnce() -> Option<Pt>,
    ) -> Option<Pt> {
        let in_pt = params.pt();
        if let Some((_, out)) = self.pt_map.iter().flatten().find(|(i, _)| *i == in_pt) {
            return Some(*out);
        }
        let out = resolve()?;
        if let Some(slot) = self.pt_map.iter_mut().find(|s| s.is_none()) {
            *slot = Some((in_pt, out));
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    const KEY: &[u8] = &[0x10, 0x00];
    const DELTA: &[u8] = &[0x10, 0x01];

    fn video(seq: u64, layer: u8, timestamp: u32, payload: &[u8]) -> Incoming<'_> {
        Incoming {
            seq,
            layer,
            timestamp,
            codec: Codec::Vp8,
            payload,
        }
    }

    fn seq(admit: Admit) -> u64 {
        match admit {
            Admit::Forward(seq, _) => seq,
            other => panic!("not forwarded: {other:?}"),
        }
    }

    #[test]
    fn video_waits_for_a_keyframe_then_stays_contiguous_across_a_pause() {
        let now = Instant::now();
        let mut t = TrackOut::new(Mid::from("1"), MediaKind::Video, true);
        assert_eq!(
            t.admit(video(1000, 0, 0, DELTA), now),
            Admit::NeedKeyframe(0)
        );
        let first = seq(t.admit(video(1001, 0, 0, KEY), now));
        assert_eq!(seq(t.admit(video(1003, 0, 0, DELTA), now)), first + 2);
        assert_eq!(seq(t.admit(video(1002, 0, 0, DELTA), now)), first + 1);
        assert_eq!(t.admit(video(1000, 0, 0, DELTA), now), Admit::Drop);
        assert!(!t.set_enabled(false));
        assert_eq!(t.admit(video(1004, 0, 0, KEY), now), Admit::Drop);
        assert!(t.set_enabled(true));
        assert_eq!(
            t.admit(video(2000, 0, 0, DELTA), now),
            Admit::NeedKeyframe(0)
        );
        assert_eq!(seq(t.admit(video(2001, 0, 0, KEY), now)), first + 3);
    }

    #[test]
    fn a_layer_switch_waits_for_the_new_layers_keyframe_and_keeps_numbers_and_time_continuous() {
        let start = Instant::now();
        let mut t = TrackOut::new(Mid::from("1"), MediaKind::Video, true);
        // Full layer flows; the view shrinks: layer 2 is wanted.
        let Admit::Forward(first, ts0) = t.admit(video(100, 0, 9_000, KEY), start) else {
            panic!("keyframe starts the track");
        };
        assert!(t.set_target(2));
        // The old layer keeps flowing until the new one's keyframe.
        assert_eq!(
            t.admit(video(7, 2, 50_000, DELTA), start),
            Admit::NeedKeyframe(2)
        );
        let later = start + Duration::from_millis(100);
        assert_eq!(
            t.admit(video(101, 0, 18_000, DELTA), later),
            Admit::Forward(first + 1, ts0.wrapping_add(9_000))
        );
        // Its keyframe: numbers go on by one, time by the 100 ms since the last packet sent.
        let switch = later + Duration::from_millis(100);
        assert_eq!(
            t.admit(video(8, 2, 60_000, KEY), switch),
            Admit::Forward(first + 2, ts0.wrapping_add(18_000))
        );
        // The old layer is dropped from then on; the new one continues.
        assert_eq!(t.admit(video(102, 0, 27_000, DELTA), switch), Admit::Drop);
        assert_eq!(
            t.admit(video(9, 2, 63_000, DELTA), switch),
            Admit::Forward(first + 3, ts0.wrapping_add(21_000))
        );
    }

    #[test]
    fn with_nothing_flowing_a_worse_layers_keyframe_starts_the_track() {
        let now = Instant::now();
        let mut t = TrackOut::new(Mid::from("1"), MediaKind::Video, true);
        assert!(matches!(
            t.admit(video(50, 1, 0, KEY), now),
            Admit::Forward(_, 0)
        ));
        // Then the target's keyframe moves it up.
        assert!(matches!(
            t.admit(video(10, 0, 500, KEY), now),
            Admit::Forward(..)
        ));
        assert_eq!(t.admit(video(51, 1, 0, DELTA), now), Admit::Drop);
    }

    #[test]
    fn audio_starts_immediately() {
        let mut t = TrackOut::new(Mid::from("0"), MediaKind::Audio, true);
        let packet = Incoming {
            seq: 5,
            layer: 0,
            timestamp: 960,
            codec: Codec::Opus,
            payload: &[1],
        };
        assert!(matches!(
            t.admit(packet, Instant::now()),
            Admit::Forward(_, 960)
        ));
    }
}
