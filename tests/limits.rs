//! The server's limits hold against a participant who ignores them (security review F2, F3, F4): sizes
//! of what a client names, a session as big as the documented cap, quotas and rate limits, and
//! privileged requests that name another session's objects.

mod common;

use std::time::Duration;

use common::*;
use otter_protocol::limits::MAX_STREAM_NAME_CHARS;
use otter_protocol::{ErrorCode, Role, StreamId, VideoType};
use otter_rtc::session_core::Request;
use otter_rtc::{SessionEvent, SubscriberProperties};
use otter_server::hub::Command;
use otter_server::Limits;

fn publish(name: &str) -> Request {
    Request::Publish {
        name: name.into(),
        has_audio: false,
        has_video: true,
        video_type: VideoType::Camera,
        video_dimensions: (640, 480),
        sdp_offer: None,
    }
}

/// F2: a stream name over the limit is refused with 1011; the session stays joinable for everyone.
#[tokio::test]
async fn an_oversized_stream_name_is_refused_and_the_session_stays_joinable() {
    let server = TestServer::start().await;
    let sid = server.new_session_id();
    let mut member = server.client(&sid, Role::Publisher, "member").await;
    let attacker = server.client(&sid, Role::Publisher, "attacker").await;
    for chars in [MAX_STREAM_NAME_CHARS + 1, 65_300] {
        let refused = attacker
            .session
            .send_request(publish(&"x".repeat(chars)))
            .await
            .unwrap_err();
        assert_eq!(
            refused.code,
            ErrorCode::InvalidParameter.code(),
            "{refused:?}"
        );
    }
    let longest = "é".repeat(MAX_STREAM_NAME_CHARS);
    let ok = attacker
        .session
        .send_request(publish(&longest))
        .await
        .unwrap();
    assert_eq!(ok.stream.unwrap().name, longest);
    let seen = member
        .wait("the longest allowed name", |e| match e {
            SessionEvent::StreamCreated(s) => Some(s.stream.name.clone()),
            _ => None,
        })
        .await;
    assert_eq!(seen, longest);
    let newcomer = server.client(&sid, Role::Publisher, "newcomer").await;
    assert_eq!(newcomer.session.streams().len(), 1);
    let events = member.drain_for(Duration::from_millis(200)).await;
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, SessionEvent::SessionReconnecting(_))),
        "{events:?}"
    );
}

/// F2: a session at the documented cap (3 000 members with the longest data allowed) can be joined,
/// and the newcomer sees every member: the roster arrives in frames under the client's limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_of_3000_members_can_be_joined() {
    let server = TestServer::start().await;
    let sid = server.new_session_id();
    let hub = server.server.state().hub.clone();
    const MEMBERS: usize = 2999;
    for i in 0..MEMBERS {
        // Socket-less members, as WHIP resources are: their outboxes are drained by a task.
        let (outbox, mut frames) = tokio::sync::mpsc::channel(otter_server::hub::OUTBOX_CAPACITY);
        tokio::spawn(async move { while frames.recv().await.is_some() {} });
        let data = format!("{i:04}{}", "d".repeat(996));
        let joined = hub
            .ask(&sid, true, |reply| Command::Join {
                socketless: true,
                data,
                role: Role::Publisher,
                outbox,
                reply,
            })
            .await
            .unwrap();
        assert!(joined.is_ok(), "member {i}: {joined:?}");
    }
    let newcomer = server.client(&sid, Role::Publisher, "newcomer").await;
    let mut seen: Vec<String> = newcomer
        .session
        .connections()
        .into_iter()
        .map(|c| c.data[..4].to_owned())
        .collect();
    seen.sort();
    seen.dedup();
    assert_eq!(
        seen.len(),
        MEMBERS,
        "the newcomer sees {} others",
        seen.len()
    );
    // The cap holds: the next one is refused with 1027.
    let full = otter_rtc::Session::init(API_KEY, sid.as_str(), server.options());
    let refused = full
        .connect(&server.token(&sid, Role::Publisher, ""))
        .await
        .unwrap_err();
    assert_eq!(refused.code, ErrorCode::ConnectionLimitExceeded.code());
}

/// F4: a connection publishes at most `max_streams_per_connection` streams; the next gets 1605.
#[tokio::test]
async fn streams_per_connection_are_capped_with_1605() {
    let server = TestServer::start().await;
    let sid = server.new_session_id();
    let client = server.client(&sid, Role::Publisher, "").await;
    let cap = Limits::default().max_streams_per_connection;
    for i in 0..cap {
        client
            .session
            .send_request(publish(&format!("s{i}")))
            .await
            .unwrap();
    }
    let refused = client
        .session
        .send_request(publish("one too many"))
        .await
        .unwrap_err();
    assert_eq!(
        refused.code,
        ErrorCode::StreamLimitExceeded.code(),
        "{refused:?}"
    );
    assert_eq!(refused.name, "OT_STREAM_LIMIT_EXCEEDED");
    // Another connection is not affected.
    let other = server.client(&sid, Role::Publisher, "").await;
    other.session.send_request(publish("mine")).await.unwrap();
}

/// F4: every kind of request is rate limited, not only signals; past the burst, 429.
#[tokio::test]
async fn every_request_kind_is_rate_limited() {
    let server = TestServer::with_limits(Limits {
        request_burst: 20,
        requests_per_second: 5,
        ..Limits::default()
    })
    .await;
    let sid = server.new_session_id();
    let client = server.client(&sid, Role::Publisher, "").await;
    let stream = client
        .session
        .send_request(publish("s"))
        .await
        .unwrap()
        .stream
        .unwrap();
    let mut limited = 0;
    let started = std::time::Instant::now();
    for i in 0..60 {
        let toggle = Request::UpdateStream {
            stream_id: stream.stream_id.clone(),
            has_audio: None,
            has_video: Some(i % 2 == 0),
            video_dimensions: None,
        };
        if let Err(e) = client.session.send_request(toggle).await {
            assert_eq!(e.code, ErrorCode::RateLimited.code(), "{e:?}");
            limited += 1;
        }
    }
    // The bucket held 20 (one went on the publish) and refills 5 a second: no more got through.
    let allowed = 20.0 + 5.0 * started.elapsed().as_secs_f64() + 1.0;
    assert!(
        (60 - limited) as f64 <= allowed && limited > 0,
        "{limited} of 60 toggles limited in {:?}",
        started.elapsed()
    );
}

/// L2: a session's signal throughput is capped across all its connections.
#[tokio::test]
async fn a_sessions_signals_are_capped_across_connections() {
    let server = TestServer::with_limits(Limits {
        session_signal_burst: 30,
        session_signals_per_second: 1,
        ..Limits::default()
    })
    .await;
    let sid = server.new_session_id();
    let mut clients = Vec::new();
    for _ in 0..3 {
        clients.push(server.client(&sid, Role::Publisher, "").await);
    }
    let mut refused = 0;
    let started = std::time::Instant::now();
    for round in 0..20 {
        for c in &clients {
            let signal = otter_rtc::SignalRequest::new("chat", round.to_string());
            if let Err(e) = c.session.signal(signal).await {
                assert_eq!(e.code, ErrorCode::RateLimited.code());
                refused += 1;
            }
        }
    }
    // 60 signals against a budget of 30 that refills 1 a second: each connection alone was well within
    // its own limit, the session was not.
    let accepted = 60 - refused;
    let allowed = 30.0 + started.elapsed().as_secs_f64() + 1.0;
    assert!(
        accepted >= 30 && accepted as f64 <= allowed,
        "{accepted} accepted in {:?}",
        started.elapsed()
    );
}

/// F3: a moderator of one session cannot stop the media of another session's stream.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_moderator_cannot_touch_another_sessions_stream() {
    let server = TestServer::start().await;
    let (a, b) = (server.new_session_id(), server.new_session_id());
    let publisher_client = server.client(&b, Role::Publisher, "").await;
    let publisher = publisher_client
        .session
        .publish(small_pattern())
        .await
        .unwrap();
    let viewer = server.client(&b, Role::Subscriber, "").await;
    let sub = viewer
        .session
        .subscribe(publisher.stream(), SubscriberProperties::default())
        .await
        .unwrap();
    let sfu = server.server.state().sfu.clone();
    let peers = sfu.stats().peers;
    assert_eq!(peers, 2);

    let moderator = server.client(&a, Role::Moderator, "").await;
    let target: StreamId = publisher.stream().stream_id.clone();
    let unpublish = Request::Unpublish {
        stream_id: target.clone(),
    };
    let e = moderator.session.send_request(unpublish).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::NotFound.code(), "{e:?}");
    let e = moderator
        .session
        .force_mute_stream(target)
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::NotFound.code(), "{e:?}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(sfu.stats().peers, peers, "a peer of session B went");
    let before = sub.stats().frames_decoded;
    let start = std::time::Instant::now();
    while sub.stats().frames_decoded < before + 5 {
        assert!(start.elapsed() < WAIT, "B's subscriber stopped decoding");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// F6: a thousand half-open HTTP connections (a slowloris) neither stop the server answering others nor
/// stay open past the header deadline; past the connection cap, new connections are closed at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris_connections_are_closed_and_others_are_served() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = TestServer::with_limits(Limits {
        http_header_timeout: Duration::from_secs(1),
        max_http_connections: 1500,
        ..Limits::default()
    })
    .await;
    let addr = server.server.addr;
    let mut loris = Vec::new();
    for _ in 0..1000 {
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        loris.push(s);
    }
    let http = reqwest::Client::new();
    let started = std::time::Instant::now();
    let answer = http
        .get(format!("{}/healthz", server.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    // Answered while the 1 000 are still open (well before their 1 s deadline would free anything).
    assert!(
        started.elapsed() < Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );
    // Every half-open connection is closed by the server after the deadline.
    let closed = tokio::time::timeout(Duration::from_secs(10), async {
        for s in &mut loris {
            let mut buf = [0u8; 512];
            loop {
                match s.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => continue, // a 408 or similar first
                }
            }
        }
    })
    .await;
    assert!(
        closed.is_ok(),
        "half-open connections stayed open past the deadline"
    );
    drop(loris);

    // The cap: a full server closes new connections at once, and serves again once slots free up.
    let capped = TestServer::with_limits(Limits {
        max_http_connections: 20,
        ..Limits::default()
    })
    .await;
    let mut held = Vec::new();
    for _ in 0..20 {
        held.push(
            tokio::net::TcpStream::connect(capped.server.addr)
                .await
                .unwrap(),
        );
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let refused = http
        .get(format!("{}/healthz", capped.url()))
        .timeout(Duration::from_secs(5))
        .send()
        .await;
    assert!(refused.is_err(), "a connection over the cap was served");
    drop(held);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let served = http
        .get(format!("{}/healthz", capped.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(served.status(), 200);
}

/// F4: a connection holds at most `max_subscriptions_per_connection` subscriptions; the next gets 1605.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions_per_connection_are_capped_with_1605() {
    let server = TestServer::with_limits(Limits {
        max_subscriptions_per_connection: 2,
        ..Limits::default()
    })
    .await;
    let sid = server.new_session_id();
    let publisher_client = server.client(&sid, Role::Publisher, "").await;
    let publisher = publisher_client
        .session
        .publish(small_pattern())
        .await
        .unwrap();
    let viewer = server.client(&sid, Role::Subscriber, "").await;
    let mut held = Vec::new();
    for _ in 0..2 {
        held.push(
            viewer
                .session
                .subscribe(publisher.stream(), SubscriberProperties::default())
                .await
                .unwrap(),
        );
    }
    let refused = viewer
        .session
        .subscribe(publisher.stream(), SubscriberProperties::default())
        .await
        .unwrap_err();
    assert_eq!(
        refused.code,
        ErrorCode::StreamLimitExceeded.code(),
        "{refused:?}"
    );
    // Letting one go makes room again.
    held.pop().unwrap().unsubscribe().await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    viewer
        .session
        .subscribe(publisher.stream(), SubscriberProperties::default())
        .await
        .unwrap();
}
