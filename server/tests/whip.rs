//! WHIP resources live as long as their media and their token (security review F5, F10): a WHIP
//! publisher that vanishes without `DELETE` leaves no ghost stream or connection behind, and neither
//! does one whose token expires. The WHIP client is a str0m peer driven by the test.

#[path = "sfu_support.rs"]
mod support;

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use otter_protocol::{ClientMessage, Role, ServerMessage, SessionId, StreamDestroyedReason};
use otter_server::tokens::{self, TokenFormat, TokenOptions};
use otter_server::{ListenOptions, RunningServer, ServerConfig};
use str0m::media::{Direction, MediaKind};
use support::{pump, pump_until, Client};
use tokio_tungstenite::tungstenite::Message;

async fn server() -> RunningServer {
    let mut config = ServerConfig::with_project("4711", "whip-secret");
    config.media.media_timeout = Duration::from_secs(1);
    otter_server::start(config, ListenOptions::default())
        .await
        .unwrap()
}

/// Publishes through WHIP with a token of `ttl`; returns the connected client and the session.
async fn whip_publish(server: &RunningServer, ttl: Duration) -> (Client, String) {
    let project = &server.state().config.projects[0];
    let sid = otter_server::session_ids::new_session_id(project, "");
    let options = TokenOptions {
        role: Role::Publisher,
        expire_in: ttl,
        ..Default::default()
    };
    let token = tokens::mint(
        project,
        &sid,
        &options,
        TokenFormat::Jwt,
        otter_server::clock::unix_secs(),
    )
    .unwrap();
    let (mut client, offer) = Client::offer(&[
        (MediaKind::Audio, Direction::SendOnly),
        (MediaKind::Video, Direction::SendOnly),
    ]);
    let response = reqwest::Client::new()
        .post(format!("{}/v1/whip/{}", server.url(), sid.as_str()))
        .header("Authorization", format!("Bearer {token}"))
        .header("Content-Type", "application/sdp")
        .body(offer)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    client.accept_answer(&response.text().await.unwrap());
    assert!(
        pump_until(&mut [&mut client], Duration::from_secs(5), |c| c[0]
            .connected)
        .await
    );
    (client, sid.as_str().to_owned())
}

async fn streams(server: &RunningServer, sid: &str) -> usize {
    let project = &server.state().config.projects[0];
    let auth = tokens::mint_rest_auth(project, otter_server::clock::unix_secs());
    let body: serde_json::Value = reqwest::Client::new()
        .get(format!(
            "{}/v2/project/4711/session/{sid}/stream",
            server.url()
        ))
        .header("X-OPENTOK-AUTH", auth)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["count"].as_u64().unwrap_or(0) as usize
}

/// Waits (pumping `clients`) until the server holds no connection, session or stream.
async fn all_gone(
    server: &RunningServer,
    sid: &str,
    clients: &mut [&mut Client],
    within: Duration,
) {
    let start = std::time::Instant::now();
    loop {
        let state = server.state();
        if state.metrics.connections.get() == 0 && state.hub.session_count() == 0 {
            assert_eq!(streams(server, sid).await, 0);
            return;
        }
        assert!(
            start.elapsed() < within,
            "after {within:?}: {} connections, {} sessions",
            state.metrics.connections.get(),
            state.hub.session_count()
        );
        pump(clients, Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_whip_publisher_that_vanishes_leaves_nothing_behind() {
    let server = server().await;
    let (mut client, sid) = whip_publish(&server, Duration::from_secs(3600)).await;
    for _ in 0..20 {
        client.send_frame();
        pump(&mut [&mut client], Duration::from_millis(10)).await;
    }
    assert_eq!(streams(&server, &sid).await, 1);
    assert_eq!(server.state().metrics.connections.get(), 1);
    // Someone in the session hears what happens.
    let project = server.state().config.projects[0].clone();
    let session = SessionId::new(sid.clone()).unwrap();
    let token = tokens::mint(
        &project,
        &session,
        &TokenOptions::default(),
        TokenFormat::Jwt,
        otter_server::clock::unix_secs(),
    )
    .unwrap();
    let url = format!("ws://{}/v1/signal", server.addr);
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let hello = ClientMessage::Connect {
        version: 1,
        application_id: "4711".into(),
        session_id: session,
        token,
    };
    ws.send(Message::Text(hello.encode().into())).await.unwrap();
    let mut next = async || loop {
        let frame = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        if let Message::Text(t) = frame {
            return ServerMessage::decode(&t).unwrap();
        }
    };
    assert!(matches!(next().await, ServerMessage::Connected { streams, .. } if streams.len() == 1));

    drop(client); // no DELETE: a crash
    let mut heard = Vec::new();
    while heard.len() < 2 {
        match next().await {
            ServerMessage::StreamDestroyed { reason, .. } => {
                heard.push(format!("stream {reason:?}"))
            }
            ServerMessage::ConnectionDestroyed { .. } => heard.push("connection".into()),
            _ => {}
        }
    }
    assert_eq!(
        heard,
        [
            format!("stream {:?}", StreamDestroyedReason::MediaStopped),
            "connection".into()
        ]
    );
    ws.send(Message::Text(ClientMessage::Leave.encode().into()))
        .await
        .unwrap();
    all_gone(&server, &sid, &mut [], Duration::from_secs(5)).await;
}

#[tokio::test]
async fn a_whip_resource_ends_with_its_token() {
    let server = server().await;
    let (mut client, sid) = whip_publish(&server, Duration::from_secs(3)).await;
    assert_eq!(streams(&server, &sid).await, 1);
    // Media keeps flowing; the token's expiry alone ends the resource.
    all_gone(&server, &sid, &mut [&mut client], Duration::from_secs(8)).await;
}
