//! Reconnection through a fault-injecting TCP proxy between a client and a real server.

mod common;

use std::time::Duration;

use common::proxy::FaultProxy;
use common::*;
use otter_protocol::Role;
use otter_rtc::{DisconnectReason, SessionEvent, SessionOptions, SessionStatus, SignalRequest};
use otter_server::Limits;

fn is_connection_event(e: &SessionEvent) -> bool {
    matches!(
        e,
        SessionEvent::ConnectionCreated(_) | SessionEvent::ConnectionDestroyed(_)
    )
}

/// A session with an observer connected directly and a roamer connected through the proxy.
struct Scene {
    _server: TestServer,
    proxy: FaultProxy,
    observer: Client,
    roamer: Client,
}

impl Scene {
    async fn new(limits: Limits) -> Self {
        let server = TestServer::with_limits(limits).await;
        let proxy = FaultProxy::start(server.server.addr).await;
        let sid = server.new_session_id();
        let mut observer = server.client(&sid, Role::Publisher, "").await;
        let through_proxy = SessionOptions::with_api_url(proxy.url());
        let roamer = server
            .client_with(&sid, Role::Publisher, "", through_proxy)
            .await;
        let roamer_id = roamer.id();
        observer
            .wait("roamer joined", |e| match e {
                SessionEvent::ConnectionCreated(c) if c.connection.connection_id == roamer_id => {
                    Some(())
                }
                _ => None,
            })
            .await;
        Self {
            _server: server,
            proxy,
            observer,
            roamer,
        }
    }

    async fn roamer_sees(&mut self, what: &str, pick: fn(&SessionEvent) -> bool) {
        self.roamer.wait(what, |e| pick(e).then_some(())).await;
    }
}

fn reconnecting(e: &SessionEvent) -> bool {
    matches!(e, SessionEvent::SessionReconnecting(_))
}

fn reconnected(e: &SessionEvent) -> bool {
    matches!(e, SessionEvent::SessionReconnected(_))
}

#[tokio::test]
async fn a_cut_link_resumes_the_same_connection_unnoticed_by_others() {
    let mut scene = Scene::new(Limits::default()).await;
    let id_before = scene.roamer.id();

    scene.proxy.cut();
    scene
        .roamer_sees("session_reconnecting", reconnecting)
        .await;
    assert_eq!(scene.roamer.session.status(), SessionStatus::Reconnecting);
    // Sent while the link is down: delivered after the resume.
    let roamer = scene.roamer.session.clone();
    let pending = tokio::spawn(async move {
        roamer
            .signal(SignalRequest::new("queued", "sent while away"))
            .await
    });

    tokio::time::sleep(Duration::from_millis(700)).await;
    scene.proxy.restore();
    scene.roamer_sees("session_reconnected", reconnected).await;
    assert_eq!(scene.roamer.id(), id_before);
    assert_eq!(scene.roamer.session.status(), SessionStatus::Connected);
    pending
        .await
        .unwrap()
        .expect("the queued signal was sent after the resume");
    let (signal_type, data) = scene
        .observer
        .wait("queued signal", |e| match e {
            SessionEvent::Signal(s) => Some((s.signal_type.clone(), s.data.clone())),
            _ => None,
        })
        .await;
    assert_eq!(
        (signal_type.as_str(), data.as_str()),
        ("queued", "sent while away")
    );

    // The observer saw nothing of it, and both still talk.
    scene
        .roamer
        .session
        .signal(SignalRequest::new("after", "x"))
        .await
        .unwrap();
    let seen = scene.observer.drain_for(Duration::from_millis(500)).await;
    assert!(!seen.iter().any(is_connection_event), "{seen:?}");
    assert!(seen
        .iter()
        .any(|e| matches!(e, SessionEvent::Signal(s) if s.signal_type == "after")));
}

#[tokio::test]
async fn a_silent_link_is_detected_by_heartbeats_and_resumed() {
    let limits = Limits {
        heartbeat_interval: Duration::from_millis(200),
        heartbeat_timeout: Duration::from_millis(900),
        ..Default::default()
    };
    let mut scene = Scene::new(limits).await;
    let id_before = scene.roamer.id();

    scene.proxy.black_hole();
    scene
        .roamer_sees("session_reconnecting", reconnecting)
        .await;
    scene.proxy.restore();
    scene.roamer_sees("session_reconnected", reconnected).await;
    assert_eq!(scene.roamer.id(), id_before);
    let seen = scene.observer.drain_for(Duration::from_millis(300)).await;
    assert!(!seen.iter().any(is_connection_event), "{seen:?}");
}

#[tokio::test]
async fn a_link_down_past_the_window_ends_the_session_for_both_sides() {
    let limits = Limits {
        reconnect_window: Duration::from_millis(1500),
        ..Default::default()
    };
    let mut scene = Scene::new(limits).await;
    let roamer_id = scene.roamer.id();

    scene.proxy.cut();
    scene
        .roamer_sees("session_reconnecting", reconnecting)
        .await;
    let reason = scene
        .roamer
        .wait("session_disconnected", |e| match e {
            SessionEvent::SessionDisconnected(d) => Some(d.reason),
            _ => None,
        })
        .await;
    assert_eq!(reason, DisconnectReason::NetworkDisconnected);
    assert_eq!(scene.roamer.session.status(), SessionStatus::NotConnected);
    let seen = scene
        .observer
        .wait("connection_destroyed", |e| match e {
            SessionEvent::ConnectionDestroyed(d) if d.connection.connection_id == roamer_id => {
                Some(d.reason)
            }
            _ => None,
        })
        .await;
    assert_eq!(seen, DisconnectReason::NetworkDisconnected);
}
