//! One subscriber's outgoing track: the per-subscriber state of the forwarding path, kept small.
//!
//! Each subscriber gets its own SSRC (str0m allocates it with the m-line), so sequence numbers are
//! rewritten into a contiguous per-subscriber space: `out = in - offset`. The offset is chosen when the
//! track (re)starts, so pausing and resuming leaves no gap, while loss and reordering on the publisher
//! side stay visible to the subscriber (it can NACK them; str0m answers from its send buffer).

use str0m::format::{Codec, PayloadParams};
use str0m::media::{MediaKind, Mid, Pt};

use super::keyframe::starts_keyframe;

/// How many distinct publisher payload types one track remembers a mapping for.
const PT_SLOTS: usize = 4;

/// What to do with one incoming packet for one subscriber track.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admit {
    /// Send it with this outgoing (extended) sequence number.
    Forward(u64),
    /// Skip it (paused, or older than the point the track (re)started from).
    Drop,
    /// Skip it, and the publisher should be asked for a keyframe: video is waiting for one.
    NeedKeyframe,
}

/// A subscriber's send m-line and the rewriting state for it.
#[derive(Debug)]
pub(crate) struct TrackOut {
    /// The subscriber-side m-line.
    pub(crate) mid: Mid,
    /// Audio or video; publisher tracks are matched to subscriber tracks by kind.
    pub(crate) kind: MediaKind,
    enabled: bool,
    /// `out = in - offset` once started; `None` while paused or before the first packet.
    offset: Option<i64>,
    /// Incoming sequence numbers below this belong to before the (re)start and are dropped, so they
    /// cannot collide with numbers already sent.
    resume_from: u64,
    /// Highest outgoing sequence number written so far.
    last_out: u64,
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
            offset: None,
            resume_from: 0,
            // A random-ish start below 2^15 keeps the SRTP rollover counter at 0 for a long while and
            // avoids every subscriber starting at the same number.
            last_out: u64::from(rand::random::<u16>() & 0x7fff),
            pt_map: [None; PT_SLOTS],
        }
    }

    /// Turn forwarding on or off. Returns true when it was switched on (the caller then asks the
    /// publisher for a keyframe). Either way the next forwarded packet rebases the sequence numbers.
    pub(crate) fn set_enabled(&mut self, enabled: bool) -> bool {
        let switched_on = enabled && !self.enabled;
        if enabled != self.enabled {
            self.offset = None;
        }
        self.enabled = enabled;
        switched_on
    }

    /// Decide about one incoming packet with extended sequence number `seq`.
    pub(crate) fn admit(&mut self, seq: u64, codec: Codec, payload: &[u8]) -> Admit {
        if !self.enabled {
            return Admit::Drop;
        }
        let seq_i = seq as i64;
        let offset = match self.offset {
            Some(offset) => {
                if seq < self.resume_from {
                    return Admit::Drop;
                }
                offset
            }
            None => {
                if self.kind == MediaKind::Video && !starts_keyframe(codec, payload) {
                    return Admit::NeedKeyframe;
                }
                let offset = seq_i - (self.last_out as i64 + 1);
                self.offset = Some(offset);
                self.resume_from = seq;
                offset
            }
        };
        let out = (seq_i - offset) as u64;
        self.last_out = self.last_out.max(out);
        Admit::Forward(out)
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
    use super::*;

    const KEY: &[u8] = &[0x10, 0x00];
    const DELTA: &[u8] = &[0x10, 0x01];

    #[test]
    fn video_waits_for_a_keyframe_then_stays_contiguous_across_a_pause() {
        let mut t = TrackOut::new(Mid::from("1"), MediaKind::Video, true);
        assert_eq!(t.admit(1000, Codec::Vp8, DELTA), Admit::NeedKeyframe);
        let Admit::Forward(first) = t.admit(1001, Codec::Vp8, KEY) else {
            panic!("keyframe starts the track");
        };
        assert_eq!(t.admit(1003, Codec::Vp8, DELTA), Admit::Forward(first + 2));
        assert_eq!(t.admit(1002, Codec::Vp8, DELTA), Admit::Forward(first + 1));
        assert_eq!(t.admit(1000, Codec::Vp8, DELTA), Admit::Drop);
        assert!(!t.set_enabled(false));
        assert_eq!(t.admit(1004, Codec::Vp8, KEY), Admit::Drop);
        assert!(t.set_enabled(true));
        assert_eq!(t.admit(2000, Codec::Vp8, DELTA), Admit::NeedKeyframe);
        assert_eq!(t.admit(2001, Codec::Vp8, KEY), Admit::Forward(first + 3));
    }

    #[test]
    fn audio_starts_immediately() {
        let mut t = TrackOut::new(Mid::from("0"), MediaKind::Audio, true);
        assert!(matches!(t.admit(5, Codec::Opus, &[1]), Admit::Forward(_)));
    }
}
