//! The router's half of simulcast: keeps each subscriber's video aimed at the layer its caps
//! (`layers.rs`) choose among what its publisher is sending, and asks for that layer's keyframe when the
//! aim moves. Runs when a cap changes and on a timer, since layers start and stop on their own.
//!
//! It also tells each publisher which layers someone wants (dynacast): the hub passes it on, and the
//! publisher pauses the others. The lowest layer is always wanted: it costs little, keeps the publisher's
//! media alive for the SFU's silence timeout, and gives a new subscriber a picture at once. The report
//! goes out on a change and again every [`WANTED_REFRESH`], so one lost on a reconnect is made good.

use std::time::{Duration, Instant};

use str0m::media::MediaKind;

use super::event::SfuEvent;
use super::peer::{Peer, PeerId, Role};
use super::pump::Propagate;
use super::router::Router;
use super::SfuError;

/// How often every subscriber's layer is reconsidered.
pub(crate) const RETARGET_INTERVAL: Duration = Duration::from_millis(250);
/// How often a publisher hears which layers are wanted when nothing changed.
pub(crate) const WANTED_REFRESH: Duration = Duration::from_secs(5);

impl Router {
    /// The size a subscriber's view shows (`None`: no preference, the best layer).
    pub(crate) fn set_preferred_size(
        &mut self,
        subscription_id: &str,
        size: Option<(u32, u32)>,
        now: Instant,
    ) -> Result<(), SfuError> {
        let (id, sub) = self.subscriber_mut(subscription_id)?;
        sub.layers.set_preferred(size);
        self.retarget(id, now);
        self.process_queue(now);
        Ok(())
    }

    /// Reconsiders every subscriber's layer, at most every [`RETARGET_INTERVAL`].
    pub(crate) fn retarget_all(&mut self, now: Instant) {
        if self.next_retarget.is_some_and(|t| now < t) {
            return;
        }
        self.next_retarget = Some(now + RETARGET_INTERVAL);
        let mut ids = std::mem::take(&mut self.scratch);
        ids.clear();
        ids.extend(
            self.peers
                .iter()
                .filter(|(_, p)| matches!(&p.role, Role::Subscriber(s) if s.connected))
                .map(|(id, _)| *id),
        );
        for &id in &ids {
            self.retarget(id, now);
        }
        self.scratch = ids;
        self.process_queue(now);
        self.report_wanted_layers(now);
    }

    /// Tells each simulcast publisher which of its layers some subscriber wants.
    fn report_wanted_layers(&mut self, now: Instant) {
        let mut wanted = Vec::new();
        for (&id, peer) in &self.peers {
            let Role::Publisher(p) = &peer.role else {
                continue;
            };
            let (layers, n) = p.layers();
            if n < 2 {
                continue;
            }
            let mut mask = 1u8 << (n - 1);
            for sub in p.subscribers.iter().filter_map(|s| self.peers.get(s)) {
                if let Role::Subscriber(s) = &sub.role {
                    if s.want_video {
                        mask |= 1 << s.layers.desired(&layers[..n]);
                    }
                }
            }
            let due = match p.wanted_reported {
                Some((last, at)) => {
                    last != mask || now.saturating_duration_since(at) >= WANTED_REFRESH
                }
                None => true,
            };
            if due {
                wanted.push((id, mask));
            }
        }
        for (id, mask) in wanted {
            if let Some(Peer {
                role: Role::Publisher(p),
                ..
            }) = self.peers.get_mut(&id)
            {
                p.wanted_reported = Some((mask, now));
                let stream = p.stream_id.clone();
                self.report(SfuEvent::LayersWanted {
                    stream,
                    layers: mask,
                });
            }
        }
    }

    /// Aims one subscriber's video at the layer its caps choose; a new aim queues a keyframe request.
    pub(crate) fn retarget(&mut self, id: PeerId, now: Instant) {
        let Some(Peer {
            role: Role::Subscriber(sub),
            ..
        }) = self.peers.get(&id)
        else {
            return;
        };
        let Some(publisher) = sub.publisher else {
            return;
        };
        let Some(Peer {
            role: Role::Publisher(p),
            ..
        }) = self.peers.get(&publisher)
        else {
            return;
        };
        let (layers, n) = p.layers();
        let Some(Peer {
            role: Role::Subscriber(sub),
            ..
        }) = self.peers.get_mut(&id)
        else {
            return;
        };
        let Some(layer) = sub.layers.target(&layers[..n], now) else {
            return;
        };
        let Some(track) = sub.track_mut(MediaKind::Video) else {
            return;
        };
        if track.set_target(layer) {
            tracing::debug!(peer = id.0, layer, "subscriber moves to another layer");
            self.queue
                .push_back(Propagate::Keyframe { publisher, layer });
        }
    }
}
