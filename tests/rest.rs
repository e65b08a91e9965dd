//! The OpenTok-compatible REST API against a real server, with real clients in the session.

mod common;

use common::*;
use otter_protocol::Role;
use otter_rtc::{DisconnectReason, Session, SessionEvent, StreamChange, VideoType};
use otter_server::tokens;
use serde_json::{json, Value};

fn auth(server: &TestServer) -> String {
    tokens::mint_rest_auth(
        &server.server.state().config.projects[0],
        otter_server::clock::unix_secs(),
    )
}

fn base(server: &TestServer, sid: &otter_rtc::SessionId) -> String {
    format!("{}/v2/project/{API_KEY}/session/{sid}", server.url())
}

#[tokio::test]
async fn create_a_session_and_join_it() {
    let server = TestServer::start().await;
    let http = reqwest::Client::new();
    let response = http
        .post(format!("{}/session/create", server.url()))
        .header("X-OPENTOK-AUTH", auth(&server))
        .header("Accept", "application/json")
        .form(&[("p2p.preference", "disabled"), ("archiveMode", "manual")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    let body: Value = response.json().await.unwrap();
    let created = &body[0];
    assert_eq!(created["project_id"], API_KEY);
    assert_eq!(created["partner_id"], API_KEY);
    let sid = otter_rtc::SessionId::new(created["session_id"].as_str().unwrap()).unwrap();
    assert_eq!(sid.api_key(), API_KEY);

    let s = Session::init(API_KEY, sid.as_str(), server.options());
    s.connect(&server.token(&sid, Role::Publisher, ""))
        .await
        .unwrap();

    let bad = http
        .post(format!("{}/session/create", server.url()))
        .header("X-OPENTOK-AUTH", auth(&server))
        .form(&[("location", "not-an-ip")])
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
}

#[tokio::test]
async fn bad_credentials_get_403() {
    let server = TestServer::start().await;
    let sid = server.new_session_id();
    let http = reqwest::Client::new();
    let wrong_secret = tokens::mint_rest_auth(
        &otter_server::Project {
            api_key: API_KEY.into(),
            api_secret: "nope".into(),
        },
        otter_server::clock::unix_secs(),
    );
    let expired = tokens::mint_rest_auth(
        &server.server.state().config.projects[0],
        otter_server::clock::unix_secs() - 3600,
    );
    for header in [
        None,
        Some("garbage".to_string()),
        Some(wrong_secret),
        Some(expired),
    ] {
        let mut request = http.get(format!("{}/stream", base(&server, &sid)));
        if let Some(h) = &header {
            request = request.header("X-OPENTOK-AUTH", h);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 403, "{header:?}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["code"], 403);
        let create = http
            .post(format!("{}/session/create", server.url()))
            .form(&[("p2p.preference", "enabled")]);
        let create = match &header {
            Some(h) => create.header("X-OPENTOK-AUTH", h),
            None => create,
        };
        assert_eq!(create.send().await.unwrap().status(), 403);
    }
    // Valid credentials for another project's path.
    let response = http
        .get(format!(
            "{}/v2/project/999/session/{sid}/stream",
            server.url()
        ))
        .header("X-OPENTOK-AUTH", auth(&server))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
}

#[tokio::test]
async fn force_disconnect_signal_streams_and_mute() {
    let server = TestServer::start().await;
    let sid = server.new_session_id();
    let http = reqwest::Client::new();
    let mut a = server.client(&sid, Role::Publisher, "").await;
    let mut b = server.client(&sid, Role::Publisher, "").await;
    let base = base(&server, &sid);

    // A signal from the server: `from` is None.
    let response = http
        .post(format!("{base}/signal"))
        .header("X-OPENTOK-AUTH", auth(&server))
        .json(&json!({"type": "notice", "data": "from the back end"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    for client in [&mut a, &mut b] {
        let (data, from) = client
            .wait("REST signal", |e| match e {
                SessionEvent::Signal(s) => Some((s.data.clone(), s.from.clone())),
                _ => None,
            })
            .await;
        assert_eq!(data, "from the back end");
        assert_eq!(from, None);
    }
    let one = http
        .post(format!("{base}/connection/{}/signal", b.id()))
        .header("X-OPENTOK-AUTH", auth(&server))
        .json(&json!({"type": "dm", "data": "only b"}))
        .send()
        .await
        .unwrap();
    assert_eq!(one.status(), 204);
    assert_eq!(
        b.wait("targeted REST signal", |e| match e {
            SessionEvent::Signal(s) => Some(s.data.clone()),
            _ => None,
        })
        .await,
        "only b"
    );
    for (path, body, status) in [
        (
            format!("{base}/connection/ffff/signal"),
            json!({"type": "t", "data": "x"}),
            404,
        ),
        (
            format!("{base}/signal"),
            json!({"type": "t", "data": "x".repeat(8193)}),
            413,
        ),
        (
            format!("{base}/signal"),
            json!({"type": "bad type", "data": "x"}),
            400,
        ),
    ] {
        let r = http
            .post(path)
            .header("X-OPENTOK-AUTH", auth(&server))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), status);
    }

    // Streams: none, then one.
    let list = |http: reqwest::Client, url: String, auth: String| async move {
        http.get(url)
            .header("X-OPENTOK-AUTH", auth)
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()
    };
    assert_eq!(
        list(http.clone(), format!("{base}/stream"), auth(&server)).await["count"],
        0
    );
    let publish = otter_rtc::session_core::Request::Publish {
        name: "A's camera".into(),
        has_audio: true,
        has_video: true,
        video_type: VideoType::Camera,
        video_dimensions: (640, 480),
        sdp_offer: None,
    };
    let stream = a
        .session
        .send_request(publish)
        .await
        .unwrap()
        .stream
        .expect("a stream");
    let created = b
        .wait("stream_created", |e| match e {
            SessionEvent::StreamCreated(s) => Some(s.stream.clone()),
            _ => None,
        })
        .await;
    assert_eq!(created, stream);
    let listed = list(http.clone(), format!("{base}/stream"), auth(&server)).await;
    assert_eq!(listed["count"], 1);
    assert_eq!(listed["items"][0]["id"], stream.stream_id.as_str());
    assert_eq!(listed["items"][0]["videoType"], "camera");
    assert_eq!(listed["items"][0]["name"], "A's camera");
    let one = http
        .get(format!("{base}/stream/{}", stream.stream_id))
        .header("X-OPENTOK-AUTH", auth(&server))
        .send()
        .await
        .unwrap();
    assert_eq!(one.status(), 200);
    let one: Value = serde_json::from_str(&one.text().await.unwrap()).unwrap();
    assert_eq!(one["id"], stream.stream_id.as_str());
    let missing = http
        .get(format!("{base}/stream/nope"))
        .header("X-OPENTOK-AUTH", auth(&server))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);

    // Mute the stream: B sees has_audio go false; A (its publisher) is told.
    let r = http
        .post(format!("{base}/stream/{}/mute", stream.stream_id))
        .header("X-OPENTOK-AUTH", auth(&server))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let change = b
        .wait("stream_property_changed", |e| match e {
            SessionEvent::StreamPropertyChanged(p) => Some(p.change),
            _ => None,
        })
        .await;
    assert_eq!(
        change,
        StreamChange::HasAudio {
            old_value: true,
            new_value: false
        }
    );
    let muted = a
        .wait("mute_forced", |e| match e {
            SessionEvent::MuteForced(m) => Some(m.stream_id.clone()),
            _ => None,
        })
        .await;
    assert_eq!(muted, Some(stream.stream_id.clone()));
    let r = http
        .post(format!("{base}/mute"))
        .header("X-OPENTOK-AUTH", auth(&server))
        .json(&json!({"active": true, "excludedStreamIds": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        b.wait("mute all", |e| match e {
            SessionEvent::MuteForced(m) => Some(m.active),
            _ => None,
        })
        .await
    );

    // Force-disconnect B: B hears ForceDisconnected, A hears B go with the same reason.
    let b_id = b.id();
    let r = http
        .delete(format!("{base}/connection/{b_id}"))
        .header("X-OPENTOK-AUTH", auth(&server))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let reason = b
        .wait("session_disconnected", |e| match e {
            SessionEvent::SessionDisconnected(d) => Some(d.reason),
            _ => None,
        })
        .await;
    assert_eq!(reason, DisconnectReason::ForceDisconnected);
    let seen = a
        .wait("connection_destroyed", |e| match e {
            SessionEvent::ConnectionDestroyed(d) if d.connection.connection_id == b_id => {
                Some(d.reason)
            }
            _ => None,
        })
        .await;
    assert_eq!(seen, DisconnectReason::ForceDisconnected);
    let again = http
        .delete(format!("{base}/connection/{b_id}"))
        .header("X-OPENTOK-AUTH", auth(&server))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 404);

    // Metrics count what happened.
    let metrics = http
        .get(format!("{}/metrics", server.url()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("otter_connections 1"), "{metrics}");
    assert!(metrics.contains("otter_sessions 1"), "{metrics}");
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("otter_signals_total ") && l != "otter_signals_total 0"),
        "{metrics}"
    );
}

/// F1: a participant's session token (short-lived, so inside the window a REST credential may have) is
/// refused on every REST route, and a REST credential opens no WHIP/WHEP resource.
#[tokio::test]
async fn session_tokens_and_rest_credentials_are_not_interchangeable() {
    let server = TestServer::start().await;
    let sid = server.new_session_id();
    let mut member = server.client(&sid, Role::Publisher, "member").await;
    let project = &server.server.state().config.projects[0];
    let short = tokens::mint(
        project,
        &sid,
        &tokens::TokenOptions {
            role: Role::Subscriber,
            expire_in: std::time::Duration::from_secs(120),
            ..Default::default()
        },
        tokens::TokenFormat::Jwt,
        otter_server::clock::unix_secs(),
    )
    .unwrap();
    let http = reqwest::Client::new();
    let base = base(&server, &sid);
    let cid = member.id();
    let requests = [
        http.get(format!("{base}/stream")),
        http.get(format!("{base}/stream/nothing")),
        http.post(format!("{}/session/create", server.url()))
            .form(&[("p2p.preference", "enabled")]),
        http.post(format!("{base}/mute"))
            .json(&json!({"active": true})),
        http.post(format!("{base}/signal"))
            .json(&json!({"type": "x", "data": "y"})),
        http.post(format!("{base}/connection/{cid}/signal"))
            .json(&json!({"type": "x", "data": "y"})),
        http.delete(format!("{base}/connection/{cid}")),
    ];
    for request in requests {
        let response = request
            .header("X-OPENTOK-AUTH", &short)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 403, "{}", response.url());
    }
    // Nothing happened to the member.
    let seen = member
        .drain_for(std::time::Duration::from_millis(300))
        .await;
    assert!(
        !seen.iter().any(|e| matches!(
            e,
            SessionEvent::SessionDisconnected(_)
                | SessionEvent::Signal(_)
                | SessionEvent::MuteForced(_)
        )),
        "{seen:?}"
    );
    // A REST credential is no WHIP bearer token.
    let whip = http
        .post(format!("{}/v1/whip/{sid}", server.url()))
        .header("Authorization", format!("Bearer {}", auth(&server)))
        .header("Content-Type", "application/sdp")
        .body("v=0\r\n")
        .send()
        .await
        .unwrap();
    assert_eq!(whip.status(), 401);
}

/// L4: with a metrics token configured, `/metrics` answers only to it.
#[tokio::test]
async fn metrics_can_require_a_bearer_token() {
    let mut config = otter_server::ServerConfig::with_project(API_KEY, API_SECRET);
    config.metrics_token = Some(otter_server::config::BearerToken("m-token".into()));
    let server = TestServer::with_config(config).await;
    let http = reqwest::Client::new();
    let url = format!("{}/metrics", server.url());
    for bad in [
        None,
        Some("Bearer wrong"),
        Some("m-token"),
        Some("Bearer m-token2"),
    ] {
        let mut request = http.get(&url);
        if let Some(v) = bad {
            request = request.header("Authorization", v);
        }
        assert_eq!(request.send().await.unwrap().status(), 401, "{bad:?}");
    }
    let ok = http
        .get(&url)
        .header("Authorization", "Bearer m-token")
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    assert!(ok.text().await.unwrap().contains("otter_connections"));
    assert!(!format!("{:?}", server.server.state().config).contains("m-token"));
}
