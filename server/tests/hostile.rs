//! Hostile input at every door of the server but the signalling socket (which `tests/hostile.rs` of the
//! engine covers): random, truncated, bit-flipped and replayed STUN/DTLS/SRTP at the SFU's UDP and TCP
//! ports; random SDP offers through WHIP, WHEP and the signalling path; random REST bodies. Nothing may
//! panic (a panic hook counts), and a healthy call keeps its media flowing throughout.

#[path = "sfu_support.rs"]
mod support;

use std::net::UdpSocket;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use otter_protocol::{ClientMessage, Request, Role, ServerMessage, SessionId, VideoType};
use otter_server::sfu::{Sfu, SfuConfig};
use otter_server::tokens::{self, TokenFormat, TokenOptions};
use otter_server::{ListenOptions, ServerConfig};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestRunner};
use str0m::media::{Direction, MediaKind};
use support::{delivered, publisher, pump, pump_until, subscriber, Client};
use tokio::io::AsyncWriteExt;
use tokio_tungstenite::tungstenite::Message;

static PANICS: AtomicUsize = AtomicUsize::new(0);

fn count_panics() {
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        PANICS.fetch_add(1, Ordering::SeqCst);
        default_hook(info);
    }));
}

/// What an attacker does to one datagram.
#[derive(Debug, Clone)]
enum Mangle {
    /// Random bytes whose first byte claims a protocol (STUN 0–3, DTLS 20–63, RTP/RTCP 128–191).
    Random(u8, Vec<u8>),
    /// A real packet cut short.
    Truncate(usize, usize),
    /// A real packet with one bit flipped.
    Flip(usize, usize),
    /// A real packet sent again, from a stranger's address.
    ReplayElsewhere(usize),
    /// A real packet sent again, from its own sender's address.
    ReplaySame(usize),
}

fn mangle() -> impl Strategy<Value = Mangle> {
    let first = prop_oneof![0u8..4, 20u8..64, 128u8..192, any::<u8>()];
    prop_oneof![
        (first, proptest::collection::vec(any::<u8>(), 0..1400))
            .prop_map(|(f, b)| Mangle::Random(f, b)),
        (any::<usize>(), any::<usize>()).prop_map(|(i, n)| Mangle::Truncate(i, n)),
        (any::<usize>(), any::<usize>()).prop_map(|(i, b)| Mangle::Flip(i, b)),
        any::<usize>().prop_map(Mangle::ReplayElsewhere),
        any::<usize>().prop_map(Mangle::ReplaySame),
    ]
}

#[test]
fn the_media_ports_take_random_truncated_and_replayed_packets() {
    count_panics();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut config = SfuConfig::udp("127.0.0.1:0".parse().unwrap());
        config.tcp_addr = Some("127.0.0.1:0".parse().unwrap());
        let sfu = Sfu::start(config).await.unwrap();
        let (mut publ, _) = publisher(&sfu, "s").await;
        let (mut sub, _) = subscriber(&sfu, "sub", "s").await;
        assert!(
            pump_until(&mut [&mut publ, &mut sub], Duration::from_secs(10), |c| c
                .iter()
                .all(|c| c.connected))
            .await
        );
        pump(&mut [&mut publ, &mut sub], Duration::from_millis(200)).await;
        let stranger = UdpSocket::bind("127.0.0.1:0").unwrap();
        let target = sfu.udp_addr();
        let mut tcp = tokio::net::TcpStream::connect(sfu.tcp_addr().unwrap())
            .await
            .unwrap();
        let mut runner = TestRunner::new(Config {
            cases: 1,
            failure_persistence: None,
            ..Config::default()
        });
        let mut sent_frames = Vec::new();
        let received_before = sub.received.len();
        for round in 0..120 {
            let attacks: Vec<Mangle> = (0..20)
                .map(|_| mangle().new_tree(&mut runner).unwrap().current())
                .collect();
            for attack in attacks {
                let real: Vec<Vec<u8>> = publ.sent.iter().chain(sub.sent.iter()).cloned().collect();
                let pick = |i: usize| real.get(i % real.len().max(1)).cloned().unwrap_or_default();
                match attack {
                    Mangle::Random(first, mut bytes) => {
                        bytes.insert(0, first);
                        let _ = stranger.send_to(&bytes, target);
                        // The same garbage as an RFC 4571 frame on ICE-TCP.
                        let mut framed = (bytes.len().min(u16::MAX as usize) as u16)
                            .to_be_bytes()
                            .to_vec();
                        framed.extend_from_slice(&bytes);
                        let _ = tcp.write_all(&framed).await;
                    }
                    Mangle::Truncate(i, n) => {
                        let p = pick(i);
                        let _ = stranger.send_to(&p[..n % (p.len() + 1)], target);
                    }
                    Mangle::Flip(i, bit) => {
                        let mut p = pick(i);
                        if !p.is_empty() {
                            let at = bit % (p.len() * 8);
                            p[at / 8] ^= 1 << (at % 8);
                            publ.send_raw(&p, target);
                        }
                    }
                    Mangle::ReplayElsewhere(i) => {
                        let _ = stranger.send_to(&pick(i), target);
                    }
                    Mangle::ReplaySame(i) => publ.send_raw(&pick(i), target),
                }
            }
            sent_frames.extend(publ.send_frame());
            pump(&mut [&mut publ, &mut sub], Duration::from_millis(10)).await;
            if round % 30 == 0 {
                // A TCP connection that sent garbage may have been closed: open a fresh one.
                if let Ok(t) = tokio::net::TcpStream::connect(sfu.tcp_addr().unwrap()).await {
                    tcp = t;
                }
            }
        }
        pump(&mut [&mut publ, &mut sub], Duration::from_millis(300)).await;
        let got = delivered(&sent_frames, &sub.received[received_before..]);
        assert!(
            got * 10 >= sent_frames.len() * 9,
            "delivered {got} of {}",
            sent_frames.len()
        );
        assert_eq!(sfu.stats().peers, 2, "the attack cost a healthy peer");
    });
    assert_eq!(PANICS.load(Ordering::SeqCst), 0, "the SFU panicked");
}

/// Mutations of a real offer.
#[derive(Debug, Clone)]
enum SdpAttack {
    Garbage(String),
    Truncated(usize),
    DropLine(usize),
    DuplicateLine(usize),
    ReplaceLine(usize, String),
}

fn sdp_attack() -> impl Strategy<Value = SdpAttack> {
    prop_oneof![
        ".{0,400}".prop_map(SdpAttack::Garbage),
        any::<usize>().prop_map(SdpAttack::Truncated),
        any::<usize>().prop_map(SdpAttack::DropLine),
        any::<usize>().prop_map(SdpAttack::DuplicateLine),
        (any::<usize>(), "[a-z]=[ -~]{0,80}").prop_map(|(i, l)| SdpAttack::ReplaceLine(i, l)),
    ]
}

fn apply(offer: &str, attack: &SdpAttack) -> String {
    let mut lines: Vec<String> = offer.lines().map(str::to_owned).collect();
    let n = lines.len().max(1);
    match attack {
        SdpAttack::Garbage(g) => return g.clone(),
        SdpAttack::Truncated(at) => {
            let cut = at % (offer.len() + 1);
            return offer.get(..cut).unwrap_or(offer).to_owned();
        }
        SdpAttack::DropLine(i) => {
            lines.remove(i % n);
        }
        SdpAttack::DuplicateLine(i) => {
            let l = lines[i % n].clone();
            lines.insert(i % n, l);
        }
        SdpAttack::ReplaceLine(i, l) => lines[i % n] = l.clone(),
    }
    lines.join("\r\n") + "\r\n"
}

#[test]
fn random_offers_and_rest_bodies_get_answers_not_panics() {
    count_panics();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let server = otter_server::start(
            ServerConfig::with_project("4711", "hostile-secret"),
            ListenOptions::default(),
        )
        .await
        .unwrap();
        let project = server.state().config.projects[0].clone();
        let sid: SessionId = otter_server::session_ids::new_session_id(&project, "");
        let token = |role| {
            let options = TokenOptions {
                role,
                ..Default::default()
            };
            tokens::mint(
                &project,
                &sid,
                &options,
                TokenFormat::Jwt,
                otter_server::clock::unix_secs(),
            )
            .unwrap()
        };
        let http = reqwest::Client::new();
        let (_, offer) = Client::offer(&[
            (MediaKind::Audio, Direction::SendOnly),
            (MediaKind::Video, Direction::SendOnly),
        ]);

        // A member on the signalling path throws offers too.
        let (mut ws, _) =
            tokio_tungstenite::connect_async(format!("ws://{}/v1/signal", server.addr))
                .await
                .unwrap();
        let hello = ClientMessage::Connect {
            version: 1,
            application_id: "4711".into(),
            session_id: sid.clone(),
            token: token(Role::Publisher),
        };
        ws.send(Message::Text(hello.encode().into())).await.unwrap();

        let mut runner = TestRunner::new(Config {
            cases: 150,
            failure_persistence: None,
            ..Config::default()
        });
        let round = std::cell::Cell::new(0u64);
        let ws = tokio::sync::Mutex::new(ws);
        runner
            .run(&sdp_attack(), |attack| {
                let body = apply(&offer, &attack);
                round.set(round.get() + 1);
                let id = round.get();
                rt_block(async {
                    for path in [
                        format!("/v1/whip/{}", sid.as_str()),
                        format!("/v1/whep/{}/nothing-here", sid.as_str()),
                    ] {
                        let status = http
                            .post(format!("{}{path}", server.url()))
                            .header(
                                "Authorization",
                                format!("Bearer {}", token(Role::Publisher)),
                            )
                            .header("Content-Type", "application/sdp")
                            .body(body.clone())
                            .send()
                            .await
                            .unwrap()
                            .status();
                        prop_assert!(
                            status.as_u16() < 500 || status.as_u16() == 503,
                            "{path}: {status}"
                        );
                        // A WHIP offer that happened to be accepted is a resource: let it go.
                    }
                    let publish = ClientMessage::request(
                        id,
                        Request::Publish {
                            name: "x".into(),
                            has_audio: true,
                            has_video: true,
                            video_type: VideoType::Camera,
                            video_dimensions: (640, 480),
                            sdp_offer: Some(body.clone()),
                        },
                    );
                    ws.lock()
                        .await
                        .send(Message::Text(publish.encode().into()))
                        .await
                        .unwrap();
                    Ok(())
                })
            })
            .unwrap();
        // Every publish got an answer (an error or, rarely, a stream), and the socket is still up.
        let mut ws = ws.into_inner();
        let mut replies = 0;
        while replies < 150 {
            let frame = tokio::time::timeout(Duration::from_secs(20), ws.next())
                .await
                .expect("an answer to every offer");
            if let Some(Ok(Message::Text(t))) = frame {
                if matches!(ServerMessage::decode(&t), Ok(ServerMessage::Reply { .. })) {
                    replies += 1;
                }
            }
        }

        // REST bodies: random JSON and text at every body-taking route.
        let auth = tokens::mint_rest_auth(&project, otter_server::clock::unix_secs());
        let base = format!("{}/v2/project/4711/session/{}", server.url(), sid.as_str());
        let bodies = [
            "",
            "{",
            "[]",
            "null",
            "{\"type\":1}",
            "{\"active\":\"yes\"}",
            "{\"excludedStreamIds\":{}}",
            "\u{0}\u{1}",
            "{\"data\":\"x\",\"type\":\"a b\"}",
        ];
        let routes = [
            format!("{base}/signal"),
            format!("{base}/connection/nobody/signal"),
            format!("{base}/mute"),
            format!("{base}/stream/nothing/mute"),
            format!("{}/session/create", server.url()),
        ];
        for route in &routes {
            for body in bodies
                .iter()
                .map(|b| b.to_string())
                .chain(std::iter::once("x".repeat(300_000)))
            {
                for content_type in [
                    "application/json",
                    "application/x-www-form-urlencoded",
                    "text/plain",
                ] {
                    let sent = http
                        .post(route)
                        .header("X-OPENTOK-AUTH", &auth)
                        .header("Content-Type", content_type)
                        .body(body.clone())
                        .send()
                        .await;
                    let status = match sent {
                        Ok(response) => response.status(),
                        // The server may answer 413 and close before reading all of an oversized
                        // body; the client then sees its upload cut, which is the refusal.
                        Err(e) if body.len() > 100_000 && !e.is_timeout() => continue,
                        Err(e) => panic!("{route} {content_type}: {e}"),
                    };
                    assert!(
                        status.is_client_error() || status.is_success(),
                        "{route} {content_type}: {status}"
                    );
                }
            }
        }
        // Still healthy: a proper WHIP publish is accepted.
        let ok = http
            .post(format!("{}/v1/whip/{}", server.url(), sid.as_str()))
            .header(
                "Authorization",
                format!("Bearer {}", token(Role::Publisher)),
            )
            .header("Content-Type", "application/sdp")
            .body(offer.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(ok.status(), 201);
    });
    assert_eq!(PANICS.load(Ordering::SeqCst), 0, "the server panicked");
}

/// Runs a future to completion from inside the proptest closure (which is synchronous), on a runtime of
/// its own thread: the outer runtime keeps serving.
fn rt_block<F: std::future::Future<Output = Result<(), TestCaseError>> + Send>(
    f: F,
) -> Result<(), TestCaseError> {
    tokio::task::block_in_place(|| tokio::runtime::Handle::current().block_on(f))
}
