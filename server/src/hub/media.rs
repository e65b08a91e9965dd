//! The session actor's side of media: it asks the SFU to negotiate publishers and subscribers, without
//! waiting itself. Negotiation runs in a task that reports back with [`Command::MediaReady`]; only then
//! is a stream announced or a subscription recorded, so nobody hears of media that does not flow.

use otter_protocol::{
    ClientMessage, ConnectionId, ErrorCode, OtError, Role, ServerMessage, StreamId, SubscriptionId,
};

use super::actor::{Audience, SessionActor};
use super::commands::{Command, MediaGone, MediaOutcome};
use super::media_keys::{stream_key, subscription_key};
use crate::sfu::{Sfu, SfuError};

fn sfu_error(e: SfuError, publishing: bool) -> OtError {
    let code = match (&e, publishing) {
        (SfuError::UnknownStream, _) => ErrorCode::NotFound,
        (SfuError::BadSdp(_) | SfuError::Unsupported(_), true) => ErrorCode::UnableToPublish,
        (SfuError::BadSdp(_) | SfuError::Unsupported(_), false) => ErrorCode::UnableToSubscribe,
        (_, true) => ErrorCode::PublisherIceFailed,
        (_, false) => ErrorCode::SubscriberIceFailed,
    };
    code.with_message(e.to_string())
}

impl SessionActor {
    /// Handles the media requests; gives `message` back when it is not one (the caller handles it).
    pub(super) fn media_request(
        &mut self,
        from: &ConnectionId,
        role: Role,
        message: ClientMessage,
    ) -> Option<ClientMessage> {
        match message {
            ClientMessage::Publish {
                id,
                name,
                has_audio,
                has_video,
                video_type,
                video_dimensions,
                sdp_offer: Some(offer),
            } => {
                if !role.can_publish() {
                    {
                        self.reply_error(
                            from,
                            id,
                            ErrorCode::UnableToPublish
                                .with_message("a subscriber token cannot publish"),
                        );
                        return None;
                    }
                }
                let stream = self.new_stream(
                    from,
                    name,
                    has_audio,
                    has_video,
                    video_type,
                    video_dimensions,
                )?;
                self.member_mut(from)?.negotiating.publishes += 1;
                let key = stream_key(&self.session_id, &stream.stream_id);
                self.negotiate(from, id, move |sfu| async move {
                    let answer = sfu
                        .publish(&key, &offer)
                        .await
                        .map_err(|e| sfu_error(e, true));
                    MediaOutcome::Published { stream, answer }
                });
                None
            }
            ClientMessage::Subscribe {
                id,
                subscription_id,
                stream_id,
                sdp_offer,
                audio,
                video,
            } => {
                if !role.can_subscribe() {
                    {
                        self.reply_error(
                            from,
                            id,
                            ErrorCode::UnableToSubscribe
                                .with_message("a publisheronly token cannot subscribe"),
                        );
                        return None;
                    }
                }
                if !self.streams.iter().any(|s| s.stream_id == stream_id) {
                    {
                        self.reply_error(
                            from,
                            id,
                            ErrorCode::NotFound.with_message("no such stream in the session"),
                        );
                        return None;
                    }
                }
                let key = subscription_key(&self.session_id, from, &subscription_id);
                let stream = stream_key(&self.session_id, &stream_id);
                self.member_mut(from)?.negotiating.subscriptions += 1;
                self.negotiate(from, id, move |sfu| async move {
                    let answer = sfu
                        .subscribe(&key, &stream, &sdp_offer, audio, video)
                        .await
                        .map_err(|e| sfu_error(e, false));
                    MediaOutcome::Subscribed {
                        subscription_id,
                        audio,
                        video,
                        answer,
                    }
                });
                None
            }
            ClientMessage::UpdateSubscription {
                id,
                subscription_id,
                audio,
                video,
            } => {
                let key = subscription_key(&self.session_id, from, &subscription_id);
                let Some(sub) = self.subscription_mut(from, &subscription_id) else {
                    {
                        self.reply_error(
                            from,
                            id,
                            ErrorCode::NotFound.with_message("no such subscription"),
                        );
                        return None;
                    }
                };
                sub.1 = audio.unwrap_or(sub.1);
                sub.2 = video.unwrap_or(sub.2);
                let (a, v) = (sub.1, sub.2);
                let sfu = self.hub.sfu.clone();
                self.sfu_jobs.push(async move {
                    let _ = sfu.set_forwarding(&key, a, v).await;
                });
                self.reply_ok(from, id);
                None
            }
            ClientMessage::Unsubscribe {
                id,
                subscription_id,
            } => {
                self.forget_subscription(from, &subscription_id);
                self.reply_ok(from, id);
                None
            }
            other => Some(other),
        }
    }

    /// Runs `work` against the SFU in a task; its outcome comes back as a command to this actor.
    fn negotiate<F, Fut>(&mut self, from: &ConnectionId, request: u64, work: F)
    where
        F: FnOnce(Sfu) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = MediaOutcome> + Send,
    {
        let sfu = self.hub.sfu.clone();
        let back = self.me.clone();
        let connection_id = from.clone();
        let session = self.session_id.clone();
        self.sfu_jobs.push(async move {
            let outcome = work(sfu.clone()).await;
            let command = Command::MediaReady {
                connection_id,
                request,
                outcome,
            };
            match back.upgrade() {
                Some(tx) => {
                    if let Err(e) = tx.send(command).await {
                        undo(&sfu, &session, e.0).await;
                    }
                }
                None => undo(&sfu, &session, command).await,
            }
        });
    }

    /// A negotiation finished: announce and answer, or undo it if the client has gone meanwhile.
    pub(super) fn media_ready(
        &mut self,
        connection_id: ConnectionId,
        request: u64,
        outcome: MediaOutcome,
    ) {
        let Some(member) = self.member_mut(&connection_id) else {
            let sfu = self.hub.sfu.clone();
            let command = Command::MediaReady {
                connection_id,
                request,
                outcome,
            };
            let session = self.session_id.clone();
            self.sfu_jobs
                .push(async move { undo(&sfu, &session, command).await });
            return;
        };
        let pending = match &outcome {
            MediaOutcome::Published { .. } => &mut member.negotiating.publishes,
            MediaOutcome::Subscribed { .. } => &mut member.negotiating.subscriptions,
        };
        *pending = pending.saturating_sub(1);
        match outcome {
            MediaOutcome::Published {
                stream,
                answer: Ok(answer),
            } => {
                self.streams.push(stream.clone());
                self.broadcast(
                    &ServerMessage::StreamCreated {
                        stream: stream.clone(),
                    },
                    Audience::AllBut(&connection_id),
                );
                let reply = ServerMessage::Reply {
                    id: request,
                    stream: Some(stream),
                    sdp_answer: Some(answer),
                    error: None,
                };
                self.send_to(&connection_id, &reply);
            }
            MediaOutcome::Subscribed {
                subscription_id,
                audio,
                video,
                answer: Ok(answer),
            } => {
                if let Some(m) = self.member_mut(&connection_id) {
                    m.subscriptions.push((subscription_id, audio, video));
                }
                let reply = ServerMessage::Reply {
                    id: request,
                    stream: None,
                    sdp_answer: Some(answer),
                    error: None,
                };
                self.send_to(&connection_id, &reply);
            }
            MediaOutcome::Published { answer: Err(e), .. }
            | MediaOutcome::Subscribed { answer: Err(e), .. } => {
                self.reply_error(&connection_id, request, e);
            }
        }
    }

    /// The SFU lost media on its own: the stream ends for everyone (`media_stopped`), a subscription is
    /// forgotten, and a WHIP/WHEP member, which has nothing but its media, leaves.
    pub(super) fn media_gone(&mut self, gone: MediaGone) {
        let owner = match &gone {
            MediaGone::Stream(stream_id) => {
                let Some(stream) = self.streams.iter().find(|s| &s.stream_id == stream_id) else {
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
                member.subscriptions.retain(|s| &s.0 != subscription);
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

    fn subscription_mut(
        &mut self,
        from: &ConnectionId,
        id: &SubscriptionId,
    ) -> Option<&mut (SubscriptionId, bool, bool)> {
        self.members
            .iter_mut()
            .find(|m| &m.connection.connection_id == from)?
            .subscriptions
            .iter_mut()
            .find(|s| &s.0 == id)
    }

    fn forget_subscription(&mut self, from: &ConnectionId, id: &SubscriptionId) {
        if let Some(m) = self
            .members
            .iter_mut()
            .find(|m| &m.connection.connection_id == from)
        {
            m.subscriptions.retain(|s| &s.0 != id);
        }
        let key = subscription_key(&self.session_id, from, id);
        let sfu = self.hub.sfu.clone();
        self.sfu_jobs
            .push(async move { sfu.unsubscribe(&key).await });
    }

    /// Stops a stream's media at the SFU (its subscriptions end with it).
    pub(super) fn stop_stream_media(&self, stream_id: &StreamId) {
        let sfu = self.hub.sfu.clone();
        let key = stream_key(&self.session_id, stream_id);
        self.sfu_jobs.push(async move { sfu.unpublish(&key).await });
    }

    /// Ends every subscription of a departing connection.
    pub(super) fn stop_member_media(
        &self,
        connection: &ConnectionId,
        subscriptions: &[(SubscriptionId, bool, bool)],
    ) {
        let keys: Vec<String> = subscriptions
            .iter()
            .map(|s| subscription_key(&self.session_id, connection, &s.0))
            .collect();
        if keys.is_empty() {
            return;
        }
        let sfu = self.hub.sfu.clone();
        self.sfu_jobs.push(async move {
            for key in keys {
                sfu.unsubscribe(&key).await;
            }
        });
    }

    fn reply_ok(&mut self, to: &ConnectionId, id: u64) {
        self.send_to(
            to,
            &ServerMessage::Reply {
                id,
                stream: None,
                sdp_answer: None,
                error: None,
            },
        );
    }

    fn reply_error(&mut self, to: &ConnectionId, id: u64, error: OtError) {
        self.hub.metrics.error(error.code);
        self.send_to(
            to,
            &ServerMessage::Reply {
                id,
                stream: None,
                sdp_answer: None,
                error: Some(error),
            },
        );
    }
}

/// Releases what a negotiation set up for a client that is no longer there.
async fn undo(sfu: &Sfu, session: &otter_protocol::SessionId, command: Command) {
    if let Command::MediaReady {
        connection_id,
        outcome,
        ..
    } = command
    {
        match outcome {
            MediaOutcome::Published {
                stream,
                answer: Ok(_),
            } => sfu.unpublish(&stream_key(session, &stream.stream_id)).await,
            MediaOutcome::Subscribed {
                subscription_id,
                answer: Ok(_),
                ..
            } => {
                sfu.unsubscribe(&subscription_key(session, &connection_id, &subscription_id))
                    .await
            }
            _ => {}
        }
    }
}
