//! One actor per live session: it alone owns the session's connections and streams, so no lock guards
//! them. Socket tasks and the REST API talk to it through [`Command`]s; it talks back through each
//! connection's [`Outbox`]. It ends when its last connection is gone.

use std::sync::Arc;

use axum::extract::ws::Utf8Bytes;
use otter_protocol::{
    Connection, ConnectionId, DisconnectReason, ErrorCode, OtError, Role, ServerMessage, SessionId,
    Stream, StreamId, SubscriptionId, VideoType,
};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tracing::{debug, info};

use super::commands::{Command, Epoch, Joined, Outbox, Resumed};
use super::sfu_queue::SfuQueue;
use super::HubInner;
use crate::config::Limits;
use crate::rate_limit::TokenBucket;

/// A connection's link to its client.
pub(super) enum Link {
    /// A socket task is attached.
    Live { epoch: Epoch, outbox: Outbox },
    /// The socket went away; the connection waits for a resume until `deadline`. `epoch` is the link
    /// that went, so a goodbye it sent that arrives late still counts.
    Dropped { deadline: Instant, epoch: Epoch },
}

pub(super) struct Member {
    pub connection: Connection,
    pub role: Role,
    resume_key: String,
    pub link: Link,
    /// Its subscriptions, with their audio and video forwarding switches.
    pub subscriptions: Vec<(SubscriptionId, bool, bool)>,
    /// Publishes and subscriptions being negotiated with the SFU: they count against the quotas too.
    pub negotiating: Negotiating,
    /// A WHIP/WHEP resource: no socket, so it goes when its media goes.
    pub socketless: bool,
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
    pub hub: Arc<HubInner>,
    /// This actor's own queue, for tasks it starts to report back on (weak: it must not keep the
    /// queue open by itself).
    pub me: mpsc::WeakSender<Command>,
    /// The session's signal budget, shared by all its connections.
    pub signal_budget: TokenBucket,
    /// SFU work, done in order.
    pub sfu_jobs: SfuQueue,
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

pub(super) fn unix_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

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
        hub: Arc<HubInner>,
        me: mpsc::WeakSender<Command>,
    ) -> Self {
        let signal_budget = TokenBucket::new(
            limits.session_signal_burst,
            limits.session_signals_per_second,
            std::time::Instant::now(),
        );
        Self {
            session_id,
            limits,
            signal_budget,
            sfu_jobs: SfuQueue::start(),
            members: Vec::new(),
            streams: Vec::new(),
            next_epoch: 1,
            hub,
            me,
        }
    }

    /// Runs until the session is empty, then unregisters it.
    pub(super) async fn run(mut self, mut rx: mpsc::Receiver<Command>) {
        info!(session = %self.session_id, "session started");
        loop {
            let deadline = self.next_deadline();
            let command = tokio::select! {
                c = rx.recv() => c,
                _ = sleep_until_opt(deadline) => { self.expire_dropped(Instant::now()); continue; }
            };
            match command {
                Some(c) => self.handle(c),
                None => break,
            }
            if self.members.is_empty() && self.hub.unregister_if_idle(&self.session_id, &rx) {
                break;
            }
        }
        info!(session = %self.session_id, "session ended");
    }

    fn handle(&mut self, command: Command) {
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
                message,
            } => {
                if self.live_epoch(&connection_id) == Some(epoch) {
                    self.client_request(&connection_id, message);
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
            Command::MediaReady {
                connection_id,
                request,
                outcome,
            } => self.media_ready(connection_id, request, outcome),
        }
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
        self.hub.metrics.connections.inc();
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

    /// A new stream of `from`'s (not yet in the session).
    pub(super) fn new_stream(
        &self,
        from: &ConnectionId,
        name: String,
        has_audio: bool,
        has_video: bool,
        video_type: VideoType,
        video_dimensions: (u32, u32),
    ) -> Option<Stream> {
        Some(Stream {
            stream_id: StreamId::new(random_id()).expect("random_id is a valid ID"),
            connection: self.member(from)?.connection.clone(),
            name,
            has_audio,
            has_video,
            video_type,
            video_dimensions,
            creation_time: unix_millis(),
        })
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
        let deadline = Instant::now() + self.limits.reconnect_window;
        if let Some(m) = self
            .members
            .iter_mut()
            .find(|m| &m.connection.connection_id == id)
        {
            let Link::Live { epoch, .. } = m.link else {
                return;
            };
            debug!(session = %self.session_id, connection = %id, "link lost; waiting for a resume");
            m.link = Link::Dropped { deadline, epoch };
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        self.members
            .iter()
            .filter_map(|m| match m.link {
                Link::Dropped { deadline, .. } => Some(deadline),
                Link::Live { .. } => None,
            })
            .min()
    }

    fn expire_dropped(&mut self, now: Instant) {
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
        self.hub.metrics.connections.dec();
        self.stop_member_media(id, &member.subscriptions);
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
}

async fn sleep_until_opt(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

fn constant_time_eq(a: &str, b: &str) -> bool {
    subtle::ConstantTimeEq::ct_eq(a.as_bytes(), b.as_bytes()).into()
}
