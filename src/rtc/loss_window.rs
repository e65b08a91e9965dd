//! The share of packets lost over the last second, counted per packet rather than per feedback.
//!
//! Transport-wide feedback reports a packet as missing when a later one has arrived before it, and
//! reports it again as received if it turns up: on a path that reorders (10 ms of jitter at 50 packets a
//! second does) a per-batch count reads every late packet as lost. Measured in the bench's
//! `loss-5-rtt-100`: 5 % of real loss read as 12-18 %, the loss judge cut again and again, and the
//! estimate stayed near 40 kbit/s on a 2 Mbit/s link. Here each packet is a slot keyed by its transport
//! sequence number, arrived if any report says so, and the loss is taken over packets that left between
//! [`WINDOW`] + [`SETTLE`] and [`SETTLE`] ago, so a straggler has had time to be reported.

use std::time::{Duration, Instant};

use rtc::interceptor::PacketReport;

/// Packets remembered: more than a second's worth at any rate we send.
const SLOTS: usize = 4_096;
/// The span of departures the loss is taken over.
pub(crate) const WINDOW: Duration = Duration::from_secs(1);
/// How long a packet has to be reported before it counts.
const SETTLE: Duration = Duration::from_millis(200);
/// Fewer packets than this say nothing.
const MIN_PACKETS: usize = 20;

#[derive(Debug, Clone, Copy)]
struct Slot {
    id: u64,
    departure: Option<Instant>,
    arrived: bool,
}

/// Per-packet arrival over the last [`SLOTS`] transport sequence numbers (allocated once).
pub(crate) struct LossWindow {
    slots: Box<[Slot]>,
}

impl LossWindow {
    pub(crate) fn new() -> Self {
        let empty = Slot {
            id: u64::MAX,
            departure: None,
            arrived: false,
        };
        Self {
            slots: vec![empty; SLOTS].into_boxed_slice(),
        }
    }

    /// Notes one report; a packet reported missing and then received counts as received.
    pub(crate) fn note(&mut self, report: &PacketReport) {
        let slot = &mut self.slots[(report.id % SLOTS as u64) as usize];
        if slot.id == report.id {
            slot.arrived |= report.arrived;
        } else {
            *slot = Slot {
                id: report.id,
                departure: Some(report.departure),
                arrived: report.arrived,
            };
        }
    }

    /// The share lost of the packets that left in the window ending [`SETTLE`] before `now`, if
    /// there were enough of them to say.
    pub(crate) fn loss(&self, now: Instant) -> Option<f64> {
        let (mut total, mut lost) = (0usize, 0usize);
        for slot in self.slots.iter() {
            let Some(departure) = slot.departure else {
                continue;
            };
            let age = now.saturating_duration_since(departure);
            if age >= SETTLE && age < SETTLE + WINDOW {
                total += 1;
                lost += usize::from(!slot.arrived);
            }
        }
        (total >= MIN_PACKETS).then(|| lost as f64 / total as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(id: u64, departure: Instant, arrived: bool) -> PacketReport {
        PacketReport {
            ssrc: 1,
            id,
            rtp_sequence_number: id as u16,
            is_twcc: true,
            twcc_sequence_number: id as u16,
            size: 1_000,
            arrived,
            departure,
            arrival: None,
            ecn: rtc::rtcp::transport_feedbacks::cc_feedback_report::Ecn::NotEct,
        }
    }

    #[test]
    fn a_late_packet_reported_again_is_not_lost() {
        let (mut w, start) = (LossWindow::new(), Instant::now());
        for id in 0..100 {
            let at = start + Duration::from_millis(id * 10);
            // Every 5th first reported missing (a later one overtook it), then received.
            w.note(&report(id, at, id % 5 != 0));
        }
        let now = start + Duration::from_millis(1_100);
        assert!(
            w.loss(now).unwrap() > 0.15,
            "the first reports read as loss"
        );
        for id in (0..100).step_by(5) {
            w.note(&report(id, start + Duration::from_millis(id * 10), true));
        }
        assert_eq!(w.loss(now), Some(0.0));
    }

    #[test]
    fn real_loss_is_counted_and_too_few_packets_say_nothing() {
        let (mut w, start) = (LossWindow::new(), Instant::now());
        for id in 0..10 {
            w.note(&report(id, start, id != 0));
        }
        assert_eq!(w.loss(start + Duration::from_millis(500)), None);
        for id in 10..200 {
            let at = start + Duration::from_millis(id * 5);
            w.note(&report(id, at, id % 20 != 0));
        }
        let loss = w.loss(start + Duration::from_millis(1_000)).unwrap();
        assert!((0.04..0.06).contains(&loss), "{loss}");
    }
}
