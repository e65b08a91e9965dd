//! The public session handle (API.md §2.3 and §9).

use std::sync::{Arc, Mutex};

use otter_protocol::{
    Connection, ConnectionId, ErrorCode, OtError, Role, SessionId, Stream, StreamId,
};
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tracing::Instrument;

use crate::driver::{Command, Driver};
use crate::event_stream::EventStream;
use crate::events::{ErrorEvent, SessionEvent};
use crate::options::{signal_url, SessionOptions};
use crate::session_core::{
    CoreConfig, OpResult, ReconnectPolicy, Request, RequestReply, SessionCore, SessionState,
    SessionStatus,
};

/// Events buffered per receiver before a slow one starts missing them.
const EVENT_BUFFER: usize = 1024;
/// Commands queued for the driver.
const COMMAND_BUFFER: usize = 256;

/// A signal to send (the `signal` prop and [`Session::signal`]). Compared by value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct SignalRequest {
    /// The type (≤ 128 bytes of `A-Z a-z 0-9 - _ ~`; may be empty).
    pub signal_type: String,
    /// The data (≤ 8 192 bytes).
    pub data: String,
    /// One connection, or None for everyone (the sender included).
    pub to: Option<ConnectionId>,
}

impl SignalRequest {
    /// A signal to everyone.
    pub fn new(signal_type: impl Into<String>, data: impl Into<String>) -> Self {
        Self {
            signal_type: signal_type.into(),
            data: data.into(),
            to: None,
        }
    }

    /// The same signal, to one connection.
    pub fn to(mut self, connection_id: ConnectionId) -> Self {
        self.to = Some(connection_id);
        self
    }
}

/// What this client's token allows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Capabilities {
    /// May publish.
    pub can_publish: bool,
    /// May subscribe.
    pub can_subscribe: bool,
    /// May force-mute others.
    pub can_force_mute: bool,
    /// May force-disconnect others.
    pub can_force_disconnect: bool,
}

impl Capabilities {
    fn of(role: Option<Role>) -> Self {
        match role {
            None => Self::default(),
            Some(r) => Self {
                can_publish: r.can_publish(),
                can_subscribe: r.can_subscribe(),
                can_force_mute: r.is_moderator(),
                can_force_disconnect: r.is_moderator(),
            },
        }
    }
}

/// A session: a cheap, clonable handle on a driver task. See the crate docs.
///
/// Dropping the last handle leaves the session (as [`Session::disconnect`] would) in the background.
#[derive(Clone)]
pub struct Session {
    inner: Arc<Inner>,
}

struct Inner {
    application_id: String,
    session_id: String,
    options: SessionOptions,
    commands: mpsc::Sender<Command>,
    /// The driver's halves, taken by the first `connect` (the driver needs a runtime to start).
    unstarted: Mutex<Option<(mpsc::Receiver<Command>, watch::Sender<SessionState>)>>,
    events: broadcast::Sender<SessionEvent>,
    snapshot: watch::Receiver<SessionState>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("session_id", &self.inner.session_id)
            .field("status", &self.status())
            .finish()
    }
}

impl Session {
    /// A session object; it does not connect until [`Session::connect`].
    pub fn init(
        application_id: impl Into<String>,
        session_id: impl Into<String>,
        options: SessionOptions,
    ) -> Self {
        let (commands, command_rx) = mpsc::channel(COMMAND_BUFFER);
        let (snapshot_tx, snapshot) = watch::channel(SessionState::default());
        Self {
            inner: Arc::new(Inner {
                application_id: application_id.into(),
                session_id: session_id.into(),
                options,
                commands,
                unstarted: Mutex::new(Some((command_rx, snapshot_tx))),
                events: broadcast::channel(EVENT_BUFFER).0,
                snapshot,
            }),
        }
    }

    /// The events of this session from now on. Subscribe before connecting to see `session_connected`.
    pub fn events(&self) -> EventStream<SessionEvent> {
        EventStream::new(self.inner.events.subscribe())
    }

    /// The options given to [`Session::init`].
    pub fn options(&self) -> &SessionOptions {
        &self.inner.options
    }

    /// The session ID as given to [`Session::init`].
    pub fn session_id(&self) -> &str {
        &self.inner.session_id
    }

    /// Connects with `token`. Resolves once connected, or with the error (also reported as an
    /// `error` event): 1011 for empty credentials, 1005 for a malformed session ID, 1004 for a refused
    /// token, 1006 when the server cannot be reached within the connect timeout.
    pub async fn connect(&self, token: &str) -> Result<(), OtError> {
        let inner = &self.inner;
        let session_id = match self.validate(token) {
            Ok(id) => id,
            Err(event) => {
                let error = event.error.clone();
                let _ = inner.events.send(SessionEvent::Error(*event));
                return Err(error);
            }
        };
        self.start_driver(session_id)?;
        self.ask(|reply| Command::Connect {
            token: token.to_owned(),
            reply,
        })
        .await
        .map(|_| ())
    }

    /// Checks what can be checked without the server; a refusal comes as the event to report.
    fn validate(&self, token: &str) -> Result<SessionId, Box<ErrorEvent>> {
        let inner = &self.inner;
        let refuse = |session_id, error| Box::new(ErrorEvent { session_id, error });
        if inner.application_id.trim().is_empty()
            || inner.session_id.trim().is_empty()
            || token.trim().is_empty()
        {
            let e = ErrorCode::InvalidParameter
                .with_message("application ID, session ID and token must not be empty");
            return Err(refuse(None, e));
        }
        let id = SessionId::new(inner.session_id.as_str()).map_err(|e| {
            let e = ErrorCode::InvalidSessionId.with_message(format!("invalid session ID: {e}"));
            refuse(None, e)
        })?;
        signal_url(&inner.options.api_url).map_err(|e| {
            refuse(
                Some(id.clone()),
                ErrorCode::InvalidParameter.with_message(e),
            )
        })?;
        Ok(id)
    }

    fn start_driver(&self, session_id: SessionId) -> Result<(), OtError> {
        let inner = &self.inner;
        let Some((commands, snapshot)) = inner
            .unstarted
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        else {
            return Ok(());
        };
        let options = &inner.options;
        let config = CoreConfig {
            application_id: inner.application_id.clone(),
            session_id: session_id.clone(),
            connect_timeout: options.connect_timeout,
            reconnect_window: options.reconnect_window,
            connection_events_suppressed: options.connection_events_suppressed,
            reconnect_policy: ReconnectPolicy::default(),
            jitter_seed: rand::random(),
        };
        let driver = Driver {
            core: SessionCore::new(config, std::time::Instant::now()),
            url: signal_url(&options.api_url)
                .map_err(|e| ErrorCode::InvalidParameter.with_message(e))?,
            commands,
            events: inner.events.clone(),
            snapshot,
        };
        let span = tracing::info_span!("session", id = %session_id);
        tokio::spawn(driver.run().instrument(span));
        Ok(())
    }

    async fn ask(&self, make: impl FnOnce(oneshot::Sender<OpResult>) -> Command) -> OpResult {
        let not_connected = || ErrorCode::NotConnected.with_message("the session is not connected");
        if self
            .inner
            .unstarted
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some()
        {
            return Err(not_connected());
        }
        let (reply, answer) = oneshot::channel();
        self.inner
            .commands
            .send(make(reply))
            .await
            .map_err(|_| not_connected())?;
        answer.await.map_err(|_| not_connected())?
    }

    /// Leaves the session: the others see `connection_destroyed` (`ClientDisconnected`) at once.
    pub async fn disconnect(&self) {
        let _ = self.ask(|reply| Command::Disconnect { reply }).await;
    }

    /// Sends a signal. Fails with 400/413 for a bad type or data, 404 for an unknown target, 429 when
    /// sending too fast, 403 for a role that may not signal, 1010 when not connected. While reconnecting,
    /// it is sent after the resume.
    pub async fn signal(&self, signal: SignalRequest) -> Result<(), OtError> {
        let request = Request::Signal {
            to: signal.to,
            signal_type: signal.signal_type,
            data: signal.data,
        };
        self.send_request(request).await.map(|_| ())
    }

    /// Sends any request to the server and waits for its reply (the media layer's way in). Not part of
    /// the contract: apps publish, subscribe and signal through the typed methods; tests use this to
    /// send what a hostile client would (the server authorizes every request itself).
    #[doc(hidden)]
    pub async fn send_request(&self, request: Request) -> Result<RequestReply, OtError> {
        self.ask(|reply| Command::Request { request, reply }).await
    }

    /// Publishes audio and video into the session (API.md §3). Resolves once media flows to the server;
    /// a missing device is reported as a publisher `error` event and the other track is still published.
    pub async fn publish(
        &self,
        properties: crate::PublisherProperties,
    ) -> Result<crate::Publisher, OtError> {
        crate::Publisher::start(self.clone(), properties).await
    }

    /// Receives `stream`'s media (API.md §4). Resolves once media flows from the server.
    pub async fn subscribe(
        &self,
        stream: &Stream,
        properties: crate::SubscriberProperties,
    ) -> Result<crate::Subscriber, OtError> {
        crate::Subscriber::start(self.clone(), stream.clone(), properties).await
    }

    /// Moderator: removes a connection from the session (1520 without the role).
    pub async fn force_disconnect(&self, connection_id: ConnectionId) -> Result<(), OtError> {
        self.send_request(Request::ForceDisconnect { connection_id })
            .await
            .map(|_| ())
    }

    /// Moderator: mutes every stream but `excluded_stream_ids` (1530 without the role).
    pub async fn force_mute_all(&self, excluded_stream_ids: Vec<StreamId>) -> Result<(), OtError> {
        let request = Request::ForceMute {
            stream_id: None,
            excluded_stream_ids,
            active: true,
        };
        self.send_request(request).await.map(|_| ())
    }

    /// Moderator: mutes one stream.
    pub async fn force_mute_stream(&self, stream_id: StreamId) -> Result<(), OtError> {
        let request = Request::ForceMute {
            stream_id: Some(stream_id),
            excluded_stream_ids: Vec::new(),
            active: true,
        };
        self.send_request(request).await.map(|_| ())
    }

    /// Moderator: lifts a mute-all.
    pub async fn disable_force_mute(&self) -> Result<(), OtError> {
        let request = Request::ForceMute {
            stream_id: None,
            excluded_stream_ids: Vec::new(),
            active: false,
        };
        self.send_request(request).await.map(|_| ())
    }

    /// Where the session is.
    pub fn status(&self) -> SessionStatus {
        self.inner.snapshot.borrow().status
    }

    /// This client's connection, once connected.
    pub fn connection(&self) -> Option<Connection> {
        self.inner.snapshot.borrow().connection.clone()
    }

    /// The other connections.
    pub fn connections(&self) -> Vec<Connection> {
        self.inner.snapshot.borrow().connections.clone()
    }

    /// The streams in the session (this client's own included).
    pub fn streams(&self) -> Vec<Stream> {
        self.inner.snapshot.borrow().streams.clone()
    }

    /// What the token's role allows (all false until connected).
    pub fn capabilities(&self) -> Capabilities {
        Capabilities::of(self.inner.snapshot.borrow().role)
    }

    /// A receiver of every change of the session's state (for UIs that re-render on change).
    pub fn watch_state(&self) -> watch::Receiver<SessionState> {
        self.inner.snapshot.clone()
    }
}
