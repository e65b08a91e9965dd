//! The harness the component tests share: a root component whose `OTSession` props a test can change,
//! and a driver for the headless `VirtualDom`.
#![allow(dead_code)]

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use dioxus::dioxus_core::NoOpMutations;
use otter_dioxus::prelude::*;
use otter_rtc::{ErrorEvent, SessionOptions};

pub const WAIT: Duration = Duration::from_secs(10);

#[derive(Clone)]
pub struct RootProps {
    pub session_id: String,
    pub token: String,
    pub options: SessionOptions,
    pub log: Rc<RefCell<Vec<String>>>,
    /// What the root renders now; the test changes it and marks the root dirty.
    pub live: Rc<RefCell<Live>>,
}

/// The props a test changes on a mounted `OTSession`.
#[derive(Clone, Default)]
pub struct Live {
    /// Replaces session ID and token when set.
    pub identity: Option<(String, String)>,
    pub signal: Option<SignalRequest>,
    /// Which handler set is current (a new set = new closures).
    pub handler_set: u32,
    /// What `use_session_state` under the session last counted (people in the call).
    pub people: Rc<std::cell::Cell<usize>>,
}

/// Counts the people in the call with `use_session_state`, into `people`.
#[component]
fn PeopleProbe(people: Rc<std::cell::Cell<usize>>) -> Element {
    let n = use_session_state(|s| s.connections.len() + usize::from(s.connection.is_some()));
    people.set(n());
    rsx! {}
}

pub fn root(props: RootProps) -> Element {
    let log = props.log.clone();
    let live = props.live.borrow().clone();
    let set = live.handler_set;
    let (session_id, token) = live
        .identity
        .clone()
        .unwrap_or((props.session_id.clone(), props.token.clone()));
    let handlers = SessionEventHandlers::default()
        .session_connected({
            let log = log.clone();
            move |e: SessionConnectedEvent| {
                log.borrow_mut()
                    .push(format!("session_connected {}", e.connection.connection_id))
            }
        })
        .session_disconnected({
            let log = log.clone();
            move |e: SessionDisconnectedEvent| {
                log.borrow_mut()
                    .push(format!("session_disconnected {:?}", e.reason))
            }
        })
        .error({
            let log = log.clone();
            move |e: ErrorEvent| {
                log.borrow_mut()
                    .push(format!("error {} {}", e.error.code, e.error.name))
            }
        })
        .signal({
            let log = log.clone();
            move |e: SignalEvent| {
                log.borrow_mut()
                    .push(format!("signal {} (handler set {set})", e.data))
            }
        })
        .connection_created({
            let log = log.clone();
            move |e: ConnectionEvent| {
                log.borrow_mut()
                    .push(format!("connection_created {}", e.connection.connection_id))
            }
        })
        .connection_destroyed(move |_| log.borrow_mut().push("connection_destroyed".into()));
    rsx! {
        OTSession {
            application_id: "100200",
            session_id: session_id,
            token: token,
            options: props.options.clone(),
            signal: live.signal.clone(),
            event_handlers: handlers,
            PeopleProbe { people: live.people.clone() }
        }
    }
}

/// Runs the DOM's work until `done` holds (alternating `wait_for_work` and renders, as Dioxus 0.7 needs).
pub async fn drive(dom: &mut VirtualDom, what: &str, done: impl Fn() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < WAIT, "timed out waiting for {what}");
        tokio::select! {
            _ = dom.wait_for_work() => {}
            _ = tokio::time::sleep(Duration::from_millis(20)) => {}
        }
        dom.render_immediate(&mut NoOpMutations);
    }
}

/// Waits until the server has no connections left, then a little more for background teardown.
pub async fn settle(server: &otter_server::RunningServer, what: &str) {
    let start = Instant::now();
    while server.state().metrics.connections.get() != 0 {
        assert!(
            start.elapsed() < WAIT,
            "{what}: connections left on the server"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
}

/// A real server on loopback with one project and a session, and tokens for it.
pub struct Fixture {
    pub server: otter_server::RunningServer,
    pub project: otter_server::Project,
    pub session: otter_rtc::SessionId,
}

impl Fixture {
    pub async fn start() -> Self {
        let config = otter_server::ServerConfig::with_project("100200", "component-secret");
        let project = config.projects[0].clone();
        let server = otter_server::start(config, otter_server::ListenOptions::default())
            .await
            .expect("server starts");
        let session = otter_server::session_ids::new_session_id(&project, "");
        Self {
            server,
            project,
            session,
        }
    }

    /// A publisher token for this fixture's session.
    pub fn token(&self) -> String {
        self.token_for(&self.session)
    }

    /// A publisher token for `session`.
    pub fn token_for(&self, session: &otter_rtc::SessionId) -> String {
        use otter_server::tokens::{self, TokenFormat, TokenOptions};
        let options = TokenOptions {
            role: otter_rtc::Role::Publisher,
            ..Default::default()
        };
        tokens::mint(
            &self.project,
            session,
            &options,
            TokenFormat::Jwt,
            otter_server::clock::unix_secs(),
        )
        .expect("a valid token")
    }

    /// Another session of the same project.
    pub fn new_session(&self) -> otter_rtc::SessionId {
        otter_server::session_ids::new_session_id(&self.project, "")
    }

    pub fn options(&self) -> SessionOptions {
        SessionOptions::with_api_url(self.server.url())
    }
}
