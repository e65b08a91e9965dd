//! The session actor's side of media: it decides what the SFU should do ([`SfuWork`]) and the driver
//! carries it out. A negotiation's outcome comes back as [`Command::MediaReady`]; only then is a
//! stream announced or a subscription recorded, so nobody hears of media that does not flow.
//!
//! [`Command::MediaReady`]: super::commands::Command::MediaReady

use otter_protocol::{ConnectionId, ErrorCode, OtError, Stream, StreamId, SubscriptionId};

use super::actor::{SessionActor, Subscription};
use super::commands::{MediaGone, MediaOutcome};
use super::media_keys::{stream_key, subscription_key};
use super::requests::Answer;
use super::sfu_work::{Asker, SfuWork};

/// A subscribe request's media part: subscription, stream, offer, (audio, video).
pub(super) type SubscribeMedia = (SubscriptionId, StreamId, String, (bool, bool));

impl SessionActor {
    /// Asks the SFU to answer a publisher's offer; the stream is announced when it has.
    pub(super) fn publish_media(
        &mut self,
        from: &ConnectionId,
        id: u64,
        stream: Stream,
        offer: String,
    ) {
        if let Some(m) = self.member_mut(from) {
            m.negotiating.publishes += 1;
        }
        self.sfu_work.push(SfuWork::Publish {
            key: stream_key(&self.session_id, &stream.stream_id),
            offer,
            stream,
            asker: Asker {
                connection_id: from.clone(),
                request: id,
            },
        });
    }

    /// Asks the SFU to answer a subscriber's offer.
    /// `preferred` is the size the subscriber's view shows, if it said.
    pub(super) fn subscribe_media(
        &mut self,
        from: &ConnectionId,
        id: u64,
        media: SubscribeMedia,
        preferred: Option<(u32, u32)>,
    ) {
        let (subscription_id, stream_id, offer, (audio, video)) = media;
        if let Some(m) = self.member_mut(from) {
            m.negotiating.subscriptions += 1;
        }
        let key = subscription_key(&self.session_id, from, &subscription_id);
        self.sfu_work.push(SfuWork::Subscribe {
            key: key.clone(),
            stream_key: stream_key(&self.session_id, &stream_id),
            offer,
            subscription_id,
            audio,
            video,
            asker: Asker {
                connection_id: from.clone(),
                request: id,
            },
        });
        if let Some(size) = preferred {
            // The queue runs in order: this finds the subscription made just before.
            self.sfu_work.push(SfuWork::SetPreferredSize {
                key,
                size: Some(size),
            });
        }
    }

    /// Switches what a subscription of `from`'s forwards (unchanged kinds keep their setting), and
    /// the size its view shows (`(0, 0)`: no preference).
    pub(super) fn update_subscription(
        &mut self,
        from: &ConnectionId,
        id: &SubscriptionId,
        (audio, video): (Option<bool>, Option<bool>),
        preferred: Option<(u32, u32)>,
    ) -> Result<(), OtError> {
        let key = subscription_key(&self.session_id, from, id);
        let sub = self
            .member_mut(from)
            .and_then(|m| m.subscriptions.iter_mut().find(|s| &s.id == id))
            .ok_or_else(|| ErrorCode::NotFound.with_message("no such subscription"))?;
        let changes_forwarding = audio.is_some() || video.is_some();
        sub.audio = audio.unwrap_or(sub.audio);
        sub.video = video.unwrap_or(sub.video);
        let (audio, video) = (sub.audio, sub.video);
        if changes_forwarding || preferred.is_none() {
            let key = key.clone();
            self.sfu_work
                .push(SfuWork::SetForwarding { key, audio, video });
        }
        if let Some(size) = preferred {
            let size = (size != (0, 0)).then_some(size);
            self.sfu_work.push(SfuWork::SetPreferredSize { key, size });
        }
        Ok(())
    }

    /// A negotiation finished: announce and answer, or undo it if the client has gone meanwhile.
    pub(super) fn media_ready(
        &mut self,
        connection_id: ConnectionId,
        request: u64,
        outcome: MediaOutcome,
    ) {
        let Some(member) = self.member_mut(&connection_id) else {
            match outcome {
                MediaOutcome::Published {
                    stream,
                    answer: Ok(_),
                } => self.stop_stream_media(&stream.stream_id),
                MediaOutcome::Subscribed {
                    subscription_id,
                    answer: Ok(_),
                    ..
                } => self.stop_subscription_media(&connection_id, &subscription_id),
                _ => {}
            }
            return;
        };
        let pending = match &outcome {
            MediaOutcome::Published { .. } => &mut member.negotiating.publishes,
            MediaOutcome::Subscribed { .. } => &mut member.negotiating.subscriptions,
        };
        *pending = pending.saturating_sub(1);
        let answered = match outcome {
            MediaOutcome::Published { stream, answer } => answer.map(|sdp| {
                self.announce(stream.clone());
                Answer {
                    stream: Some(stream),
                    sdp_answer: Some(sdp),
                }
            }),
            MediaOutcome::Subscribed {
                subscription_id,
                audio,
                video,
                answer,
            } => answer.map(|sdp| {
                member.subscriptions.push(Subscription {
                    id: subscription_id,
                    audio,
                    video,
                });
                Answer {
                    stream: None,
                    sdp_answer: Some(sdp),
                }
            }),
        };
        self.reply(&connection_id, request, answered);
    }

    /// The SFU lost media on its own: the stream ends for everyone (`media_stopped`), a subscription is
    /// forgotten, and a WHIP/WHEP member, which has nothing but its media, leaves.
    pub(super) fn media_gone(&mut self, gone: MediaGone) {
        let owner = match &gone {
            MediaGone::Stream(stream_id) => {
                let Some(stream) = self.stream(stream_id) else {
                    return; // already ended by a request
                };
                let owner = stream.connection.connection_id.clone();
                tracing::info!(stream = %stream_id, "publisher media stopped");
                self.end_media_stopped(stream_id);
                owner
            }
            MediaGone::Subscription(connection, subscription) => {
                let Some(member) = self.member_mut(connection) else {
                    return;
                };
                let before = member.subscriptions.len();
                member.subscriptions.retain(|s| &s.id != subscription);
                if member.subscriptions.len() == before {
                    return;
                }
                connection.clone()
            }
        };
        if self.member(&owner).is_some_and(|m| m.socketless) {
            self.remove(
                &owner,
                otter_protocol::DisconnectReason::NetworkDisconnected,
            );
        }
    }

    /// Tells a simulcast stream's publisher which of its layers someone wants, so it can pause the
    /// others.
    pub(super) fn layers_wanted(&mut self, stream_id: StreamId, layers: u8) {
        let Some(owner) = self
            .stream(&stream_id)
            .map(|s| s.connection.connection_id.clone())
        else {
            return;
        };
        self.send_to(
            &owner,
            &otter_protocol::ServerMessage::LayersWanted { stream_id, layers },
        );
    }

    /// Ends one of `from`'s subscriptions, here and at the SFU.
    pub(super) fn forget_subscription(&mut self, from: &ConnectionId, id: &SubscriptionId) {
        if let Some(m) = self.member_mut(from) {
            m.subscriptions.retain(|s| &s.id != id);
        }
        self.stop_subscription_media(from, id);
    }

    /// Stops a stream's media at the SFU (its subscriptions end with it).
    pub(super) fn stop_stream_media(&mut self, stream_id: &StreamId) {
        let key = stream_key(&self.session_id, stream_id);
        self.sfu_work.push(SfuWork::Unpublish { key });
    }

    /// Closes a subscription's peer at the SFU.
    pub(super) fn stop_subscription_media(
        &mut self,
        connection: &ConnectionId,
        id: &SubscriptionId,
    ) {
        let key = subscription_key(&self.session_id, connection, id);
        self.sfu_work.push(SfuWork::Unsubscribe { key });
    }
}
