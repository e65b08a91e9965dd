//! `SessionOptions.ice_config` honoured end to end (API.md §2): media through a real TURN server
//! (coturn on loopback) when only relayed candidates may carry it, with the TURN credentials either
//! advertised by the session server or given by the app; no LAN address in the offer when asked.

mod common;

use std::time::{Duration, Instant};

use common::turn::TurnServer;
use common::*;
use otter_protocol::Role;
use otter_rtc::{
    IceConfig, IceServer, IncludeServers, Publisher, SessionEvent, SessionOptions, Subscriber,
    SubscriberProperties, TransportPolicy,
};
use otter_server::ice_servers::IceServerConfig;
use otter_server::ServerConfig;
use serde_json::Value;

const TURN_SECRET: &str = "turn-shared-secret-for-tests";

/// A session server that advertises `turn` with per-connection credentials from its secret.
async fn server_advertising(turn: &TurnServer) -> TestServer {
    let mut config = ServerConfig::with_project(API_KEY, API_SECRET);
    config.ice_servers = vec![IceServerConfig {
        urls: vec![turn.url()],
        username: None,
        credential: None,
        secret: Some(otter_server::config::BearerToken(turn.secret.clone())),
        credential_ttl_secs: Some(600),
    }];
    TestServer::with_config(config).await
}

fn relay_only(custom_servers: Vec<IceServer>, include_servers: IncludeServers) -> IceConfig {
    IceConfig {
        transport_policy: TransportPolicy::Relay,
        custom_servers,
        include_servers,
        ..Default::default()
    }
}

/// Publishes the small pattern from `publisher`, subscribes from `viewer`, and returns both once
/// frames decode and verify.
async fn pattern_between(publisher: &Client, viewer: &mut Client) -> (Publisher, Subscriber) {
    let publisher = publisher
        .session
        .publish(small_pattern())
        .await
        .expect("publishes");
    let stream = viewer
        .wait("stream_created", |e| match e {
            SessionEvent::StreamCreated(s) => Some(s.stream.clone()),
            _ => None,
        })
        .await;
    let subscriber = viewer
        .session
        .subscribe(&stream, SubscriberProperties::default())
        .await
        .expect("subscribes");
    let start = Instant::now();
    loop {
        let stats = subscriber.stats();
        if stats.pattern_frames_verified >= 10 {
            break;
        }
        assert!(start.elapsed() < WAIT, "no verified frames: {stats:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    (publisher, subscriber)
}

/// The local candidate that carries the media, the one of the transport's selected pair, from the
/// W3C stats report.
fn selected_local_candidate(report: &Value) -> Option<Value> {
    let entries = report.as_array()?;
    let of_type = |t: &'static str| entries.iter().filter(move |e| e["type"] == t);
    let pair_id = of_type("transport")
        .filter_map(|t| t["selectedCandidatePairId"].as_str())
        .find(|id| !id.is_empty())?;
    let pair = of_type("candidate-pair").find(|p| p["id"] == pair_id)?;
    // webrtc-rs 0.21 names the candidate `candidate:X` in the pair and `RTCLocalIceCandidate_candidate:X`
    // in its own entry.
    let wanted = pair["localCandidateId"].as_str()?;
    let local = of_type("local-candidate").find(|c| {
        c["id"]
            .as_str()
            .is_some_and(|id| id == wanted || id.ends_with(&format!("_{wanted}")))
    })?;
    Some(local.clone())
}

/// Its type: `host`, `srflx`, `prflx` or `relay`.
fn selected_local_candidate_type(report: &Value) -> Option<String> {
    selected_local_candidate(report)?["candidateType"]
        .as_str()
        .map(str::to_owned)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_only_media_goes_through_the_turn_server_the_session_server_advertises() {
    let turn = TurnServer::start(TURN_SECRET);
    let server = server_advertising(&turn).await;
    let sid = server.new_session_id();
    let options = SessionOptions {
        ice_config: relay_only(Vec::new(), IncludeServers::All),
        ..server.options()
    };
    let sender = server
        .client_with(&sid, Role::Publisher, "pub", options.clone())
        .await;
    let mut viewer = server
        .client_with(&sid, Role::Subscriber, "sub", options)
        .await;
    // Each connection got a credential of its own, bound to its connection ID and expiring.
    let advertised = sender.session.watch_state().borrow().ice_servers.clone();
    assert_eq!(advertised.len(), 1, "{advertised:?}");
    let username = advertised[0].username.clone().expect("a TURN user name");
    let (expiry, owner) = username.split_once(':').expect("<expiry>:<connection>");
    assert_eq!(owner, sender.id().as_str());
    let expiry: u64 = expiry.parse().unwrap();
    let now = otter_server::clock::unix_secs();
    assert!(
        (now + 590..=now + 610).contains(&expiry),
        "{expiry} vs {now}"
    );

    let (publisher, subscriber) = pattern_between(&sender, &mut viewer).await;
    for (who, report) in [
        ("publisher", publisher.get_rtc_stats_report().await),
        ("subscriber", subscriber.get_rtc_stats_report().await),
    ] {
        assert_eq!(
            selected_local_candidate_type(&report).as_deref(),
            Some("relay"),
            "{who}: {report:#}"
        );
    }
    publisher.unpublish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_apps_own_turn_server_alone_carries_relay_only_media() {
    let turn = TurnServer::start(TURN_SECRET);
    // The session server advertises nothing; the app brings its TURN server and credential.
    let server = TestServer::start().await;
    let sid = server.new_session_id();
    let username = format!("{}:app-user", otter_server::clock::unix_secs() + 600);
    let credential = otter_server::ice_servers::turn_rest_credential(&turn.secret, &username);
    let app_turn = IceServer {
        urls: vec![turn.url()],
        username: Some(username),
        credential: Some(credential),
    };
    let options = SessionOptions {
        ice_config: relay_only(vec![app_turn], IncludeServers::Custom),
        ..server.options()
    };
    let sender = server
        .client_with(&sid, Role::Publisher, "pub", options)
        .await;
    let mut viewer = server.client(&sid, Role::Subscriber, "sub").await;
    let (publisher, _subscriber) = pattern_between(&sender, &mut viewer).await;
    let report = publisher.get_rtc_stats_report().await;
    assert_eq!(
        selected_local_candidate_type(&report).as_deref(),
        Some("relay"),
        "{report:#}"
    );
    publisher.unpublish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_only_without_a_turn_server_is_a_clear_error() {
    let server = TestServer::start().await;
    let sid = server.new_session_id();
    let options = SessionOptions {
        ice_config: relay_only(Vec::new(), IncludeServers::All),
        ..server.options()
    };
    let relay_only_client = server
        .client_with(&sid, Role::Publisher, "relay", options)
        .await;
    let started = Instant::now();
    let e = relay_only_client
        .session
        .publish(small_pattern())
        .await
        .expect_err("nothing can carry relay-only media");
    assert_eq!(e.code, 1500, "{e:?}");
    assert!(e.message.contains("TURN"), "{e:?}");
    // A subscriber refuses the same way (1600), and neither waited for a timeout.
    let sender = server.client(&sid, Role::Publisher, "pub").await;
    let publisher = sender
        .session
        .publish(small_pattern())
        .await
        .expect("publishes");
    let e = relay_only_client
        .session
        .subscribe(publisher.stream(), SubscriberProperties::default())
        .await
        .expect_err("nothing can carry relay-only media");
    assert_eq!(e.code, 1600, "{e:?}");
    assert!(e.message.contains("TURN"), "{e:?}");
    assert!(started.elapsed() < WAIT, "failed late");
    publisher.unpublish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filtered_lan_candidates_stay_out_of_the_offer_and_media_still_flows() {
    let server = TestServer::start().await;
    let sid = server.new_session_id();
    let options = SessionOptions {
        ice_config: IceConfig {
            filter_out_lan_candidates: true,
            ..Default::default()
        },
        ..server.options()
    };
    let sender = server
        .client_with(&sid, Role::Publisher, "pub", options)
        .await;
    let mut viewer = server.client(&sid, Role::Subscriber, "sub").await;
    // On loopback every host candidate is a LAN one: the server learns the address from the checks
    // themselves (peer-reflexive), and media flows.
    let (publisher, _subscriber) = pattern_between(&sender, &mut viewer).await;
    let report = publisher.get_rtc_stats_report().await;
    let local = selected_local_candidate_type(&report);
    assert!(local.is_some(), "{report:#}");
    publisher.unpublish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udp_carries_media_where_it_works_though_tcp_candidates_are_gathered_too() {
    // Every client also gathers TCP candidates (so a network that blocks UDP still reaches the
    // server's ICE-TCP port: cli/tests/network.rs); where UDP works, ICE's priorities pick it.
    let server = TestServer::with_ice_tcp().await;
    let sid = server.new_session_id();
    let sender = server.client(&sid, Role::Publisher, "pub").await;
    let mut viewer = server.client(&sid, Role::Subscriber, "sub").await;
    let (publisher, subscriber) = pattern_between(&sender, &mut viewer).await;
    for (who, report) in [
        ("publisher", publisher.get_rtc_stats_report().await),
        ("subscriber", subscriber.get_rtc_stats_report().await),
    ] {
        let local = selected_local_candidate(&report);
        assert_eq!(
            local.as_ref().and_then(|c| c["protocol"].as_str()),
            Some("udp"),
            "{who}: {report:#}"
        );
    }
    publisher.unpublish().await;
}
