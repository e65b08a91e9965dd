//! What a session actor does for its clients' requests and for the REST API.

use otter_protocol::{
    ClientMessage, ConnectionId, DisconnectReason, ErrorCode, OtError, Role, ServerMessage, Stream,
    StreamDestroyedReason, StreamId,
};
use serde_json::json;

use super::actor::{Audience, SessionActor};
use super::commands::RestCommand;

/// The outcome of a client request, sent back as [`ServerMessage::Reply`].
type Outcome = Result<Option<Stream>, OtError>;

impl SessionActor {
    /// Sizes and quotas a request must pass before anything acts on it: stream names, streams and
    /// subscriptions per connection (those being negotiated count), the session's signal budget.
    fn admit(&mut self, from: &ConnectionId, message: &ClientMessage) -> Result<(), OtError> {
        let Some(member) = self.member(from) else {
            return Ok(());
        };
        match message {
            ClientMessage::Publish { name, .. } => {
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
            ClientMessage::Subscribe { .. } => {
                let held = member.subscriptions.len() + member.negotiating.subscriptions;
                if held >= self.limits.max_subscriptions_per_connection {
                    return Err(ErrorCode::StreamLimitExceeded.with_message(format!(
                        "a connection may hold at most {} subscriptions",
                        self.limits.max_subscriptions_per_connection
                    )));
                }
            }
            ClientMessage::Signal { .. }
                if !self.signal_budget.try_take(std::time::Instant::now()) =>
            {
                return Err(ErrorCode::RateLimited
                    .with_message("the session is carrying too many signals; slow down"));
            }
            _ => {}
        }
        Ok(())
    }

    pub(super) fn client_request(&mut self, from: &ConnectionId, message: ClientMessage) {
        let Some(role) = self.member(from).map(|m| m.role) else {
            return;
        };
        if let Err(error) = self.admit(from, &message) {
            if let Some(id) = message.request_id() {
                self.hub.metrics.error(error.code);
                let reply = ServerMessage::Reply {
                    id,
                    stream: None,
                    sdp_answer: None,
                    error: Some(error),
                };
                self.send_to(from, &reply);
            }
            return;
        }
        let Some(message) = self.media_request(from, role, message) else {
            return;
        };
        let (id, outcome) = match message {
            ClientMessage::Signal {
                id,
                to,
                signal_type,
                data,
            } => (id, self.client_signal(from, role, to, signal_type, data)),
            ClientMessage::Publish {
                id,
                name,
                has_audio,
                has_video,
                video_type,
                video_dimensions,
                ..
            } => {
                let outcome = if role.can_publish() {
                    let Some(stream) = self.new_stream(
                        from,
                        name,
                        has_audio,
                        has_video,
                        video_type,
                        video_dimensions,
                    ) else {
                        return;
                    };
                    self.streams.push(stream.clone());
                    self.broadcast_except(
                        from,
                        &ServerMessage::StreamCreated {
                            stream: stream.clone(),
                        },
                    );
                    Ok(Some(stream))
                } else {
                    Err(ErrorCode::UnableToPublish
                        .with_message("a subscriber token cannot publish"))
                };
                (id, outcome)
            }
            ClientMessage::UpdateStream {
                id,
                stream_id,
                has_audio,
                has_video,
                video_dimensions,
            } => {
                let outcome = self.own_stream(from, &stream_id).map(|_| {
                    self.update_stream(&stream_id, "has_audio", has_audio.map(|v| json!(v)));
                    self.update_stream(&stream_id, "has_video", has_video.map(|v| json!(v)));
                    self.update_stream(
                        &stream_id,
                        "video_dimensions",
                        video_dimensions.map(|v| json!(v)),
                    );
                    None
                });
                (id, outcome)
            }
            ClientMessage::Unpublish { id, stream_id } => {
                // The SFU's media stops only once the stream is known to be this session's: its
                // stream IDs are server-wide (F3).
                let outcome = if self.own_stream(from, &stream_id).is_ok() {
                    self.end_stream(&stream_id, StreamDestroyedReason::ClientDisconnected)
                        .inspect(|_| self.stop_stream_media(&stream_id))
                } else if role.is_moderator() {
                    self.end_stream(&stream_id, StreamDestroyedReason::ForceUnpublished)
                        .inspect(|_| self.stop_stream_media(&stream_id))
                } else {
                    Err(ErrorCode::ForceUnpublishDenied
                        .with_message("only a moderator can unpublish another client's stream"))
                };
                (id, outcome)
            }
            ClientMessage::ForceDisconnect { id, connection_id } => {
                let outcome = if role.is_moderator() {
                    self.force_disconnect(&connection_id).map(|_| None)
                } else {
                    Err(ErrorCode::ForceDisconnectDenied
                        .with_message("force-disconnect needs the moderator role"))
                };
                (id, outcome)
            }
            ClientMessage::ForceMute {
                id,
                stream_id,
                excluded_stream_ids,
                active,
            } => {
                let outcome = if role.is_moderator() {
                    self.mute(stream_id, &excluded_stream_ids, active)
                        .map(|_| None)
                } else {
                    Err(ErrorCode::ForceUnpublishDenied
                        .with_message("force-mute needs the moderator role"))
                };
                (id, outcome)
            }
            // Connect, resume, heartbeats and leave are handled by the socket task.
            _ => return,
        };
        if let Err(e) = &outcome {
            self.hub.metrics.error(e.code);
        }
        let (stream, error) = match outcome {
            Ok(stream) => (stream, None),
            Err(e) => (None, Some(e)),
        };
        self.send_to(
            from,
            &ServerMessage::Reply {
                id,
                stream,
                sdp_answer: None,
                error,
            },
        );
    }

    fn client_signal(
        &mut self,
        from: &ConnectionId,
        role: Role,
        to: Option<ConnectionId>,
        signal_type: String,
        data: String,
    ) -> Outcome {
        if !may_send_signals(role) {
            return Err(ErrorCode::Forbidden.with_message("this token's role cannot send signals"));
        }
        let sender = self.member(from).map(|m| m.connection.clone());
        self.deliver_signal(to, signal_type, data, sender)
            .map(|_| None)
    }

    /// Delivers a signal (already validated and rate-limited by the socket task or REST handler).
    fn deliver_signal(
        &mut self,
        to: Option<ConnectionId>,
        signal_type: String,
        data: String,
        from: Option<otter_protocol::Connection>,
    ) -> Result<(), OtError> {
        if let Some(target) = &to {
            if self.member(target).is_none() {
                return Err(
                    ErrorCode::NotFound.with_message("the signal's target is not in the session")
                );
            }
        }
        self.hub.metrics.signals.inc();
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

    fn broadcast_except(&mut self, except: &ConnectionId, message: &ServerMessage) {
        self.broadcast(message, Audience::AllBut(except));
    }

    fn own_stream(&self, from: &ConnectionId, id: &StreamId) -> Result<(), OtError> {
        match self.streams.iter().find(|s| &s.stream_id == id) {
            Some(s) if &s.connection.connection_id == from => Ok(()),
            Some(_) => {
                Err(ErrorCode::ForceUnpublishDenied.with_message("the stream is another client's"))
            }
            None => Err(ErrorCode::NotFound.with_message("no such stream")),
        }
    }

    /// Changes one property of a stream and tells everyone but its publisher.
    fn update_stream(&mut self, id: &StreamId, property: &str, new: Option<serde_json::Value>) {
        let Some(new) = new else { return };
        let Some(stream) = self.streams.iter_mut().find(|s| &s.stream_id == id) else {
            return;
        };
        let old = match property {
            "has_audio" => json!(std::mem::replace(
                &mut stream.has_audio,
                new.as_bool().unwrap_or(false)
            )),
            "has_video" => json!(std::mem::replace(
                &mut stream.has_video,
                new.as_bool().unwrap_or(false)
            )),
            _ => {
                let dims = serde_json::from_value(new.clone()).unwrap_or(stream.video_dimensions);
                json!(std::mem::replace(&mut stream.video_dimensions, dims))
            }
        };
        if old == new {
            return;
        }
        let message = ServerMessage::StreamPropertyChanged {
            stream: stream.clone(),
            changed_property: property.to_owned(),
            old_value: old,
            new_value: new,
        };
        let owner = stream.connection.connection_id.clone();
        self.broadcast_except(&owner, &message);
    }

    /// Ends a stream whose media died: everyone hears it, its publisher too (it asked for nothing).
    pub(super) fn end_media_stopped(&mut self, id: &StreamId) {
        let _ = self.end_stream(id, StreamDestroyedReason::MediaStopped);
    }

    fn end_stream(&mut self, id: &StreamId, reason: StreamDestroyedReason) -> Outcome {
        let pos = self
            .streams
            .iter()
            .position(|s| &s.stream_id == id)
            .ok_or_else(|| ErrorCode::NotFound.with_message("no such stream"))?;
        let stream = self.streams.remove(pos);
        let message = ServerMessage::StreamDestroyed {
            stream: stream.clone(),
            reason,
        };
        if matches!(
            reason,
            StreamDestroyedReason::ForceUnpublished | StreamDestroyedReason::MediaStopped
        ) {
            self.broadcast(&message, Audience::All);
        } else {
            self.broadcast_except(&stream.connection.connection_id, &message);
        }
        Ok(None)
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
        match one {
            Some(id) => {
                let owner = self
                    .streams
                    .iter()
                    .find(|s| s.stream_id == id)
                    .map(|s| s.connection.connection_id.clone())
                    .ok_or_else(|| ErrorCode::NotFound.with_message("no such stream"))?;
                self.update_stream(&id, "has_audio", Some(json!(false)));
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
                        self.update_stream(&id, "has_audio", Some(json!(false)));
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

/// OpenTok lets every role signal except `publisheronly`, which may only publish.
fn may_send_signals(role: Role) -> bool {
    role != Role::PublisherOnly
}
