//! Shared pieces of the end-to-end tests: a real server on loopback, token minting, waiting for events,
//! and a fault-injecting TCP proxy.
#![allow(dead_code)]

pub mod proxy;
pub mod turn;

use std::time::Duration;

use otter_protocol::{Role, SessionId};
use otter_rtc::{Session, SessionEvent, SessionOptions};
use otter_server::tokens::{self, TokenFormat, TokenOptions};
use otter_server::{Limits, ListenOptions, RunningServer, ServerConfig};

/// How long a test waits for an event before failing. Generous: CI machines are slow.
pub const WAIT: Duration = Duration::from_secs(10);

pub const API_KEY: &str = "100200";
pub const API_SECRET: &str = "test-secret-0123456789";

pub struct TestServer {
    pub server: RunningServer,
}

impl TestServer {
    pub async fn start() -> Self {
        Self::with_limits(Limits::default()).await
    }

    /// A server that also accepts media over ICE-TCP (on a free port).
    pub async fn with_ice_tcp() -> Self {
        let mut config = ServerConfig::with_project(API_KEY, API_SECRET);
        config.media.tcp_port = Some(0);
        Self::with_config(config).await
    }

    pub async fn with_limits(limits: Limits) -> Self {
        let mut config = ServerConfig::with_project(API_KEY, API_SECRET);
        config.limits = limits;
        Self::with_config(config).await
    }

    pub async fn with_config(config: ServerConfig) -> Self {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_env("OTTER_LOG"))
            .with_test_writer()
            .try_init();
        let server = otter_server::start(config, ListenOptions::default())
            .await
            .expect("server starts");
        Self { server }
    }

    pub fn url(&self) -> String {
        self.server.url()
    }

    pub fn new_session_id(&self) -> SessionId {
        otter_server::session_ids::new_session_id(&self.server.state().config.projects[0], "")
    }

    pub fn token(&self, session: &SessionId, role: Role, data: &str) -> String {
        self.token_as(session, role, data, TokenFormat::Jwt)
    }

    pub fn token_as(
        &self,
        session: &SessionId,
        role: Role,
        data: &str,
        format: TokenFormat,
    ) -> String {
        let options = TokenOptions {
            role,
            data: data.into(),
            ..Default::default()
        };
        tokens::mint(
            &self.server.state().config.projects[0],
            session,
            &options,
            format,
            otter_server::clock::unix_secs(),
        )
        .unwrap()
    }

    pub fn options(&self) -> SessionOptions {
        SessionOptions::with_api_url(self.url())
    }

    /// A client connected to `session` with a fresh token of `role`.
    pub async fn client(&self, session: &SessionId, role: Role, data: &str) -> Client {
        self.client_with(session, role, data, self.options()).await
    }

    pub async fn client_with(
        &self,
        session: &SessionId,
        role: Role,
        data: &str,
        options: SessionOptions,
    ) -> Client {
        let s = Session::init(API_KEY, session.as_str(), options);
        let events = s.events();
        s.connect(&self.token(session, role, data))
            .await
            .expect("connects");
        Client { session: s, events }
    }
}

pub struct Client {
    pub session: Session,
    pub events: otter_rtc::EventStream<otter_rtc::SessionEvent>,
}

impl Client {
    /// Waits for the first event matching `pick`, skipping others; fails the test naming `what`.
    pub async fn wait<T>(
        &mut self,
        what: &str,
        mut pick: impl FnMut(&SessionEvent) -> Option<T>,
    ) -> T {
        first(&mut self.events, |e| pick(&e))
            .await
            .unwrap_or_else(|| panic!("no {what} within {WAIT:?}"))
    }

    /// Collects the events that arrive within `d`.
    pub async fn drain_for(&mut self, d: Duration) -> Vec<SessionEvent> {
        let mut out = Vec::new();
        let _ = tokio::time::timeout(d, async {
            while let Some(e) = self.events.recv().await {
                out.push(e);
            }
        })
        .await;
        out
    }

    pub fn id(&self) -> otter_rtc::ConnectionId {
        self.session.connection().expect("connected").connection_id
    }
}

/// The first event on `events` (a session's, a publisher's or a subscriber's) that `pick` accepts,
/// within `WAIT`; None if none came or the stream ended.
pub async fn first<E: Clone + Send + 'static, T>(
    events: &mut otter_rtc::EventStream<E>,
    mut pick: impl FnMut(E) -> Option<T>,
) -> Option<T> {
    let found = tokio::time::timeout(WAIT, async {
        while let Some(e) = events.recv().await {
            if let Some(t) = pick(e) {
                return Some(t);
            }
        }
        None
    });
    found.await.ok().flatten()
}

/// A small moving test pattern and a tone: cheap media for tests that need a real publisher.
pub fn small_pattern() -> otter_rtc::PublisherProperties {
    otter_rtc::PublisherProperties {
        video_source: otter_rtc::VideoSourceChoice::TestPattern,
        audio_source: otter_rtc::AudioSourceChoice::Tone(440.0),
        resolution: (160, 120),
        frame_rate: 10,
        ..Default::default()
    }
}
