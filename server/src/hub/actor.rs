//! One actor per live session: it alone owns the session's connections and streams, so no lock guards
//! them. It is sans-IO: every input arrives with the time ([`SessionActor::handle`],
//! [`SessionActor::on_timeout`]); frames go to each connection's [`Outbox`] without waiting, and the
//! media work it decides on waits in [`SessionActor::sfu_work`] for the driver (`driver.rs`) to carry out
//! in order. It never reads the clock and never spawns, so `tests.rs` drives it in simulated time.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::ws::Utf8Bytes;
use otter_protocol::{
    Connection, ConnectionId, DisconnectReason, ErrorCode, OtError, Role, ServerMessage, SessionId,
    Stream, StreamId, SubscriptionId,
};
use tracing::debug;

use super::commands::{Command, Epoch, Joined, Outbox, Resumed};
use super::sfu_work::SfuWork;
use crate::clock::unix_millis;
use crate::config::Limits;
use crate::metrics::Metrics;
use crate::rate_limit::TokenBucket;

/// A connection's link to its client.
pub(super) enum Link {
    /// A socket task is attached.
    Live { epoch: Epoch, outbox: Outbox },
    /// The socket went away; the connection waits for a resume until `deadline`. `epoch` is the link
    /// that went, so a goodbye it sent that arrives late still counts.
    Dropped { deadline: Instant, epoch: Epoch },
}

/// One connection of the session.
pub(super) struct Member {
    pub connection: Connection,
    pub role: Role,
    resume_key: String,
    pub link: Link,
    pub subscriptions: Vec<Subscription>,
    /// Publishes and subscriptions being negotiated with the SFU: they count against the quotas too.
    pub negotiating: Negotiating,
    /// A WHIP/WHEP resource: no socket, so it goes when its media goes.
    pub socketless: bool,
}

/// A member's subscription and what it forwards.
pub(super) struct Subscription {
    pub id: SubscriptionId,
    pub audio: bool,
    pub video: bool,
}

/// Media negotiations of one member still in flight.
#[derive(Default)]
pub(super) struct Negotiating {
    pub publishes: usize,
    pub subscriptions: usize,
}

pub(super) struct SessionActor {
    pub session_id: SessionId,
    pub limits: Limits,
    /// Members in join order (small sessions are the common case; a Vec keeps them compact and ordered).
    pub members: Vec<Member>,
    pub streams: Vec<Stream>,
    next_epoch: Epoch,
    pub metrics: Arc<Metrics>,
    /// The session's signal budget, shared by all its connections.
    pub signal_budget: TokenBucket,
    /// The time of the input being handled.
    pub now: Instant,
    /// SFU work decided on, oldest first; the driver takes it after every input.
    pub sfu_work: Vec<SfuWork>,
}

/// Who a broadcast goes to.
#[derive(Clone, Copy)]
pub(super) enum Audience<'a> {
    /// Every live member.
    All,
    /// One member.
    Only(&'a ConnectionId),
    /// Every live member but one (a publisher does not hear of its own stream).
    AllBut(&'a ConnectionId),
}

/// A random UUID-shaped ID (connection and stream IDs, resume keys).
pub(super) fn random_id() -> String {
    use rand::Rng;
    let v: u128 = rand::thread_rng().gen();
    let s = format!("{v:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &s[..8],
        &s[8..12],
        &s[12..16],
        &s[16..20],
        &s[20..]
    )
}

impl SessionActor {
    pub(super) fn new(
        session_id: SessionId,
        limits: Limits,
        metrics: Arc<Metrics>,
        now: Instant,
    ) -> Self {
        let signal_budget = TokenBucket::new(
            limits.session_signal_burst,
            limits.session_signals_per_second,
            now,
        );
        Self {
            session_id,
            limits,
            signal_budget,
            members: Vec::new(),
            streams: Vec::new(),
            next_epoch: 1,
            metrics,
            now,
            sfu_work: Vec::new(),
        }
    }

    /// One input, at `now`.
    pub(super) fn handle(&mut self, command: Command, now: Instant) {
        self.now = now;
        match command {
            Command::Join {
                socketless,
                data,
                role,
                outbox,
                reply,
            } => {
                let _ = reply.send(self.join(data, role, outbox, socketless));
            }
            Command::Resume {
                connection_id,
                resume_key,
                outbox,
                reply,
            } => {
                let _ = reply.send(self.resume(&connection_id, &resume_key, outbox));
            }
            Command::FromClient {
                connection_id,
                epoch,
                request,
            } => {
                if self.live_epoch(&connection_id) == Some(epoch) {
                    self.client_request(&connection_id, request);
                }
            }
            Command::LinkLost {
                connection_id,
                epoch,
            } => {
                if self.live_epoch(&connection_id) == Some(epoch) {
                    self.drop_link(&connection_id);
                }
            }
            Command::Leave {
                connection_id,
                epoch,
            } => {
                // The link may already count as dropped (its outbox closed before the goodbye was
                // read): a goodbye from that same link still ends the connection cleanly.
                if self.last_epoch(&connection_id) == Some(epoch) {
                    self.remove(&connection_id, DisconnectReason::ClientDisconnected);
                }
            }
            Command::Rest(r) => self.rest_request(r),
            Command::MediaGone(gone) => self.media_gone(gone),
            Command::LayersWanted { stream_id, layers } => self.layers_wanted(stream_id, layers),
            Command::MediaReady {
                connection_id,
                request,
                outcome,
            } => self.media_ready(connection_id, request, outcome),
        }
    }

    /// When [`Self::on_timeout`] is next due: the earliest end of a reconnect window.
    pub(super) fn next_deadline(&self) -> Option<Instant> {
        self.members
            .iter()
            .filter_map(|m| match m.link {
                Link::Dropped { deadline, .. } => Some(deadline),
                Link::Live { .. } => None,
            })
            .min()
    }

    /// Time passed: connections whose reconnect window is over leave.
    pub(super) fn on_timeout(&mut self, now: Instant) {
        self.now = now;
        let expired: Vec<ConnectionId> = self
            .members
            .iter()
            .filter(|m| matches!(m.link, Link::Dropped { deadline, .. } if deadline <= now))
            .map(|m| m.connection.connection_id.clone())
            .collect();
        for id in expired {
            self.remove(&id, DisconnectReason::NetworkDisconnected);
        }
    }

    /// No member is left: the session can end.
    pub(super) fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    fn join(
        &mut self,
        data: String,
        role: Role,
        outbox: Outbox,
        socketless: bool,
    ) -> Result<Joined, OtError> {
        if self.members.len() >= self.limits.max_connections_per_session {
            return Err(ErrorCode::ConnectionLimitExceeded.with_message(format!(
                "the session already has {} connections",
                self.members.len()
            )));
        }
        let connection = Connection {
            connection_id: ConnectionId::new(random_id()).expect("random_id is a valid ID"),
            creation_time: unix_millis(),
            data,
        };
        let epoch = self.new_epoch();
        let joined = Joined {
            connection: connection.clone(),
            connections: self.members.iter().map(|m| m.connection.clone()).collect(),
            streams: self.streams.clone(),
            resume_key: random_id(),
            epoch,
        };
        debug!(session = %self.session_id, connection = %connection.connection_id, ?role, "joined");
        self.broadcast(
            &ServerMessage::ConnectionCreated {
                connection: connection.clone(),
            },
            Audience::All,
        );
        self.members.push(Member {
            connection,
            role,
            resume_key: joined.resume_key.clone(),
            link: Link::Live { epoch, outbox },
            subscriptions: Vec::new(),
            negotiating: Negotiating::default(),
            socketless,
        });
        self.metrics.connections.inc();
        Ok(joined)
    }

    fn resume(&mut self, id: &ConnectionId, key: &str, outbox: Outbox) -> Result<Resumed, OtError> {
        let epoch = self.new_epoch();
        let member = self
            .members
            .iter_mut()
            .find(|m| &m.connection.connection_id == id && constant_time_eq(&m.resume_key, key))
            .ok_or_else(|| {
                ErrorCode::NotConnected
                    .with_message("the connection is gone: its reconnect window has passed")
            })?;
        // A live link here is a socket the server has not yet noticed is dead: the new one replaces it.
        member.link = Link::Live { epoch, outbox };
        debug!(session = %self.session_id, connection = %id, "resumed");
        Ok(Resumed {
            connections: self
                .members
                .iter()
                .filter(|m| &m.connection.connection_id != id)
                .map(|m| m.connection.clone())
                .collect(),
            streams: self.streams.clone(),
            epoch,
        })
    }

    fn new_epoch(&mut self) -> Epoch {
        self.next_epoch += 1;
        self.next_epoch
    }

    fn live_epoch(&self, id: &ConnectionId) -> Option<Epoch> {
        match self.member(id)?.link {
            Link::Live { epoch, .. } => Some(epoch),
            Link::Dropped { .. } => None,
        }
    }

    /// The epoch of the member's latest link, live or dropped.
    fn last_epoch(&self, id: &ConnectionId) -> Option<Epoch> {
        match self.member(id)?.link {
            Link::Live { epoch, .. } | Link::Dropped { epoch, .. } => Some(epoch),
        }
    }

    pub(super) fn member(&self, id: &ConnectionId) -> Option<&Member> {
        self.members
            .iter()
            .find(|m| &m.connection.connection_id == id)
    }

    pub(super) fn member_mut(&mut self, id: &ConnectionId) -> Option<&mut Member> {
        self.members
            .iter_mut()
            .find(|m| &m.connection.connection_id == id)
    }

    /// Keeps the connection for the reconnect window; its outbox is dropped, which closes the socket.
    fn drop_link(&mut self, id: &ConnectionId) {
        let deadline = self.now + self.limits.reconnect_window;
        let session = self.session_id.clone();
        if let Some(m) = self.member_mut(id) {
            let Link::Live { epoch, .. } = m.link else {
                return;
            };
            debug!(%session, connection = %id, "link lost; waiting for a resume");
            m.link = Link::Dropped { deadline, epoch };
        }
    }

    /// Removes a connection and its streams, and tells the others.
    pub(super) fn remove(&mut self, id: &ConnectionId, reason: DisconnectReason) {
        let Some(pos) = self
            .members
            .iter()
            .position(|m| &m.connection.connection_id == id)
        else {
            return;
        };
        let member = self.members.remove(pos);
        self.metrics.connections.dec();
        for sub in &member.subscriptions {
            self.stop_subscription_media(id, &sub.id);
        }
        debug!(session = %self.session_id, connection = %id, ?reason, "left");
        let (gone, kept): (Vec<Stream>, Vec<Stream>) = std::mem::take(&mut self.streams)
            .into_iter()
            .partition(|s| &s.connection.connection_id == id);
        self.streams = kept;
        for stream in &gone {
            self.stop_stream_media(&stream.stream_id);
        }
        for stream in gone {
            self.broadcast(
                &ServerMessage::StreamDestroyed {
                    stream,
                    reason: reason.into(),
                },
                Audience::All,
            );
        }
        self.broadcast(
            &ServerMessage::ConnectionDestroyed {
                connection: member.connection,
                reason,
            },
            Audience::All,
        );
    }

    /// Sends to the live members of `audience`, encoding once for all of them.
    pub(super) fn broadcast(&mut self, message: &ServerMessage, audience: Audience<'_>) {
        let frame = Utf8Bytes::from(message.encode());
        let mut overflowed = Vec::new();
        for m in &self.members {
            let id = &m.connection.connection_id;
            let included = match audience {
                Audience::All => true,
                Audience::Only(only) => only == id,
                Audience::AllBut(but) => but != id,
            };
            if let (true, Link::Live { outbox, .. }) = (included, &m.link) {
                if outbox.try_send(frame.clone()).is_err() {
                    overflowed.push(id.clone());
                }
            }
        }
        for id in overflowed {
            // Too far behind (or its socket task is gone): treat it as a dropped link.
            self.drop_link(&id);
        }
    }

    /// Sends to one member.
    pub(super) fn send_to(&mut self, id: &ConnectionId, message: &ServerMessage) {
        self.broadcast(message, Audience::Only(id));
    }

    /// Tells `id` it is being removed, then closes its link.
    pub(super) fn disconnect(&mut self, id: &ConnectionId, reason: DisconnectReason) {
        self.send_to(id, &ServerMessage::Disconnected { reason });
        self.remove(id, reason);
    }

    /// The stream, if it is in this session.
    pub(super) fn stream(&self, id: &StreamId) -> Option<&Stream> {
        self.streams.iter().find(|s| &s.stream_id == id)
    }
}

fn constant_time_eq(a: &str, b: &str) -> bool {
    subtle::ConstantTimeEq::ct_eq(a.as_bytes(), b.as_bytes()).into()
}
