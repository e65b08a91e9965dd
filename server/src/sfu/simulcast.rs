//! The router's half of simulcast: keeps each subscriber's video aimed at the layer its caps
//! (`layers.rs`) choose among what its publisher is sending, and asks for that layer's keyframe when the
//! aim moves. Runs when a cap changes and on a timer, since layers start and stop on their own.

use std::time::{Duration, Instant};

use str0m::media::MediaKind;

use super::peer::{Peer, PeerId, Role};
use super::pump::Propagate;
use super::router::Router;
use super::SfuError;

/// How often every subscriber's layer is reconsidered.
pub(crate) const RETARGET_INTERVAL: Duration = Duration::from_millis(250);

impl Router {
    /// The size a subscriber's view shows (`None`: no preference, the best layer).
    pub(crate) fn set_preferred_size(
        &mut self,
        subscription_id: &str,
        size: Option<(u32, u32)>,
        now: Instant,
    ) -> Result<(), SfuError> {
        let id = *self
            .subscriptions
            .get(subscription_id)
            .ok_or(SfuError::UnknownSubscription)?;
        let Some(Peer {
            role: Role::Subscriber(sub),
            ..
        }) = self.peers.get_mut(&id)
        else {
            return Err(SfuError::UnknownSubscription);
        };
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
