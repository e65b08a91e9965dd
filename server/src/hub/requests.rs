//! What a session actor does for its clients' requests and for the REST API. Every request goes the
//! same way: sized and rate-checked (`admit`), authorized by role (`authorize.rs`), handled by one
//! match, answered by one [`SessionActor::reply`] — at once, or when the SFU has answered (`media.rs`).

use otter_protocol::{
    Connection, ConnectionId, DisconnectReason, Envelope, ErrorCode, OtError, Request,
    ServerMessage, Stream, StreamChange, StreamDestroyedReason, StreamId,
};

use super::actor::{random_id, Audience, SessionActor};
use super::authorize::authorize;
use super::commands::RestCommand;
use crate::clock::unix_millis;

/// What a successful request answers with.
#[derive(Debug, Default)]
pub(super) struct Answer {
    /// The stream a publish created.
    pub stream: Option<Stream>,
    /// The SFU's SDP answer to a publish or subscribe offer.
    pub sdp_answer: Option<String>,
}

/// What a request comes to.
pub(super) type Outcome = Result<Answer, OtError>;

impl SessionActor {
    /// One request from a member: answered now, or later by `media.rs` for SFU negotiations.
    pub(super) fn client_request(&mut self, from: &ConnectionId, envelope: Envelope) {
        let Envelope { id, request } = envelope;
        let Some(member) = self.member(from) else {
            return;
        };
        let (role, connection) = (member.role, member.connection.clone());
        if let Err(refused) = self
            .admit(from, &request)
            .and_then(|()| authorize(role, &request))
        {
            return self.reply(from, id, Err(refused));
        }
        let outcome = match request {
            Request::Signal {
                to,
                signal_type,
                data,
            } => self
                .deliver_signal(to, signal_type, data, Some(connection))
                .map(|()| Answer::default()),
            Request::Publish {
                name,
                has_audio,
                has_video,
                video_type,
                video_dimensions,
                sdp_offer,
            } => {
                let stream = Stream {
                    stream_id: StreamId::new(random_id()).expect("random_id is a valid ID"),
                    connection,
                    name,
                    has_audio,
                    has_video,
                    video_type,
                    video_dimensions,
                    creation_time: unix_millis(),
                };
                match sdp_offer {
                    // Announced once the SFU has answered, so nobody hears of media that cannot flow.
                    Some(offer) => return self.publish_media(from, id, stream, offer),
                    None => {
                        self.announce(stream.clone());
                        Ok(Answer {
                            stream: Some(stream),
                            sdp_answer: None,
                        })
                    }
                }
            }
            Request::Subscribe {
                subscription_id,
                stream_id,
                sdp_offer,
                audio,
                video,
                preferred_resolution,
            } => match self.stream(&stream_id) {
                Some(_) => {
                    let size = preferred_resolution.filter(|&size| size != (0, 0));
                    let media = (subscription_id, stream_id, sdp_offer, (audio, video));
                    return self.subscribe_media(from, id, media, size);
                }
                None => Err(ErrorCode::NotFound.with_message("no such stream in the session")),
            },
            Request::UpdateSubscription {
                subscription_id,
                audio,
                video,
                preferred_resolution,
            } => self
                .update_subscription(from, &subscription_id, (audio, video), preferred_resolution)
                .map(|()| Answer::default()),
            Request::Unsubscribe { subscription_id } => {
                self.forget_subscription(from, &subscription_id);
                Ok(Answer::default())
            }
            Request::UpdateStream {
                stream_id,
                has_audio,
                has_video,
                video_dimensions,
            } => self.own_stream(from, &stream_id).map(|()| {
                self.update_stream(&stream_id, has_audio, has_video, video_dimensions);
                Answer::default()
            }),
            Request::Unpublish { stream_id } => {
                // The SFU's media stops only once the stream is known to be this session's: its
                // stream IDs are server-wide (F3).
                let reason = match self.own_stream(from, &stream_id) {
                    Ok(()) => Ok(StreamDestroyedReason::ClientDisconnected),
                    Err(_) if role.is_moderator() => Ok(StreamDestroyedReason::ForceUnpublished),
                    Err(e) if e.code == ErrorCode::NotFound.code() => Err(e),
                    Err(_) => Err(ErrorCode::ForceUnpublishDenied
                        .with_message("only a moderator can unpublish another client's stream")),
                };
                reason
                    .and_then(|reason| self.end_stream(&stream_id, reason))
                    .map(|()| {
                        self.stop_stream_media(&stream_id);
                        Answer::default()
                    })
            }
            Request::ForceDisconnect { connection_id } => self
                .force_disconnect(&connection_id)
                .map(|()| Answer::default()),
            Request::ForceMute {
                stream_id,
                excluded_stream_ids,
                active,
            } => self
                .mute(stream_id, &excluded_stream_ids, active)
                .map(|()| Answer::default()),
            other => Err(ErrorCode::BadRequest
                .with_message(format!("the server does not handle {}", other.name()))),
        };
        self.reply(from, id, outcome);
    }

    /// The one way a request is answered.
    pub(super) fn reply(&mut self, to: &ConnectionId, id: u64, outcome: Outcome) {
        let (stream, sdp_answer, error) = match outcome {
            Ok(answer) => (answer.stream, answer.sdp_answer, None),
            Err(e) => {
                self.metrics.error(e.code);
                (None, None, Some(e))
            }
        };
        let reply = ServerMessage::Reply {
            id,
            stream,
            sdp_answer,
            error,
        };
        self.send_to(to, &reply);
    }

    /// Sizes and quotas a request must pass before anything acts on it: stream names, streams and
    /// subscriptions per connection (those being negotiated count), the session's signal budget.
    fn admit(&mut self, from: &ConnectionId, request: &Request) -> Result<(), OtError> {
        let Some(member) = self.member(from) else {
            return Ok(());
        };
        match request {
            Request::Publish { name, .. } => {
                otter_protocol::limits::validate_stream_name(name)?;
                let streams = self
                    .streams
                    .iter()
                    .filter(|s| &s.connection.connection_id == from)
                    .count();
                if streams + member.negotiating.publishes >= self.limits.max_streams_per_connection
                {
                    return Err(ErrorCode::StreamLimitExceeded.with_message(format!(
                        "a connection may publish at most {} streams",
                        self.limits.max_streams_per_connection
                    )));
                }
            }
            Request::Subscribe { .. } => {
                let held = member.subscriptions.len() + member.negotiating.subscriptions;
                if held >= self.limits.max_subscriptions_per_connection {
                    return Err(ErrorCode::StreamLimitExceeded.with_message(format!(
                        "a connection may hold at most {} subscriptions",
                        self.limits.max_subscriptions_per_connection
                    )));
                }
            }
            Request::Signal { .. } if !self.signal_budget.try_take(self.now) => {
                return Err(ErrorCode::RateLimited
                    .with_message("the session is carrying too many signals; slow down"));
            }
            _ => {}
        }
        Ok(())
    }

    /// Tells everyone but its publisher of a new stream.
    pub(super) fn announce(&mut self, stream: Stream) {
        let owner = stream.connection.connection_id.clone();
        self.streams.push(stream.clone());
        self.broadcast(
            &ServerMessage::StreamCreated { stream },
            Audience::AllBut(&owner),
        );
    }

    /// Delivers a signal (already validated and rate-limited by the socket task or REST handler).
    fn deliver_signal(
        &mut self,
        to: Option<ConnectionId>,
        signal_type: String,
        data: String,
        from: Option<Connection>,
    ) -> Result<(), OtError> {
        if let Some(target) = &to {
            if self.member(target).is_none() {
                return Err(
                    ErrorCode::NotFound.with_message("the signal's target is not in the session")
                );
            }
        }
        self.metrics.signals.inc();
        let message = ServerMessage::Signal {
            signal_type,
            data,
            from,
        };
        match &to {
            Some(target) => self.broadcast(&message, Audience::Only(target)),
            None => self.broadcast(&message, Audience::All),
        }
        Ok(())
    }

    fn own_stream(&self, from: &ConnectionId, id: &StreamId) -> Result<(), OtError> {
        match self.stream(id) {
            Some(s) if &s.connection.connection_id == from => Ok(()),
            Some(_) => {
                Err(ErrorCode::ForceUnpublishDenied.with_message("the stream is another client's"))
            }
            None => Err(ErrorCode::NotFound.with_message("no such stream")),
        }
    }

    fn update_stream(
        &mut self,
        id: &StreamId,
        has_audio: Option<bool>,
        has_video: Option<bool>,
        video_dimensions: Option<(u32, u32)>,
    ) {
        if let Some(new_value) = has_audio {
            self.change_stream(id, |s| StreamChange::HasAudio {
                old_value: std::mem::replace(&mut s.has_audio, new_value),
                new_value,
            });
        }
        if let Some(new_value) = has_video {
            self.change_stream(id, |s| StreamChange::HasVideo {
                old_value: std::mem::replace(&mut s.has_video, new_value),
                new_value,
            });
        }
        if let Some(new_value) = video_dimensions {
            self.change_stream(id, |s| StreamChange::VideoDimensions {
                old_value: std::mem::replace(&mut s.video_dimensions, new_value),
                new_value,
            });
        }
    }

    /// Applies `edit` to a stream and tells everyone but its publisher, unless nothing changed.
    fn change_stream(&mut self, id: &StreamId, edit: impl FnOnce(&mut Stream) -> StreamChange) {
        let Some(stream) = self.streams.iter_mut().find(|s| &s.stream_id == id) else {
            return;
        };
        let change = edit(stream);
        if change.is_noop() {
            return;
        }
        let message = ServerMessage::StreamPropertyChanged {
            stream: stream.clone(),
            change,
        };
        let owner = stream.connection.connection_id.clone();
        self.broadcast(&message, Audience::AllBut(&owner));
    }

    /// Ends a stream whose media died: everyone hears it, its publisher too (it asked for nothing).
    pub(super) fn end_media_stopped(&mut self, id: &StreamId) {
        let _ = self.end_stream(id, StreamDestroyedReason::MediaStopped);
    }

    fn end_stream(&mut self, id: &StreamId, reason: StreamDestroyedReason) -> Result<(), OtError> {
        let pos = self
            .streams
            .iter()
            .position(|s| &s.stream_id == id)
            .ok_or_else(|| ErrorCode::NotFound.with_message("no such stream"))?;
        let stream = self.streams.remove(pos);
        let owner = stream.connection.connection_id.clone();
        let message = ServerMessage::StreamDestroyed { stream, reason };
        if matches!(
            reason,
            StreamDestroyedReason::ForceUnpublished | StreamDestroyedReason::MediaStopped
        ) {
            self.broadcast(&message, Audience::All);
        } else {
            self.broadcast(&message, Audience::AllBut(&owner));
        }
        Ok(())
    }

    fn force_disconnect(&mut self, id: &ConnectionId) -> Result<(), OtError> {
        if self.member(id).is_none() {
            return Err(ErrorCode::NotFound.with_message("no such connection in the session"));
        }
        self.disconnect(id, DisconnectReason::ForceDisconnected);
        Ok(())
    }

    fn mute(
        &mut self,
        one: Option<StreamId>,
        excluded: &[StreamId],
        active: bool,
    ) -> Result<(), OtError> {
        let silence = |s: &mut Stream| StreamChange::HasAudio {
            old_value: std::mem::replace(&mut s.has_audio, false),
            new_value: false,
        };
        match one {
            Some(id) => {
                let owner = self
                    .stream(&id)
                    .map(|s| s.connection.connection_id.clone())
                    .ok_or_else(|| ErrorCode::NotFound.with_message("no such stream"))?;
                self.change_stream(&id, silence);
                self.send_to(
                    &owner,
                    &ServerMessage::MuteForced {
                        active: true,
                        stream_id: Some(id),
                    },
                );
            }
            None => {
                if active {
                    let targets: Vec<StreamId> = self
                        .streams
                        .iter()
                        .filter(|s| !excluded.contains(&s.stream_id))
                        .map(|s| s.stream_id.clone())
                        .collect();
                    for id in targets {
                        self.change_stream(&id, silence);
                    }
                }
                self.broadcast(
                    &ServerMessage::MuteForced {
                        active,
                        stream_id: None,
                    },
                    Audience::All,
                );
            }
        }
        Ok(())
    }

    pub(super) fn rest_request(&mut self, request: RestCommand) {
        match request {
            RestCommand::ListStreams(reply) => {
                let _ = reply.send(self.streams.clone());
            }
            RestCommand::ForceDisconnect(id, reply) => {
                let _ = reply.send(self.force_disconnect(&id));
            }
            RestCommand::Signal {
                to,
                signal_type,
                data,
                reply,
            } => {
                let _ = reply.send(self.deliver_signal(to, signal_type, data, None));
            }
            RestCommand::Mute {
                stream_id,
                excluded,
                active,
                reply,
            } => {
                let _ = reply.send(self.mute(stream_id, &excluded, active));
            }
        }
    }
}
