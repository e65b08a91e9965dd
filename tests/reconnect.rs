//! Reconnection through a fault-injecting TCP proxy between a client and a real server.

mod common;

use std::time::Duration;

use common::proxy::FaultProxy;
use common::*;
use otter::{DisconnectReason, SessionEvent, SessionOptions, SessionStatus, SignalRequest};
use otter_protocol::Role;
use otter_server::Limits;

fn is_connection_event(e: &SessionEvent) -> bool {
    matches!(
        e,
        SessionEvent::ConnectionCreated(_) | SessionEvent::ConnectionDestroyed(_)
    )
}

#[tokio::test]
async fn a_cut_link_resumes_the_same_connection_unnoticed_by_others() {
    let server = TestServer::start().await;
    let proxy = FaultProxy::start(server.server.addr).await;
    let sid = server.new_session_id();
    let mut observer = server.client(&sid, Role::Publisher, "").await;
    let mut roamer = server
        .client_with(
            &sid,
            Role::Publisher,
            "",
            SessionOptions::with_api_url(proxy.url()),
        )
        .await;
    let id_before = roamer.id();
    observer
        .wait("roamer joined", |e| {
            matches!(e, SessionEvent::ConnectionCreated(_)).then_some(())
        })
        .await;

    proxy.cut();
    roamer
        .wait("session_reconnecting", |e| {
            matches!(e, SessionEvent::SessionReconnecting(_)).then_some(())
        })
        .await;
    assert_eq!(roamer.session.status(), SessionStatus::Reconnecting);
    // Sent while the link is down: delivered after the resume.
    let roamer_session = roamer.session.clone();
    let pending = tokio::spawn(async move {
        roamer_session
            .signal(SignalRequest::new("queued", "sent while away"))
            .await
    });

    tokio::time::sleep(Duration::from_millis(700)).await;
    proxy.restore();
    roamer
        .wait("session_reconnected", |e| {
            matches!(e, SessionEvent::SessionReconnected(_)).then_some(())
        })
        .await;
    assert_eq!(roamer.id(), id_before);
    assert_eq!(roamer.session.status(), SessionStatus::Connected);
    pending
        .await
        .unwrap()
        .expect("the queued signal was sent after the resume");
    let (signal_type, data) = observer
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
    roamer
        .session
        .signal(SignalRequest::new("after", "x"))
        .await
        .unwrap();
    let seen = observer.drain_for(Duration::from_millis(500)).await;
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
    let server = TestServer::with_limits(limits).await;
    let proxy = FaultProxy::start(server.server.addr).await;
    let sid = server.new_session_id();
    let mut observer = server.client(&sid, Role::Publisher, "").await;
    let mut roamer = server
        .client_with(
            &sid,
            Role::Publisher,
            "",
            SessionOptions::with_api_url(proxy.url()),
        )
        .await;
    let id_before = roamer.id();
    observer
        .wait("roamer joined", |e| {
            matches!(e, SessionEvent::ConnectionCreated(_)).then_some(())
        })
        .await;

    proxy.black_hole();
    roamer
        .wait("session_reconnecting", |e| {
            matches!(e, SessionEvent::SessionReconnecting(_)).then_some(())
        })
        .await;
    proxy.restore();
    roamer
        .wait("session_reconnected", |e| {
            matches!(e, SessionEvent::SessionReconnected(_)).then_some(())
        })
        .await;
    assert_eq!(roamer.id(), id_before);
    let seen = observer.drain_for(Duration::from_millis(300)).await;
    assert!(!seen.iter().any(is_connection_event), "{seen:?}");
}

#[tokio::test]
async fn a_link_down_past_the_window_ends_the_session_for_both_sides() {
    let limits = Limits {
        reconnect_window: Duration::from_millis(1500),
        ..Default::default()
    };
    let server = TestServer::with_limits(limits).await;
    let proxy = FaultProxy::start(server.server.addr).await;
    let sid = server.new_session_id();
    let mut observer = server.client(&sid, Role::Publisher, "").await;
    let mut roamer = server
        .client_with(
            &sid,
            Role::Publisher,
            "",
            SessionOptions::with_api_url(proxy.url()),
        )
        .await;
    let roamer_id = roamer.id();

    proxy.cut();
    roamer
        .wait("session_reconnecting", |e| {
            matches!(e, SessionEvent::SessionReconnecting(_)).then_some(())
        })
        .await;
    let reason = roamer
        .wait("session_disconnected", |e| match e {
            SessionEvent::SessionDisconnected(d) => Some(d.reason),
            _ => None,
        })
        .await;
    assert_eq!(reason, DisconnectReason::NetworkDisconnected);
    assert_eq!(roamer.session.status(), SessionStatus::NotConnected);
    let seen = observer
        .wait("connection_destroyed", |e| match e {
            SessionEvent::ConnectionDestroyed(d) if d.connection.connection_id == roamer_id => {
                Some(d.reason)
            }
            _ => None,
        })
        .await;
    assert_eq!(seen, DisconnectReason::NetworkDisconnected);
}
