//! What a session reports (API.md §2.2): one enum, delivered on a broadcast channel.

use otter_protocol::{
    Connection, DisconnectReason, OtError, SessionId, Stream, StreamChange, StreamDestroyedReason,
    StreamId,
};

/// `session_connected`: this client joined.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionConnectedEvent {
    /// The session.
    pub session_id: SessionId,
    /// This client's connection.
    pub connection: Connection,
}

/// `session_disconnected`: this client left or lost the session.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionDisconnectedEvent {
    /// The session.
    pub session_id: SessionId,
    /// Why.
    pub reason: DisconnectReason,
}

/// `session_reconnecting` / `session_reconnected`.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionReconnectEvent {
    /// The session.
    pub session_id: SessionId,
}

/// `connection_created`: another client joined (or was there when this one joined).
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectionEvent {
    /// The session.
    pub session_id: SessionId,
    /// The other client's connection.
    pub connection: Connection,
}

/// `connection_destroyed`: another client left.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectionDestroyedEvent {
    /// The session.
    pub session_id: SessionId,
    /// The connection that left.
    pub connection: Connection,
    /// Why.
    pub reason: DisconnectReason,
}

/// `stream_created`: another client's stream appeared.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamEvent {
    /// The session.
    pub session_id: SessionId,
    /// The stream.
    pub stream: Stream,
}

/// `stream_destroyed`.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamDestroyedEvent {
    /// The session.
    pub session_id: SessionId,
    /// The stream that ended.
    pub stream: Stream,
    /// Why.
    pub reason: StreamDestroyedReason,
}

/// `stream_property_changed`.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamPropertyChangedEvent {
    /// The session.
    pub session_id: SessionId,
    /// The stream after the change.
    pub stream: Stream,
    /// Which property changed, from what, to what; [`StreamChange::name`] is OpenTok's
    /// `changedProperty` in snake case.
    pub change: StreamChange,
}

/// `signal`.
#[derive(Debug, Clone, PartialEq)]
pub struct SignalEvent {
    /// The session.
    pub session_id: SessionId,
    /// Its type.
    pub signal_type: String,
    /// Its data.
    pub data: String,
    /// The sender; None = the server (REST API).
    pub from: Option<Connection>,
}

/// `mute_forced`.
#[derive(Debug, Clone, PartialEq)]
pub struct MuteForcedEvent {
    /// The session.
    pub session_id: SessionId,
    /// true = muted; false = a mute-all was lifted.
    pub active: bool,
    /// For a single-stream mute, the stream (this client's); None = all streams.
    pub stream_id: Option<StreamId>,
}

/// `error`.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorEvent {
    /// The session (None when its ID was malformed).
    pub session_id: Option<SessionId>,
    /// What failed.
    pub error: OtError,
}

/// Everything a session reports.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum SessionEvent {
    /// See [`SessionConnectedEvent`].
    SessionConnected(SessionConnectedEvent),
    /// See [`SessionDisconnectedEvent`].
    SessionDisconnected(SessionDisconnectedEvent),
    /// The link dropped; retrying.
    SessionReconnecting(SessionReconnectEvent),
    /// The link is back, same connection.
    SessionReconnected(SessionReconnectEvent),
    /// See [`ConnectionEvent`].
    ConnectionCreated(ConnectionEvent),
    /// See [`ConnectionDestroyedEvent`].
    ConnectionDestroyed(ConnectionDestroyedEvent),
    /// See [`StreamEvent`].
    StreamCreated(StreamEvent),
    /// See [`StreamDestroyedEvent`].
    StreamDestroyed(StreamDestroyedEvent),
    /// See [`StreamPropertyChangedEvent`].
    StreamPropertyChanged(StreamPropertyChangedEvent),
    /// See [`SignalEvent`].
    Signal(SignalEvent),
    /// See [`MuteForcedEvent`].
    MuteForced(MuteForcedEvent),
    /// See [`ErrorEvent`].
    Error(ErrorEvent),
}

impl SessionEvent {
    /// The event's key in `SessionEventHandlers` and in the CLI's JSON lines, e.g. `session_connected`.
    pub fn name(&self) -> &'static str {
        match self {
            SessionEvent::SessionConnected(_) => "session_connected",
            SessionEvent::SessionDisconnected(_) => "session_disconnected",
            SessionEvent::SessionReconnecting(_) => "session_reconnecting",
            SessionEvent::SessionReconnected(_) => "session_reconnected",
            SessionEvent::ConnectionCreated(_) => "connection_created",
            SessionEvent::ConnectionDestroyed(_) => "connection_destroyed",
            SessionEvent::StreamCreated(_) => "stream_created",
            SessionEvent::StreamDestroyed(_) => "stream_destroyed",
            SessionEvent::StreamPropertyChanged(_) => "stream_property_changed",
            SessionEvent::Signal(_) => "signal",
            SessionEvent::MuteForced(_) => "mute_forced",
            SessionEvent::Error(_) => "error",
        }
    }
}
