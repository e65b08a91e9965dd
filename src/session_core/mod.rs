//! The session logic as a sans-IO state machine.
//!
//! [`SessionCore`] never reads a clock or touches a socket. Its driver feeds it [`Input`]s with the current
//! time ([`SessionCore::handle_input`], [`SessionCore::handle_timeout`]), drains [`Output`]s
//! ([`SessionCore::poll_output`]) — open or close the transport, send a message, report an event,
//! complete a user operation — and sleeps until [`SessionCore::poll_timeout`]. Heartbeats, the connect
//! timeout, reconnect backoff and the reconnect window are therefore tested with simulated time.

// The transitions (`machine.rs`) and the roster assembly (`snapshot.rs`) are the rest of
// `SessionCore`'s `impl`.
mod machine;
mod reconnect;
mod snapshot;
mod state;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use otter_protocol::{ClientMessage, OtError, ServerMessage, SessionId, Stream};

/// A request to the server that expects a reply: the protocol's own vocabulary, passed through.
pub use otter_protocol::Request;

pub use reconnect::{Jitter, ReconnectPolicy};
pub use state::SessionState;

use crate::events::SessionEvent;

/// Identifies a user operation (connect, disconnect, signal…) so its result can be routed back.
pub type OpId = u64;

/// What the server answered to a request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestReply {
    /// The stream created, for a publish.
    pub stream: Option<Stream>,
    /// The SDP answer, for a publish with an offer or a subscribe.
    pub sdp_answer: Option<String>,
}

/// What a completed operation yields.
pub type OpResult = Result<RequestReply, OtError>;

/// Where a session is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SessionStatus {
    /// Not connected (never, or after leaving or losing the session).
    #[default]
    NotConnected,
    /// Connecting for the first time.
    Connecting,
    /// Connected.
    Connected,
    /// The link dropped; trying to resume it.
    Reconnecting,
    /// Leaving.
    Disconnecting,
    /// The last connect failed.
    Failed,
}

/// Something that happened, for the core to act on.
// An input lives for one `handle_input` call, on the stack: boxing the message would cost an
// allocation per message to save a few hundred bytes of stack.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// The user connects with a token.
    Connect {
        /// Completed when connected or failed.
        op: OpId,
        /// The token.
        token: String,
    },
    /// The user disconnects (`op` None: the last handle went away).
    Disconnect {
        /// Completed when done.
        op: Option<OpId>,
    },
    /// The user asks the server for something.
    Request {
        /// Completed with the server's reply.
        op: OpId,
        /// What.
        request: Request,
    },
    /// The transport asked for by [`Output::OpenTransport`] is open.
    TransportOpened,
    /// It could not be opened.
    TransportFailed,
    /// The open transport closed or failed.
    TransportClosed,
    /// A message arrived.
    Message(ServerMessage),
}

/// Something the driver must do.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// Open a new transport (closing any old one first).
    OpenTransport,
    /// Close the transport, or abandon opening it.
    CloseTransport,
    /// Send a message over the open transport.
    Send(ClientMessage),
    /// Report an event to the application.
    Event(SessionEvent),
    /// A user operation finished.
    Complete {
        /// Which.
        op: OpId,
        /// How.
        result: OpResult,
    },
}

/// Fixed settings of a core.
#[derive(Debug, Clone)]
pub struct CoreConfig {
    /// The application ID (API key) sent with the token.
    pub application_id: String,
    /// The session.
    pub session_id: SessionId,
    /// How long a first connect may take.
    pub connect_timeout: Duration,
    /// How long to try to resume (capped by the server's window).
    pub reconnect_window: Duration,
    /// No `connection_created` / `connection_destroyed` events.
    pub connection_events_suppressed: bool,
    /// Backoff between resume attempts.
    pub reconnect_policy: ReconnectPolicy,
    /// Seeds the jitter of the backoff.
    pub jitter_seed: u64,
}

/// Requests kept while waiting for their reply; beyond this a request fails with 1010 at once.
const MAX_PENDING_REQUESTS: usize = 1024;

/// The phases of a session's life.
#[derive(Debug)]
enum Phase {
    Idle {
        failed: bool,
    },
    Connecting {
        op: OpId,
        token: String,
        deadline: Instant,
    },
    Connected,
    Reconnecting {
        window_end: Instant,
        attempt: u32,
        next_try: Option<Instant>,
        try_deadline: Option<Instant>,
    },
}

/// The session state machine. See the module docs.
pub struct SessionCore {
    config: CoreConfig,
    phase: Phase,
    /// The view of the session: own connection, others, streams. Kept across reconnects.
    state: SessionState,
    resume_key: String,
    heartbeat_interval: Duration,
    heartbeat_timeout: Duration,
    server_window: Duration,
    last_heard: Instant,
    next_ping: Instant,
    /// Requests by wire ID, in send order; resent after a resume (their replies may have been lost).
    pending: BTreeMap<u64, (OpId, ClientMessage)>,
    next_request_id: u64,
    jitter: Jitter,
    outputs: VecDeque<Output>,
    /// Set when the view changed, so the driver republishes its snapshot.
    dirty: bool,
    /// A `connected`/`resumed` whose roster is still arriving in `roster` frames; acted on when whole.
    snapshot: Option<ServerMessage>,
}
