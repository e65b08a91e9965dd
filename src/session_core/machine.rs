//! The transitions of [`SessionCore`].

use std::time::Instant;

use otter_protocol::{
    ClientMessage, DisconnectReason, Envelope, ErrorCode, OtError, ServerMessage, PROTOCOL_VERSION,
};

use super::state::Change;
use super::*;
use crate::events::*;

/// Defaults until the server announces its own.
const DEFAULT_HEARTBEAT_INTERVAL: Duration = Duration::from_secs(2);
const DEFAULT_HEARTBEAT_TIMEOUT: Duration = Duration::from_secs(6);
/// The longest heartbeat or reconnect window a server may announce (ten minutes).
const MAX_SERVER_TIMER_MS: u64 = 10 * 60 * 1000;

impl SessionCore {
    /// A core for one session; `now` starts its clocks.
    pub fn new(config: CoreConfig, now: Instant) -> Self {
        Self {
            jitter: Jitter::new(config.jitter_seed),
            server_window: config.reconnect_window,
            config,
            phase: Phase::Idle { failed: false },
            state: SessionState::default(),
            resume_key: String::new(),
            heartbeat_interval: DEFAULT_HEARTBEAT_INTERVAL,
            heartbeat_timeout: DEFAULT_HEARTBEAT_TIMEOUT,
            last_heard: now,
            next_ping: now,
            pending: BTreeMap::new(),
            next_request_id: 1,
            outputs: VecDeque::new(),
            dirty: false,
            snapshot: None,
        }
    }

    /// Where the session is.
    pub fn status(&self) -> SessionStatus {
        match self.phase {
            Phase::Idle { failed: false } => SessionStatus::NotConnected,
            Phase::Idle { failed: true } => SessionStatus::Failed,
            Phase::Connecting { .. } => SessionStatus::Connecting,
            Phase::Connected => SessionStatus::Connected,
            Phase::Reconnecting { .. } => SessionStatus::Reconnecting,
        }
    }

    /// The current view, with its status.
    pub fn state(&self) -> SessionState {
        SessionState {
            status: self.status(),
            ..self.state.clone()
        }
    }

    /// True once since the view last changed.
    pub fn take_dirty(&mut self) -> bool {
        std::mem::take(&mut self.dirty)
    }

    /// True when there is nothing to do until a new user command.
    pub fn is_idle(&self) -> bool {
        matches!(self.phase, Phase::Idle { .. }) && self.outputs.is_empty()
    }

    /// The next thing for the driver to do.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// When [`SessionCore::handle_timeout`] must be called next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match &self.phase {
            Phase::Idle { .. } => None,
            Phase::Connecting { deadline, .. } => Some(*deadline),
            Phase::Connected => Some(self.next_ping.min(self.last_heard + self.heartbeat_timeout)),
            Phase::Reconnecting {
                window_end,
                next_try,
                try_deadline,
                ..
            } => [Some(*window_end), *next_try, *try_deadline]
                .into_iter()
                .flatten()
                .min(),
        }
    }

    fn emit(&mut self, event: SessionEvent) {
        self.outputs.push_back(Output::Event(event));
    }

    fn complete(&mut self, op: OpId, result: OpResult) {
        self.outputs.push_back(Output::Complete { op, result });
    }

    fn send(&mut self, message: ClientMessage) {
        self.outputs.push_back(Output::Send(message));
    }

    fn set_phase(&mut self, phase: Phase) {
        self.phase = phase;
        self.dirty = true;
    }

    fn session_id(&self) -> SessionId {
        self.config.session_id.clone()
    }

    /// Feeds one input.
    pub fn handle_input(&mut self, now: Instant, input: Input) {
        match input {
            Input::Connect { op, token } => self.connect(now, op, token),
            Input::Disconnect { op } => self.disconnect(op),
            Input::Request { op, request } => self.request(op, request),
            Input::TransportOpened => self.transport_opened(now),
            Input::TransportFailed | Input::TransportClosed => self.transport_lost(now),
            Input::Message(m) => self.message(now, m),
        }
    }

    fn connect(&mut self, now: Instant, op: OpId, token: String) {
        match self.phase {
            Phase::Idle { .. } => {
                self.outputs.push_back(Output::OpenTransport);
                let deadline = now + self.config.connect_timeout;
                self.set_phase(Phase::Connecting {
                    op,
                    token,
                    deadline,
                });
            }
            Phase::Connected | Phase::Reconnecting { .. } => {
                self.complete(op, Ok(RequestReply::default()))
            }
            Phase::Connecting { .. } => self.complete(
                op,
                Err(ErrorCode::InvalidParameter.with_message("a connect is already in progress")),
            ),
        }
    }

    fn disconnect(&mut self, op: Option<OpId>) {
        let was_joined = matches!(self.phase, Phase::Connected | Phase::Reconnecting { .. });
        match std::mem::replace(&mut self.phase, Phase::Idle { failed: false }) {
            Phase::Idle { failed } => self.phase = Phase::Idle { failed },
            Phase::Connecting { op: connect_op, .. } => {
                self.outputs.push_back(Output::CloseTransport);
                self.complete(
                    connect_op,
                    Err(ErrorCode::ConnectFailed.with_message("disconnected while connecting")),
                );
            }
            Phase::Connected => {
                self.send(ClientMessage::Leave);
                self.outputs.push_back(Output::CloseTransport);
            }
            Phase::Reconnecting { .. } => self.outputs.push_back(Output::CloseTransport),
        }
        if was_joined {
            self.leave(DisconnectReason::ClientDisconnected);
        }
        if let Some(op) = op {
            self.complete(op, Ok(RequestReply::default()));
        }
    }

    /// Ends a joined session: report it, fail what waits, forget the view.
    fn leave(&mut self, reason: DisconnectReason) {
        self.set_phase(Phase::Idle { failed: false });
        for (_, (op, _)) in std::mem::take(&mut self.pending) {
            self.complete(
                op,
                Err(ErrorCode::NotConnected.with_message("the session was disconnected")),
            );
        }
        self.state = SessionState::default();
        self.emit(SessionEvent::SessionDisconnected(
            SessionDisconnectedEvent {
                session_id: self.session_id(),
                reason,
            },
        ));
    }

    fn request(&mut self, op: OpId, request: Request) {
        if let Request::Signal {
            signal_type, data, ..
        } = &request
        {
            if let Err(e) = otter_protocol::signal::validate(signal_type, data) {
                return self.complete(op, Err(e));
            }
        }
        let live = match self.phase {
            Phase::Connected => true,
            Phase::Reconnecting { .. } => false,
            _ => {
                return self.complete(
                    op,
                    Err(ErrorCode::NotConnected.with_message("the session is not connected")),
                )
            }
        };
        if self.pending.len() >= MAX_PENDING_REQUESTS {
            return self.complete(
                op,
                Err(ErrorCode::NotConnected.with_message("too many requests waiting for the link")),
            );
        }
        let id = self.next_request_id;
        self.next_request_id += 1;
        let message = ClientMessage::request(id, request);
        // While reconnecting the request waits; it goes out right after the resume.
        if live {
            self.send(message.clone());
        }
        self.pending.insert(id, (op, message));
    }

    fn transport_opened(&mut self, now: Instant) {
        self.last_heard = now;
        let hello = match &self.phase {
            Phase::Connecting { token, .. } => ClientMessage::Connect {
                version: PROTOCOL_VERSION,
                application_id: self.config.application_id.clone(),
                session_id: self.session_id(),
                token: token.clone(),
            },
            Phase::Reconnecting { .. } => match &self.state.connection {
                Some(c) => ClientMessage::Resume {
                    version: PROTOCOL_VERSION,
                    session_id: self.session_id(),
                    connection_id: c.connection_id.clone(),
                    resume_key: self.resume_key.clone(),
                },
                None => return,
            },
            _ => return,
        };
        self.send(hello);
    }

    fn transport_lost(&mut self, now: Instant) {
        match self.phase {
            Phase::Connecting { .. } => self.fail_connect(
                ErrorCode::ConnectFailed.with_message("could not reach the session server"),
            ),
            Phase::Connected => self.start_reconnecting(now),
            Phase::Reconnecting { .. } => self.schedule_retry(now),
            Phase::Idle { .. } => {}
        }
    }

    fn fail_connect(&mut self, error: OtError) {
        let Phase::Connecting { op, .. } =
            std::mem::replace(&mut self.phase, Phase::Idle { failed: true })
        else {
            return;
        };
        self.dirty = true;
        self.outputs.push_back(Output::CloseTransport);
        self.emit(SessionEvent::Error(ErrorEvent {
            session_id: Some(self.session_id()),
            error: error.clone(),
        }));
        self.complete(op, Err(error));
    }

    fn start_reconnecting(&mut self, now: Instant) {
        self.outputs.push_back(Output::CloseTransport);
        let window = self.server_window.min(self.config.reconnect_window);
        self.set_phase(Phase::Reconnecting {
            window_end: now + window,
            attempt: 0,
            next_try: None,
            try_deadline: None,
        });
        self.emit(SessionEvent::SessionReconnecting(SessionReconnectEvent {
            session_id: self.session_id(),
        }));
        self.schedule_retry(now);
    }

    /// The current attempt failed: close it and wait before the next one.
    fn schedule_retry(&mut self, now: Instant) {
        let sample = self.jitter.sample();
        let policy = self.config.reconnect_policy;
        if let Phase::Reconnecting {
            attempt,
            next_try,
            try_deadline,
            ..
        } = &mut self.phase
        {
            if try_deadline.is_some() {
                self.outputs.push_back(Output::CloseTransport);
            }
            *next_try = Some(now + policy.delay(*attempt, sample));
            *try_deadline = None;
            *attempt = attempt.saturating_add(1);
        }
    }

    /// Called when [`SessionCore::poll_timeout`] has passed.
    pub fn handle_timeout(&mut self, now: Instant) {
        match &mut self.phase {
            Phase::Idle { .. } => {}
            Phase::Connecting { deadline, .. } => {
                if now >= *deadline {
                    let secs = self.config.connect_timeout.as_secs_f32();
                    self.fail_connect(ErrorCode::ConnectFailed.with_message(format!(
                        "no answer from the session server within {secs:.1} s"
                    )));
                }
            }
            Phase::Connected => {
                if now >= self.last_heard + self.heartbeat_timeout {
                    tracing::debug!("heartbeat timeout: link lost");
                    self.start_reconnecting(now);
                } else if now >= self.next_ping {
                    self.next_ping = now + self.heartbeat_interval;
                    self.send(ClientMessage::Ping { ts: 0 });
                }
            }
            Phase::Reconnecting {
                window_end,
                next_try,
                try_deadline,
                ..
            } => {
                if now >= *window_end {
                    self.outputs.push_back(Output::CloseTransport);
                    self.leave(DisconnectReason::NetworkDisconnected);
                } else if try_deadline.is_some_and(|d| now >= d) {
                    self.schedule_retry(now);
                } else if next_try.is_some_and(|t| now >= t) {
                    *next_try = None;
                    *try_deadline = Some(now + self.config.reconnect_policy.attempt_timeout);
                    self.outputs.push_back(Output::OpenTransport);
                }
            }
        }
    }

    fn message(&mut self, now: Instant, message: ServerMessage) {
        self.last_heard = now;
        let Some(message) = self.assemble_snapshot(message) else {
            return;
        };
        match message {
            ServerMessage::Ping { ts } => self.send(ClientMessage::Pong { ts }),
            ServerMessage::Pong { .. } => {}
            ServerMessage::Connected {
                connection,
                role,
                connections,
                streams,
                resume_key,
                heartbeat_interval_ms,
                heartbeat_timeout_ms,
                reconnect_window_ms,
                ice_servers,
                ..
            } => {
                let Phase::Connecting { op, .. } = self.phase else {
                    return self.unexpected("connected");
                };
                self.resume_key = resume_key;
                // Server-supplied timers are clamped both ways: a hostile value must not overflow an
                // `Instant` (or make the client ping in a busy loop).
                self.heartbeat_interval =
                    Duration::from_millis(heartbeat_interval_ms.clamp(100, MAX_SERVER_TIMER_MS));
                self.heartbeat_timeout =
                    Duration::from_millis(heartbeat_timeout_ms.clamp(300, MAX_SERVER_TIMER_MS));
                self.server_window =
                    Duration::from_millis(reconnect_window_ms.min(MAX_SERVER_TIMER_MS));
                self.next_ping = now + self.heartbeat_interval;
                self.state = SessionState {
                    connection: Some(connection.clone()),
                    role: Some(role),
                    ice_servers: super::state::bounded(ice_servers),
                    ..Default::default()
                };
                self.set_phase(Phase::Connected);
                self.emit(SessionEvent::SessionConnected(SessionConnectedEvent {
                    session_id: self.session_id(),
                    connection,
                }));
                for c in connections {
                    self.apply(Change::ConnectionCreated(c));
                }
                for s in streams {
                    self.apply(Change::StreamCreated(s));
                }
                self.complete(op, Ok(RequestReply::default()));
            }
            ServerMessage::Resumed {
                connections,
                streams,
                ice_servers,
                ..
            } => {
                if !matches!(self.phase, Phase::Reconnecting { .. }) {
                    return self.unexpected("resumed");
                }
                self.state.ice_servers = super::state::bounded(ice_servers);
                self.next_ping = now + self.heartbeat_interval;
                self.set_phase(Phase::Connected);
                self.emit(SessionEvent::SessionReconnected(SessionReconnectEvent {
                    session_id: self.session_id(),
                }));
                let own = self
                    .state
                    .connection
                    .as_ref()
                    .map(|c| c.connection_id.clone());
                let others = connections
                    .into_iter()
                    .filter(|c| Some(&c.connection_id) != own.as_ref())
                    .collect();
                for change in self.state.catch_up(others, streams) {
                    self.report(change);
                }
                let resend: Vec<ClientMessage> =
                    self.pending.values().map(|(_, m)| m.clone()).collect();
                for m in resend {
                    self.send(m);
                }
            }
            ServerMessage::Error { error } => match self.phase {
                Phase::Connecting { .. } => self.fail_connect(error),
                Phase::Reconnecting { .. } => {
                    // The server refused the resume: the connection is gone (or was never ours). Not retried.
                    tracing::debug!(code = error.code, "resume refused");
                    self.outputs.push_back(Output::CloseTransport);
                    self.leave(DisconnectReason::NetworkDisconnected);
                }
                _ => self.emit(SessionEvent::Error(ErrorEvent {
                    session_id: Some(self.session_id()),
                    error,
                })),
            },
            ServerMessage::Disconnected { reason } => {
                if matches!(self.phase, Phase::Connected | Phase::Reconnecting { .. }) {
                    self.outputs.push_back(Output::CloseTransport);
                    self.leave(reason);
                }
            }
            ServerMessage::Reply {
                id,
                stream,
                sdp_answer,
                error,
            } => {
                if let Some((op, request)) = self.pending.remove(&id) {
                    // This client's own streams enter and leave the view here, without session events.
                    if let Some(s) = &stream {
                        self.state.add_stream(s.clone());
                        self.dirty = true;
                    }
                    let unpublished = match &request {
                        ClientMessage::Request(Envelope {
                            request: Request::Unpublish { stream_id },
                            ..
                        }) => Some(stream_id),
                        _ => None,
                    };
                    if let (Some(stream_id), None) = (unpublished, &error) {
                        self.state.streams.retain(|s| &s.stream_id != stream_id);
                        self.dirty = true;
                    }
                    self.complete(
                        op,
                        error.map_or(Ok(RequestReply { stream, sdp_answer }), Err),
                    );
                }
            }
            ServerMessage::ConnectionCreated { connection } => {
                self.apply(Change::ConnectionCreated(connection))
            }
            ServerMessage::ConnectionDestroyed { connection, reason } => {
                self.apply(Change::ConnectionDestroyed(connection, reason))
            }
            ServerMessage::StreamCreated { stream } => self.apply(Change::StreamCreated(stream)),
            ServerMessage::StreamDestroyed { stream, reason } => {
                self.apply(Change::StreamDestroyed(stream, reason))
            }
            ServerMessage::StreamPropertyChanged { stream, change } => {
                self.state.replace_stream(stream.clone());
                self.dirty = true;
                self.emit(SessionEvent::StreamPropertyChanged(
                    StreamPropertyChangedEvent {
                        session_id: self.session_id(),
                        stream,
                        change,
                    },
                ));
            }
            ServerMessage::Signal {
                signal_type,
                data,
                from,
            } => {
                self.emit(SessionEvent::Signal(SignalEvent {
                    session_id: self.session_id(),
                    signal_type,
                    data,
                    from,
                }));
            }
            ServerMessage::LayersWanted { stream_id, layers } => {
                self.state.set_layers_wanted(stream_id, layers);
                self.dirty = true;
            }
            ServerMessage::MuteForced { active, stream_id } => {
                self.emit(SessionEvent::MuteForced(MuteForcedEvent {
                    session_id: self.session_id(),
                    active,
                    stream_id,
                }));
            }
            _ => self.unexpected("an unknown message"),
        }
    }

    /// Applies server news to the view and reports it if it changed something.
    fn apply(&mut self, change: Change) {
        let changed = match &change {
            Change::ConnectionCreated(c) => self.state.add_connection(c.clone()),
            Change::ConnectionDestroyed(c, _) => self.state.remove_connection(c),
            Change::StreamCreated(s) => self.state.add_stream(s.clone()),
            Change::StreamDestroyed(s, _) => self.state.remove_stream(s),
        };
        if changed {
            self.report(change);
        }
    }

    fn report(&mut self, change: Change) {
        self.dirty = true;
        let session_id = self.session_id();
        let suppressed = self.config.connection_events_suppressed;
        let own = self.state.connection.as_ref().map(|c| &c.connection_id);
        let event = match change {
            // Session events are about other clients; this client's streams are its publishers' business.
            Change::StreamCreated(s) | Change::StreamDestroyed(s, _)
                if Some(&s.connection.connection_id) == own =>
            {
                return
            }
            Change::ConnectionCreated(_) | Change::ConnectionDestroyed(..) if suppressed => return,
            Change::ConnectionCreated(connection) => {
                SessionEvent::ConnectionCreated(ConnectionEvent {
                    session_id,
                    connection,
                })
            }
            Change::ConnectionDestroyed(connection, reason) => {
                SessionEvent::ConnectionDestroyed(ConnectionDestroyedEvent {
                    session_id,
                    connection,
                    reason,
                })
            }
            Change::StreamCreated(stream) => {
                SessionEvent::StreamCreated(StreamEvent { session_id, stream })
            }
            Change::StreamDestroyed(stream, reason) => {
                SessionEvent::StreamDestroyed(StreamDestroyedEvent {
                    session_id,
                    stream,
                    reason,
                })
            }
        };
        self.emit(event);
    }

    pub(super) fn unexpected(&mut self, what: &str) {
        let error = ErrorCode::UnexpectedServerResponse
            .with_message(format!("the server sent {what} out of turn"));
        self.emit(SessionEvent::Error(ErrorEvent {
            session_id: Some(self.session_id()),
            error,
        }));
    }
}
