//! Two or more real clients against a real server on loopback: joining, leaving, signals, tokens.

mod common;

use std::time::{Duration, Instant};

use common::*;
use otter_protocol::Role;
use otter_rtc::{
    DisconnectReason, ErrorCode, Session, SessionEvent, SessionOptions, SessionStatus,
    SignalRequest,
};
use otter_server::tokens::TokenFormat;

#[tokio::test]
async fn two_clients_see_each_other_and_a_clean_leave_within_a_second() {
    let server = TestServer::start().await;
    let sid = server.new_session_id();
    let mut a = server.client(&sid, Role::Publisher, "name=A").await;
    let mut b = server.client(&sid, Role::Publisher, "name=B").await;
    let b_id = b.id();
    let seen_by_a = a
        .wait("connection_created at A", |e| match e {
            SessionEvent::ConnectionCreated(c) => Some(c.connection.clone()),
            _ => None,
        })
        .await;
    assert_eq!(seen_by_a.connection_id, b_id);
    assert_eq!(seen_by_a.data, "name=B");
    // B joined second: A was already there, reported as connection_created too.
    let seen_by_b = b
        .wait("connection_created at B", |e| match e {
            SessionEvent::ConnectionCreated(c) => Some(c.connection.connection_id.clone()),
            _ => None,
        })
        .await;
    assert_eq!(seen_by_b, a.id());
    assert_eq!(a.session.connections().len(), 1);

    let left_at = Instant::now();
    b.session.disconnect().await;
    let reason = a
        .wait("connection_destroyed", |e| match e {
            SessionEvent::ConnectionDestroyed(d) if d.connection.connection_id == b_id => {
                Some(d.reason)
            }
            _ => None,
        })
        .await;
    assert_eq!(reason, DisconnectReason::ClientDisconnected);
    assert!(
        left_at.elapsed() < Duration::from_secs(1),
        "took {:?}",
        left_at.elapsed()
    );
    assert_eq!(b.session.status(), SessionStatus::NotConnected);
    let own = b.wait("session_disconnected", |e| match e {
        SessionEvent::SessionDisconnected(d) => Some(d.reason),
        _ => None,
    });
    assert_eq!(own.await, DisconnectReason::ClientDisconnected);
}

#[tokio::test]
async fn an_empty_session_leaves_nothing_behind_on_the_server() {
    let server = TestServer::start().await;
    let metrics = server.server.state().metrics.clone();
    for _ in 0..3 {
        let sid = server.new_session_id();
        let a = server.client(&sid, Role::Publisher, "").await;
        let b = server.client(&sid, Role::Publisher, "").await;
        a.session.disconnect().await;
        drop(b);
    }
    let deadline = Instant::now() + WAIT;
    while metrics.sessions.get() != 0 || metrics.connections.get() != 0 {
        assert!(
            Instant::now() < deadline,
            "sessions {} connections {} left",
            metrics.sessions.get(),
            metrics.connections.get()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(server.server.state().hub.session_count(), 0);
}

#[tokio::test]
async fn dropping_every_handle_leaves_the_session() {
    let server = TestServer::start().await;
    let sid = server.new_session_id();
    let mut a = server.client(&sid, Role::Publisher, "").await;
    let b = server.client(&sid, Role::Publisher, "").await;
    let b_id = b.id();
    drop(b);
    let reason = a
        .wait("connection_destroyed", |e| match e {
            SessionEvent::ConnectionDestroyed(d) if d.connection.connection_id == b_id => {
                Some(d.reason)
            }
            _ => None,
        })
        .await;
    assert_eq!(reason, DisconnectReason::ClientDisconnected);
}

fn signal_of(e: &SessionEvent) -> Option<(String, String, Option<otter_rtc::ConnectionId>)> {
    match e {
        SessionEvent::Signal(s) => Some((
            s.signal_type.clone(),
            s.data.clone(),
            s.from.as_ref().map(|c| c.connection_id.clone()),
        )),
        _ => None,
    }
}

#[tokio::test]
async fn signals_broadcast_targeted_and_refused() {
    let server = TestServer::start().await;
    let sid = server.new_session_id();
    let mut a = server.client(&sid, Role::Publisher, "").await;
    let mut b = server.client(&sid, Role::Publisher, "").await;
    let mut c = server.client(&sid, Role::Publisher, "").await;

    // Broadcast: everyone, the sender included, hears it, with the sender named.
    a.session
        .signal(SignalRequest::new("chat", "hello all"))
        .await
        .unwrap();
    let a_id = a.id();
    for client in [&mut a, &mut b, &mut c] {
        let got = client.wait("broadcast signal", signal_of).await;
        assert_eq!(got.0, "chat");
        assert_eq!(got.1, "hello all");
        assert_eq!(got.2, Some(a_id.clone()));
    }

    // Targeted: only the target hears it.
    a.session
        .signal(SignalRequest::new("dm", "just you").to(b.id()))
        .await
        .unwrap();
    assert_eq!(b.wait("targeted signal", signal_of).await.1, "just you");
    let at_c: Vec<_> = c
        .drain_for(Duration::from_millis(300))
        .await
        .iter()
        .filter_map(signal_of)
        .collect();
    assert!(at_c.is_empty(), "{at_c:?}");

    let code = |r: Result<(), otter_rtc::OtError>| r.unwrap_err().code;
    // The target left: 404 from the server.
    let gone = c.id();
    c.session.disconnect().await;
    a.wait("c left", |e| {
        matches!(e, SessionEvent::ConnectionDestroyed(_)).then_some(())
    })
    .await;
    assert_eq!(
        code(
            a.session
                .signal(SignalRequest::new("dm", "x").to(gone))
                .await
        ),
        404
    );
    assert_eq!(
        code(
            a.session
                .signal(SignalRequest::new("t".repeat(129), "x"))
                .await
        ),
        400
    );
    assert_eq!(
        code(a.session.signal(SignalRequest::new("no spaces", "x")).await),
        400
    );
    assert_eq!(
        code(
            a.session
                .signal(SignalRequest::new("big", "x".repeat(8193)))
                .await
        ),
        413
    );
    a.session
        .signal(SignalRequest::new("max", "x".repeat(8192)))
        .await
        .unwrap();
}

#[tokio::test]
async fn the_server_checks_signals_too() {
    // A client that skips the local checks (raw protocol) still gets 400/413 from the server.
    use futures_util::{SinkExt, StreamExt};
    use otter_protocol::{ClientMessage, ServerMessage};
    use tokio_tungstenite::tungstenite::Message;
    let server = TestServer::start().await;
    let sid = server.new_session_id();
    let url = format!("ws://{}/v1/signal", server.server.addr);
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let hello = ClientMessage::Connect {
        version: 1,
        application_id: API_KEY.into(),
        session_id: sid.clone(),
        token: server.token(&sid, Role::Publisher, ""),
    };
    ws.send(Message::Text(hello.encode().into())).await.unwrap();
    let mut replies = Vec::new();
    for (id, signal_type, data) in [
        (1, "bad type", "x".to_string()),
        (2, "ok", "y".repeat(8193)),
    ] {
        let m = ClientMessage::request(
            id,
            otter_protocol::Request::Signal {
                to: None,
                signal_type: signal_type.into(),
                data,
            },
        );
        ws.send(Message::Text(m.encode().into())).await.unwrap();
    }
    while replies.len() < 2 {
        let Some(Ok(Message::Text(t))) = ws.next().await else {
            panic!("socket ended")
        };
        if let Ok(ServerMessage::Reply { id, error, .. }) = ServerMessage::decode(&t) {
            replies.push((id, error.map(|e| e.code)));
        }
    }
    assert_eq!(replies, vec![(1, Some(400)), (2, Some(413))]);
}

#[tokio::test]
async fn a_signal_flood_is_rate_limited() {
    let server = TestServer::start().await;
    let sid = server.new_session_id();
    let a = server.client(&sid, Role::Publisher, "").await;
    let mut limited = 0;
    let mut sent = 0;
    // All at once, as a flood is.
    let results = futures_util::future::join_all(
        (0..400).map(|i| a.session.signal(SignalRequest::new("flood", i.to_string()))),
    )
    .await;
    for result in results {
        match result {
            Ok(()) => sent += 1,
            Err(e) => {
                assert_eq!(e.code, 429, "{e}");
                assert_eq!(e.name, "OT_RATE_LIMIT_EXCEEDED");
                limited += 1;
            }
        }
    }
    assert!(limited > 0, "no 429 after {sent} signals");
    assert!(sent >= 100, "the burst allowance was not honoured: {sent}");
}

async fn connect_error(server: &TestServer, session_id: &str, token: &str) -> otter_rtc::OtError {
    let s = Session::init(API_KEY, session_id, server.options());
    let mut events = s.events();
    let err = s.connect(token).await.unwrap_err();
    // The same error is also reported as an `error` event.
    let event = tokio::time::timeout(WAIT, events.recv())
        .await
        .unwrap()
        .unwrap();
    assert!(
        matches!(&event, SessionEvent::Error(e) if e.error == err),
        "{event:?}"
    );
    assert_ne!(s.status(), SessionStatus::Connected);
    err
}

#[tokio::test]
async fn tokens_are_checked() {
    let server = TestServer::start().await;
    let sid = server.new_session_id();
    let project = &server.server.state().config.projects[0];
    let now = otter_server::clock::unix_secs();

    // Both formats are accepted.
    for format in [TokenFormat::Jwt, TokenFormat::Legacy] {
        let s = Session::init(API_KEY, sid.as_str(), server.options());
        s.connect(&server.token_as(&sid, Role::Publisher, "fmt", format))
            .await
            .unwrap();
        assert_eq!(s.connection().unwrap().data, "fmt");
        s.disconnect().await;
    }

    let mint = |p: &otter_server::Project, session: &otter_rtc::SessionId, now: u64| {
        otter_server::tokens::mint(p, session, &Default::default(), TokenFormat::Jwt, now).unwrap()
    };
    let expired = mint(project, &sid, now - 2 * 24 * 3600);
    let wrong_secret = mint(
        &otter_server::Project {
            api_key: API_KEY.into(),
            api_secret: "wrong".into(),
        },
        &sid,
        now,
    );
    let other_session = mint(project, &server.new_session_id(), now);
    for (what, token) in [
        ("expired", expired),
        ("wrong secret", wrong_secret),
        ("other session", other_session),
        ("garbage", "not-a-token".to_string()),
        ("garbage T1", "T1==aGVsbG8=".to_string()),
    ] {
        let e = connect_error(&server, sid.as_str(), &token).await;
        assert_eq!(
            (what, e.code, e.name),
            (what, 1004, "OT_AUTHENTICATION_ERROR"),
            "{e}"
        );
    }

    // A session ID that is not even well formed fails locally with 1005.
    let e = connect_error(&server, "not-a-session", "token").await;
    assert_eq!(e.code, 1005);
    // One of a project this server does not serve: 1005 from the server.
    let foreign = otter_server::session_ids::new_session_id(
        &otter_server::Project {
            api_key: "999".into(),
            api_secret: "x".into(),
        },
        "",
    );
    assert_eq!(
        connect_error(&server, foreign.as_str(), "token").await.code,
        1005
    );
    // Empty credentials: 1011 without a connection attempt.
    assert_eq!(connect_error(&server, sid.as_str(), "").await.code, 1011);
}

#[tokio::test]
async fn roles_limit_what_a_connection_may_do() {
    let server = TestServer::start().await;
    let sid = server.new_session_id();
    let publisher = server.client(&sid, Role::Publisher, "").await;
    let only = server.client(&sid, Role::PublisherOnly, "").await;
    let subscriber = server.client(&sid, Role::Subscriber, "").await;
    let mut moderator = server.client(&sid, Role::Moderator, "").await;

    assert!(!publisher.session.capabilities().can_force_disconnect);
    assert!(moderator.session.capabilities().can_force_disconnect);
    assert!(!subscriber.session.capabilities().can_publish);
    assert!(!only.session.capabilities().can_subscribe);

    let e = publisher
        .session
        .force_disconnect(subscriber.id())
        .await
        .unwrap_err();
    assert_eq!((e.code, e.name), (1520, "OT_PERMISSION_DENIED"));
    let e = publisher.session.force_mute_all(vec![]).await.unwrap_err();
    assert_eq!(e.code, 1530);
    let e = only
        .session
        .signal(SignalRequest::new("t", "d"))
        .await
        .unwrap_err();
    assert_eq!((e.code, e.name), (403, "OT_PERMISSION_DENIED"));
    subscriber
        .session
        .signal(SignalRequest::new("t", "from a subscriber"))
        .await
        .unwrap();
    let publish = otter_rtc::session_core::Request::Publish {
        name: "cam".into(),
        has_audio: true,
        has_video: true,
        video_type: otter_rtc::VideoType::Camera,
        video_dimensions: (640, 480),
        sdp_offer: None,
    };
    let e = subscriber
        .session
        .send_request(publish.clone())
        .await
        .unwrap_err();
    assert_eq!(e.code, 1500);

    // The moderator may; the removed client hears ForceDisconnected.
    let mut victim = subscriber;
    let victim_id = victim.id();
    moderator
        .session
        .force_disconnect(victim_id.clone())
        .await
        .unwrap();
    let reason = victim
        .wait("session_disconnected", |e| match e {
            SessionEvent::SessionDisconnected(d) => Some(d.reason),
            _ => None,
        })
        .await;
    assert_eq!(reason, DisconnectReason::ForceDisconnected);
    let seen = moderator
        .wait("connection_destroyed", |e| match e {
            SessionEvent::ConnectionDestroyed(d) if d.connection.connection_id == victim_id => {
                Some(d.reason)
            }
            _ => None,
        })
        .await;
    assert_eq!(seen, DisconnectReason::ForceDisconnected);
    let e = moderator
        .session
        .force_disconnect(victim_id)
        .await
        .unwrap_err();
    assert_eq!(e.code, 404);
}

#[tokio::test]
async fn a_full_session_refuses_with_1027() {
    let limits = otter_server::Limits {
        max_connections_per_session: 2,
        ..Default::default()
    };
    let server = TestServer::with_limits(limits).await;
    let sid = server.new_session_id();
    let _a = server.client(&sid, Role::Publisher, "").await;
    let _b = server.client(&sid, Role::Publisher, "").await;
    let token = server.token(&sid, Role::Publisher, "");
    let e = connect_error(&server, sid.as_str(), &token).await;
    assert_eq!(
        (e.code, e.name),
        (1027, ErrorCode::ConnectionLimitExceeded.name())
    );
}

/// Connects to whatever `options` point at (not an Otter server) and returns the error and how long it took.
async fn connect_without_server(options: SessionOptions) -> (otter_rtc::OtError, Duration) {
    let project = otter_server::Project {
        api_key: API_KEY.into(),
        api_secret: API_SECRET.into(),
    };
    let sid = otter_server::session_ids::new_session_id(&project, "");
    let s = Session::init(API_KEY, sid.as_str(), options);
    let started = Instant::now();
    let e = s.connect("token").await.unwrap_err();
    (e, started.elapsed())
}

#[tokio::test]
async fn nothing_listening_fails_with_1006_quickly() {
    // A port that was just free: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let options = SessionOptions {
        connect_timeout: Duration::from_secs(2),
        ..SessionOptions::with_api_url(format!("http://127.0.0.1:{port}"))
    };
    let (e, took) = connect_without_server(options).await;
    assert_eq!((e.code, e.name), (1006, "OT_CONNECT_FAILED"));
    assert!(took < Duration::from_secs(2), "{took:?}");
}

#[tokio::test]
async fn a_server_that_never_answers_fails_with_1006_at_the_timeout() {
    // Accepts TCP and then says nothing.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let _hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = listener.accept().await {
            held.push(s);
        }
    });
    let options = SessionOptions {
        connect_timeout: Duration::from_millis(800),
        ..SessionOptions::with_api_url(format!("http://{addr}"))
    };
    let (e, took) = connect_without_server(options).await;
    assert_eq!(e.code, 1006);
    assert!(
        took >= Duration::from_millis(750) && took < Duration::from_secs(5),
        "{took:?}"
    );
}
