//! Simulcast: which of a publisher's video layers each subscriber receives.
//!
//! A publisher may send its video as up to [`MAX_LAYERS`] layers, one m-line each, in the offer's
//! order: full size, ½, ¼ (layer 0 is the best). Each subscriber receives one, chosen here from two
//! caps: the size its view shows (`preferred_resolution`: the smallest layer at least that tall) and
//! what its downlink carries (lowered a layer when its receiver reports show heavy loss or, three in a
//! row, a round trip grown by a standing queue, then held there while the queue drains; raised again
//! after a clean spell that doubles each time the raise fails, so a link that cannot take the better
//! layer is not hammered). Only layers that are arriving count. Sans-IO: time is an argument.

use std::time::{Duration, Instant};

/// Layers a publisher may send; video m-lines beyond this are ignored.
pub(crate) const MAX_LAYERS: usize = 3;
/// A layer with no packet for this long is not being sent (paused by the publisher's congestion
/// control or dynacast, or never sent): its viewers move to another. Six frame times at the lowest
/// rate the publisher's ladder sends (10 fps).
const LIVE_WINDOW: Duration = Duration::from_millis(600);
/// A receiver report losing at least this share steps the subscriber a layer down.
const STEP_DOWN_LOSS: f32 = 0.10;
/// Below this share a report counts as clean.
const CLEAN_LOSS: f32 = 0.02;
/// A round trip this much over the lowest seen means a queue on the path: the link is full before it
/// drops anything (a home router's buffer holds hundreds of milliseconds).
const QUEUE_DELAY: Duration = Duration::from_millis(200);
/// Reports in a row that must show the queue before it counts as standing: a keyframe's burst (a
/// layer switch brings one) queues for a second or two on a thin link and drains by itself.
const QUEUED_REPORTS: u8 = 3;
/// How much the lowest round trip may creep up per report, so a longer route is learnt in time.
const BASE_RTT_CREEP: Duration = Duration::from_millis(2);
/// After a step down, overload is not judged for this long: the queue the better layer built drains
/// (at a 400 ms buffer, the reports of the next seconds still show it), and stepping again on it would
/// overshoot to the worst layer.
const STEP_HOLD: Duration = Duration::from_secs(4);
/// Clean time before the first try of a better layer, and the most a failed try makes it wait.
const FIRST_PROBE_WAIT: Duration = Duration::from_secs(8);
const MAX_PROBE_WAIT: Duration = Duration::from_secs(64);
/// A step down this soon after a step up means the better layer did not fit.
const FAILED_PROBE: Duration = Duration::from_secs(5);

/// What the SFU knows of one incoming layer.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct LayerInfo {
    /// Width and height, from its last keyframe.
    pub size: Option<(u16, u16)>,
    /// When its last packet arrived.
    pub last_packet: Option<Instant>,
}

impl LayerInfo {
    fn live(&self, now: Instant) -> bool {
        self.last_packet
            .is_some_and(|t| now.saturating_duration_since(t) < LIVE_WINDOW)
    }
}

/// One subscriber's layer caps.
#[derive(Debug)]
pub(crate) struct LayerChoice {
    /// The tallest picture the view needs (0 = no preference: the best layer).
    max_height: u32,
    /// The best layer the downlink is allowed.
    link_cap: u8,
    /// The publisher's worst layer: as far as the link cap goes down.
    lowest: u8,
    clean_since: Option<Instant>,
    probe_wait: Duration,
    last_raise: Option<Instant>,
    /// No further step down before this.
    hold_until: Option<Instant>,
    /// The lowest round trip seen (creeping up slowly).
    base_rtt: Option<Duration>,
    /// Reports in a row that showed a standing queue.
    queued_reports: u8,
}

impl LayerChoice {
    /// Caps for a subscriber of a publisher sending `layers` video layers.
    pub(crate) fn new(layers: usize) -> Self {
        Self {
            max_height: 0,
            link_cap: 0,
            lowest: layers.clamp(1, MAX_LAYERS) as u8 - 1,
            clean_since: None,
            probe_wait: FIRST_PROBE_WAIT,
            last_raise: None,
            hold_until: None,
            base_rtt: None,
            queued_reports: 0,
        }
    }

    /// The size the subscriber's view shows; `None` lifts the cap.
    pub(crate) fn set_preferred(&mut self, size: Option<(u32, u32)>) {
        self.max_height = size.map_or(0, |(_, h)| h);
    }

    /// The best layer the downlink is allowed now.
    #[cfg(test)]
    pub(crate) fn link_cap(&self) -> u8 {
        self.link_cap
    }

    /// A receiver report for the video this subscriber receives: `loss` is the share of packets lost
    /// since the last one, `rtt` the round trip it measured.
    pub(crate) fn on_report(&mut self, now: Instant, loss: f32, rtt: Option<Duration>) {
        if let Some(rtt) = rtt {
            self.base_rtt = Some(self.base_rtt.map_or(rtt, |b| rtt.min(b + BASE_RTT_CREEP)));
        }
        let queued = matches!((rtt, self.base_rtt), (Some(r), Some(b)) if r.saturating_sub(b) >= QUEUE_DELAY);
        // Two in a row: one long round trip can be a busy receiver, not the link.
        self.queued_reports = if queued {
            self.queued_reports.saturating_add(1)
        } else {
            0
        };
        if loss >= STEP_DOWN_LOSS || self.queued_reports >= QUEUED_REPORTS {
            self.clean_since = None;
            if self.hold_until.is_some_and(|t| now < t) || self.link_cap >= self.lowest {
                return;
            }
            self.link_cap += 1;
            self.hold_until = Some(now + STEP_HOLD);
            let failed = self
                .last_raise
                .is_some_and(|t| now.saturating_duration_since(t) < FAILED_PROBE);
            self.probe_wait = match failed {
                true => (self.probe_wait * 2).min(MAX_PROBE_WAIT),
                false => FIRST_PROBE_WAIT,
            };
            tracing::debug!(
                layer = self.link_cap,
                loss,
                ?rtt,
                "downlink overloaded: a layer down"
            );
        } else if loss < CLEAN_LOSS {
            let since = *self.clean_since.get_or_insert(now);
            if self.link_cap > 0 && now.saturating_duration_since(since) >= self.probe_wait {
                self.link_cap -= 1;
                self.last_raise = Some(now);
                self.clean_since = Some(now);
                tracing::debug!(layer = self.link_cap, "downlink clean: trying a layer up");
            }
        } else {
            // Some loss: neither a reason to step down nor a clean spell.
            self.clean_since = None;
        }
    }

    /// The layer the caps call for among `layers` (index 0 = best), sent or not: the smallest at least
    /// as tall as the view within the link cap. A layer whose size is not known yet is taken to be the
    /// known one's halved or doubled.
    pub(crate) fn desired(&self, layers: &[LayerInfo]) -> u8 {
        let n = layers.len().max(1);
        let cap = usize::from(self.link_cap).min(n - 1);
        let known = layers
            .iter()
            .enumerate()
            .find_map(|(i, l)| l.size.map(|(_, h)| (i, u32::from(h))));
        let height = |i: usize| match (layers.get(i).and_then(|l| l.size), known) {
            (Some((_, h)), _) => Some(u32::from(h)),
            (None, Some((k, h))) => Some((h << k) >> i),
            (None, None) => None,
        };
        let chosen = match self.max_height {
            0 => None,
            max => (cap..n)
                .rev()
                .find(|&i| height(i).is_some_and(|h| h >= max)),
        };
        chosen.unwrap_or(cap) as u8
    }

    /// The layer to forward now: the desired one if it is arriving, else the best arriving one below
    /// it, else the closest arriving one above; `None` when none is arriving.
    pub(crate) fn target(&self, layers: &[LayerInfo], now: Instant) -> Option<u8> {
        let live = |i: &usize| layers[*i].live(now);
        let desired = usize::from(self.desired(layers));
        (desired..layers.len())
            .find(live)
            .or_else(|| (0..desired.min(layers.len())).rev().find(live))
            .map(|i| i as u8)
    }
}

/// Width and height from the first packet of a VP8 keyframe (RFC 7741 descriptor, then RFC 6386
/// §9.1: 3-byte frame tag, start code 9d 01 2a, 14-bit width and height). `None` if it is not one.
pub(crate) fn vp8_keyframe_size(payload: &[u8]) -> Option<(u16, u16)> {
    let at = super::keyframe::vp8_header_offset(payload)?;
    let header = payload.get(at..at + 10)?;
    if header[0] & 0x01 != 0 || header[3..6] != [0x9d, 0x01, 0x2a] {
        return None;
    }
    let width = u16::from_le_bytes([header[6], header[7]]) & 0x3fff;
    let height = u16::from_le_bytes([header[8], header[9]]) & 0x3fff;
    Some((width, height))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layers(now: Instant, sizes: &[(u16, u16)]) -> Vec<LayerInfo> {
        sizes
            .iter()
            .map(|&size| LayerInfo {
                size: Some(size),
                last_packet: Some(now),
            })
            .collect()
    }

    #[test]
    fn the_view_size_picks_the_smallest_layer_that_fills_it() {
        let now = Instant::now();
        let all = layers(now, &[(640, 480), (320, 240), (160, 120)]);
        let mut choice = LayerChoice::new(3);
        assert_eq!(choice.target(&all, now), Some(0));
        choice.set_preferred(Some((160, 120)));
        assert_eq!(choice.target(&all, now), Some(2));
        choice.set_preferred(Some((200, 150)));
        assert_eq!(choice.target(&all, now), Some(1));
        choice.set_preferred(Some((1280, 720)));
        assert_eq!(choice.target(&all, now), Some(0));
        choice.set_preferred(None);
        assert_eq!(choice.target(&all, now), Some(0));
    }

    #[test]
    fn the_desired_layer_ignores_what_is_arriving_and_guesses_unknown_sizes() {
        let now = Instant::now();
        let mut all = layers(now, &[(640, 480), (320, 240), (160, 120)]);
        all[1].size = None;
        all[2] = LayerInfo::default();
        let mut choice = LayerChoice::new(3);
        choice.set_preferred(Some((160, 120)));
        assert_eq!(choice.desired(&all), 2, "quarter layer guessed 120 tall");
        // Not arriving yet: the closest that is, above it.
        assert_eq!(choice.target(&all, now), Some(1));
        all[1].last_packet = None;
        assert_eq!(choice.target(&all, now), Some(0));
    }

    #[test]
    fn only_arriving_layers_count() {
        let now = Instant::now();
        let mut all = layers(now, &[(640, 480), (320, 240), (160, 120)]);
        all[0].last_packet = Some(now - Duration::from_secs(3));
        let choice = LayerChoice::new(3);
        assert_eq!(choice.target(&all, now), Some(1));
        all[1].last_packet = None;
        all[2].last_packet = None;
        assert_eq!(choice.target(&all, now), None);
    }

    #[test]
    fn loss_steps_down_and_a_clean_link_tries_up_waiting_longer_after_each_failure() {
        let start = Instant::now();
        let at = |s: u64| start + Duration::from_secs(s);
        let all = layers(at(100), &[(640, 480), (320, 240), (160, 120)]);
        let mut choice = LayerChoice::new(3);
        let lossy = |c: &mut LayerChoice, s, loss| c.on_report(at(s), loss, None);
        lossy(&mut choice, 0, 0.2);
        // Held while the queue drains: the next lossy reports do not overshoot...
        lossy(&mut choice, 1, 0.2);
        lossy(&mut choice, 3, 0.2);
        assert_eq!(choice.link_cap(), 1);
        // ...for 4 s.
        lossy(&mut choice, 4, 0.2);
        assert_eq!(choice.target(&all, at(100)), Some(2));
        lossy(&mut choice, 7, 0.0);
        lossy(&mut choice, 7, 0.3);
        assert_eq!(choice.link_cap(), 2, "no layer below the lowest");
        // Some loss holds; a clean spell of 8 s raises.
        lossy(&mut choice, 7, 0.05);
        for s in 8..16 {
            lossy(&mut choice, s, 0.0);
        }
        assert_eq!(choice.link_cap(), 2);
        lossy(&mut choice, 16, 0.0);
        assert_eq!(choice.link_cap(), 1);
        // The raise failed at once: the next try waits 16 s.
        lossy(&mut choice, 17, 0.15);
        assert_eq!(choice.link_cap(), 2);
        for s in 18..33 {
            lossy(&mut choice, s, 0.0);
        }
        assert_eq!(choice.link_cap(), 2);
        lossy(&mut choice, 34, 0.0);
        assert_eq!(choice.link_cap(), 1);
    }

    #[test]
    fn a_round_trip_grown_by_a_queue_steps_down_before_anything_is_lost() {
        let start = Instant::now();
        let at = |ms: u64| start + Duration::from_millis(ms);
        let rtt = |ms: u64| Some(Duration::from_millis(ms));
        let mut choice = LayerChoice::new(3);
        for s in 0..5 {
            choice.on_report(at(s * 1000), 0.0, rtt(40));
        }
        choice.on_report(at(5_000), 0.0, rtt(160));
        assert_eq!(choice.link_cap(), 0, "120 ms of queue is not yet full");
        choice.on_report(at(6_000), 0.0, rtt(300));
        choice.on_report(at(7_000), 0.0, rtt(500));
        choice.on_report(at(8_000), 0.0, rtt(40));
        assert_eq!(
            choice.link_cap(),
            0,
            "a burst that drained is no standing queue"
        );
        for s in 9..11 {
            choice.on_report(at(s * 1000), 0.0, rtt(300));
        }
        assert_eq!(choice.link_cap(), 0);
        choice.on_report(at(11_000), 0.0, rtt(400));
        assert_eq!(choice.link_cap(), 1);
    }

    #[test]
    fn keyframe_sizes_are_read_from_the_vp8_header() {
        // Descriptor X=1,S=1 / I=1 / 15-bit picture id; frame tag (key, shown); start code; 640x480.
        let key = [
            0x90, 0x80, 0x81, 0x23, 0x50, 0x42, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01,
        ];
        assert_eq!(vp8_keyframe_size(&key), Some((640, 480)));
        let mut delta = key;
        delta[4] |= 0x01;
        assert_eq!(vp8_keyframe_size(&delta), None);
        for garbage in [&[][..], &key[..6], &[0x10, 0x00, 0x00, 0x00]] {
            assert_eq!(vp8_keyframe_size(garbage), None);
        }
    }
}
