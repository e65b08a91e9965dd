//! `OTSession` headless (a `VirtualDom`, no renderer) against an in-process server and the real engine.

mod common;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use common::*;
use dioxus::dioxus_core::{NoOpMutations, ScopeId};
use otter_dioxus::prelude::*;
use otter_rtc::{DisconnectReason, Session, SessionEvent, SessionOptions};

#[tokio::test]
async fn mounting_connects_and_unmounting_leaves_without_calling_handlers() {
    let fixture = Fixture::start().await;
    let (server, sid) = (&fixture.server, fixture.session.clone());
    let token = || fixture.token();
    let options = SessionOptions::with_api_url(server.url());

    let log = Rc::new(RefCell::new(Vec::new()));
    let props = RootProps {
        session_id: sid.to_string(),
        token: token(),
        options: options.clone(),
        log: log.clone(),
        live: Default::default(),
    };
    let mut dom = VirtualDom::new_with_props(root, props);
    dom.rebuild_in_place();
    drive(&mut dom, "session_connected", || {
        log.borrow()
            .iter()
            .any(|l| l.starts_with("session_connected"))
    })
    .await;

    // A second client sees the component's connection, and the component sees it.
    let other = Session::init("100200", sid.as_str(), options);
    let mut events = other.events();
    other.connect(&token()).await.unwrap();
    let other_id = other.connection().unwrap().connection_id;
    drive(&mut dom, "connection_created", || {
        log.borrow()
            .iter()
            .any(|l| l == &format!("connection_created {other_id}"))
    })
    .await;
    let component_id = log.borrow()[0]
        .trim_start_matches("session_connected ")
        .to_owned();

    // Unmount: the other client sees a clean leave within a second; no handler runs afterwards.
    let calls = log.borrow().len();
    let unmounted = Instant::now();
    drop(dom);
    let reason = tokio::time::timeout(WAIT, async {
        while let Some(e) = events.recv().await {
            if let SessionEvent::ConnectionDestroyed(d) = e {
                if d.connection.connection_id.as_str() == component_id {
                    return d.reason;
                }
            }
        }
        panic!("events ended");
    })
    .await
    .expect("connection_destroyed");
    assert_eq!(reason, DisconnectReason::ClientDisconnected);
    assert!(
        unmounted.elapsed() < Duration::from_secs(1),
        "{:?}",
        unmounted.elapsed()
    );
    other.disconnect().await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        log.borrow().len(),
        calls,
        "a handler ran after unmount: {:?}",
        log.borrow()
    );
}

#[tokio::test]
async fn identity_signal_and_handler_changes_on_a_mounted_session() {
    let fixture = Fixture::start().await;
    let mint = |sid: &otter_rtc::SessionId| fixture.token_for(sid);
    let (first, second) = (fixture.session.clone(), fixture.new_session());
    let log = Rc::new(RefCell::new(Vec::new()));
    let live = Rc::new(RefCell::new(Live::default()));
    let props = RootProps {
        session_id: first.to_string(),
        token: mint(&first),
        options: fixture.options(),
        log: log.clone(),
        live: live.clone(),
    };
    let mut dom = VirtualDom::new_with_props(root, props);
    dom.rebuild_in_place();
    let count = |what: &str| log.borrow().iter().filter(|l| l.starts_with(what)).count();
    drive(&mut dom, "first session_connected", || {
        count("session_connected") == 1
    })
    .await;
    let people = live.borrow().people.clone();
    drive(&mut dom, "use_session_state counting 1", || {
        people.get() == 1
    })
    .await;

    // A signal prop: sent once; an equal value re-rendered is not sent again; a new value is.
    live.borrow_mut().signal = Some(SignalRequest::new("t", "one"));
    dom.mark_dirty(ScopeId::APP);
    drive(&mut dom, "signal one", || count("signal one") == 1).await;
    for _ in 0..3 {
        dom.mark_dirty(ScopeId::APP);
        dom.render_immediate(&mut NoOpMutations);
    }
    live.borrow_mut().signal = Some(SignalRequest::new("t", "two"));
    dom.mark_dirty(ScopeId::APP);
    drive(&mut dom, "signal two", || count("signal two") == 1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    drive(&mut dom, "quiet", || true).await;
    assert_eq!(count("signal one"), 1, "{:?}", log.borrow());

    // New handlers: only the new closures see later events.
    live.borrow_mut().handler_set = 1;
    live.borrow_mut().signal = Some(SignalRequest::new("t", "three"));
    dom.mark_dirty(ScopeId::APP);
    drive(&mut dom, "signal three", || count("signal three") == 1).await;
    assert!(
        log.borrow()
            .iter()
            .any(|l| l == "signal three (handler set 1)"),
        "{:?}",
        log.borrow()
    );

    // New session and token: the old session is left, the new one joined.
    live.borrow_mut().identity = Some((second.to_string(), mint(&second)));
    dom.mark_dirty(ScopeId::APP);
    drive(&mut dom, "second session_connected", || {
        count("session_connected") == 2
    })
    .await;
    assert!(
        log.borrow()
            .iter()
            .any(|l| l == "session_disconnected ClientDisconnected"),
        "{:?}",
        log.borrow()
    );

    // `use_session_state` follows to the new session: someone joins there, the count says 2.
    let other = Session::init("100200", second.as_str(), fixture.options());
    other.connect(&mint(&second)).await.unwrap();
    drive(
        &mut dom,
        "use_session_state counting 2 in the new session",
        || people.get() == 2,
    )
    .await;
}

#[tokio::test]
async fn use_session_outside_a_session_panics_saying_so() {
    fn lonely() -> Element {
        let _ = use_session();
        rsx! { div {} }
    }
    // Dioxus catches a component's panic (it becomes a render error), so read the message from the hook.
    let message = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new({
        let message = message.clone();
        move |info| *message.lock().unwrap() = info.to_string()
    }));
    let mut dom = VirtualDom::new(lonely);
    dom.rebuild_in_place();
    std::panic::set_hook(previous);
    let message = message.lock().unwrap().clone();
    assert!(
        message.contains("use_session() must be called inside an OTSession"),
        "{message:?}"
    );
}

/// The natural app code: a handler that writes a `Signal` it captured (handlers are `FnMut`).
#[derive(Clone)]
struct CounterProps {
    session_id: String,
    token: String,
    options: SessionOptions,
    /// Where the test reads the signal's value (the signal itself lives in the app).
    shown: Rc<std::cell::Cell<i32>>,
}

impl PartialEq for CounterProps {
    fn eq(&self, _: &Self) -> bool {
        false
    }
}

fn counter_app(props: CounterProps) -> Element {
    let mut count = use_signal(|| 0);
    props.shown.set(count());
    rsx! {
        OTSession {
            application_id: "100200",
            session_id: props.session_id.clone(),
            token: props.token.clone(),
            options: props.options.clone(),
            event_handlers: SessionEventHandlers::new().session_connected(move |_| count += 1),
            p { "connected {count} times" }
        }
    }
}

#[tokio::test]
async fn a_handler_writes_a_captured_signal() {
    let fixture = Fixture::start().await;
    let shown = Rc::new(std::cell::Cell::new(0));
    let props = CounterProps {
        session_id: fixture.session.to_string(),
        token: fixture.token(),
        options: fixture.options(),
        shown: shown.clone(),
    };
    let mut dom = VirtualDom::new_with_props(counter_app, props);
    dom.rebuild_in_place();
    drive(&mut dom, "the signal counting the connection", || {
        shown.get() == 1
    })
    .await;
    assert!(dioxus_ssr::render(&dom).contains("connected 1 times"));
}

#[tokio::test]
async fn re_rendering_with_the_same_identity_does_not_reconnect() {
    let fixture = Fixture::start().await;
    let log = Rc::new(RefCell::new(Vec::new()));
    let live = Rc::new(RefCell::new(Live::default()));
    let props = RootProps {
        session_id: fixture.session.to_string(),
        token: fixture.token(),
        options: fixture.options(),
        log: log.clone(),
        live: live.clone(),
    };
    let mut dom = VirtualDom::new_with_props(root, props);
    dom.rebuild_in_place();
    let count = |what: &str| log.borrow().iter().filter(|l| l.starts_with(what)).count();
    drive(&mut dom, "session_connected", || {
        count("session_connected") == 1
    })
    .await;
    let server = &fixture.server;
    assert_eq!(server.state().metrics.connections.get(), 1);

    // The parent re-renders ten times, each time with new handler closures (a new bag) and the same
    // identity: the connection stays, and the newest handlers are the ones called.
    for set in 1..=10 {
        live.borrow_mut().handler_set = set;
        dom.mark_dirty(ScopeId::APP);
        drive(&mut dom, "a re-render", || true).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    drive(&mut dom, "quiet", || true).await;
    assert_eq!(count("session_connected"), 1, "{:?}", log.borrow());
    assert_eq!(count("session_disconnected"), 0, "{:?}", log.borrow());
    assert_eq!(server.state().metrics.connections.get(), 1);
    live.borrow_mut().signal = Some(SignalRequest::new("t", "after"));
    dom.mark_dirty(ScopeId::APP);
    drive(&mut dom, "signal after", || count("signal after") == 1).await;
    assert!(
        log.borrow()
            .iter()
            .any(|l| l == "signal after (handler set 10)"),
        "{:?}",
        log.borrow()
    );
}
