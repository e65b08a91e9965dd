//! Hostile input: random, truncated and oversized frames, and random tokens, thrown at a real server.
//! Nothing may panic (a panic hook counts them), nothing may hang, and a healthy session on the same
//! server keeps working throughout.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::*;
use futures_util::{SinkExt, StreamExt};
use otter_protocol::{ClientMessage, Role, ServerMessage, MAX_FRAME_BYTES};
use otter_rtc::{SessionEvent, SignalRequest};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use tokio_tungstenite::tungstenite::Message;

static PANICS: AtomicUsize = AtomicUsize::new(0);

/// What an attacker sends after opening the socket.
#[derive(Debug, Clone)]
enum Attack {
    /// Arbitrary text as the first frame.
    Text(String),
    /// Arbitrary bytes as a binary frame.
    Binary(Vec<u8>),
    /// A valid connect message cut short.
    Truncated(usize),
    /// A connect with a random token.
    Token(String),
    /// A valid join, then random text frames mid-session.
    AfterJoin(Vec<String>),
}

fn attack() -> impl Strategy<Value = Attack> {
    prop_oneof![
        ".{0,200}".prop_map(Attack::Text),
        "\\{\"type\":\"(connect|resume|signal|ping|leave)\".{0,80}".prop_map(Attack::Text),
        proptest::collection::vec(any::<u8>(), 0..200).prop_map(Attack::Binary),
        (0usize..400).prop_map(Attack::Truncated),
        ".{0,300}".prop_map(Attack::Token),
        "T1==[A-Za-z0-9+/=]{0,120}".prop_map(Attack::Token),
        "[A-Za-z0-9_-]{1,40}\\.[A-Za-z0-9_-]{1,80}\\.[A-Za-z0-9_-]{0,40}".prop_map(Attack::Token),
        proptest::collection::vec(".{0,120}", 1..5).prop_map(Attack::AfterJoin),
    ]
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Reads until the server closes or goes quiet; fails if it neither answers nor closes in time.
async fn read_until_quiet(ws: &mut Ws) -> Vec<ServerMessage> {
    let mut got = Vec::new();
    while let Ok(Some(Ok(m))) = tokio::time::timeout(Duration::from_millis(300), ws.next()).await {
        match m {
            Message::Text(t) => {
                let m = ServerMessage::decode(&t).ok();
                let last = matches!(m, Some(ServerMessage::Pong { ts: 7 }));
                got.extend(m);
                if last {
                    break;
                }
            }
            Message::Close(_) => break,
            _ => {}
        }
    }
    got
}

async fn run_attack(
    server: &TestServer,
    sid: &otter_rtc::SessionId,
    attack: Attack,
) -> Result<(), TestCaseError> {
    let url = format!("ws://{}/v1/signal", server.server.addr);
    let (mut ws, _) = tokio_tungstenite::connect_async(url)
        .await
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    let connect = |token: String| {
        ClientMessage::Connect {
            version: 1,
            application_id: API_KEY.into(),
            session_id: sid.clone(),
            token,
        }
        .encode()
    };
    let frames: Vec<Message> = match &attack {
        Attack::Text(t) => vec![Message::Text(t.clone().into())],
        Attack::Binary(b) => vec![Message::Binary(b.clone().into())],
        Attack::Truncated(n) => {
            let full = connect(server.token(sid, Role::Publisher, ""));
            vec![Message::Text(
                full[..(*n).min(full.len().saturating_sub(1))]
                    .to_string()
                    .into(),
            )]
        }
        Attack::Token(t) => vec![Message::Text(connect(t.clone()).into())],
        Attack::AfterJoin(texts) => std::iter::once(Message::Text(
            connect(server.token(sid, Role::Publisher, "")).into(),
        ))
        .chain(texts.iter().map(|t| Message::Text(t.clone().into())))
        .chain(std::iter::once(Message::Text(
            ClientMessage::Ping { ts: 7 }.encode().into(),
        )))
        .collect(),
    };
    for f in frames {
        if ws.send(f).await.is_err() {
            return Ok(()); // closed on us: acceptable
        }
    }
    let replies = read_until_quiet(&mut ws).await;
    match attack {
        Attack::AfterJoin(_) => {
            // Still alive after the garbage: the trailing ping is answered.
            prop_assert!(
                replies
                    .iter()
                    .any(|m| matches!(m, ServerMessage::Pong { ts: 7 })),
                "{replies:?}"
            );
            let _ = ws
                .send(Message::Text(ClientMessage::Leave.encode().into()))
                .await;
        }
        Attack::Token(_) => {
            let refused = replies.iter().any(|m| matches!(m, ServerMessage::Error { error } if error.code == 1004 || error.code == 400));
            prop_assert!(refused, "{replies:?}");
        }
        _ => {
            let joined = replies
                .iter()
                .any(|m| matches!(m, ServerMessage::Connected { .. }));
            prop_assert!(!joined, "garbage joined a session: {replies:?}");
        }
    }
    Ok(())
}

#[test]
fn hostile_frames_and_tokens_never_panic_the_server() {
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        PANICS.fetch_add(1, Ordering::SeqCst);
        default_hook(info);
    }));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let (server, sid, a, b) = rt.block_on(async {
        let server = TestServer::start().await;
        let sid = server.new_session_id();
        let a = server.client(&sid, Role::Publisher, "").await;
        let b = server.client(&sid, Role::Publisher, "").await;
        (server, sid, a, b)
    });
    let mut runner = TestRunner::new(Config {
        cases: 300,
        failure_persistence: None,
        ..Config::default()
    });
    let round = std::cell::Cell::new(0u32);
    let a = tokio::sync::Mutex::new(a);
    runner
        .run(&attack(), |attack| {
            round.set(round.get() + 1);
            let round = round.get();
            rt.block_on(async {
                run_attack(&server, &sid, attack).await?;
                // Every tenth round, the healthy pair still talks.
                if round.is_multiple_of(10) {
                    b.session
                        .signal(SignalRequest::new("alive", round.to_string()))
                        .await
                        .map_err(|e| TestCaseError::fail(e.to_string()))?;
                    let want = round.to_string();
                    a.lock()
                        .await
                        .wait("healthy signal", |e| match e {
                            SessionEvent::Signal(s) if s.data == want => Some(()),
                            _ => None,
                        })
                        .await;
                }
                Ok(())
            })
        })
        .unwrap();

    // An oversized frame is refused with 1009 and does not disturb anyone.
    rt.block_on(async {
        let url = format!("ws://{}/v1/signal", server.server.addr);
        let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        let _ = ws
            .send(Message::Text("x".repeat(MAX_FRAME_BYTES + 1).into()))
            .await;
        let closed = tokio::time::timeout(WAIT, async {
            loop {
                match ws.next().await {
                    Some(Ok(Message::Close(frame))) => return frame.map(|f| u16::from(f.code)),
                    Some(Ok(_)) => continue,
                    _ => return None,
                }
            }
        })
        .await
        .unwrap();
        assert!(closed.is_none() || closed == Some(1009), "{closed:?}");
        b.session
            .signal(SignalRequest::new("alive", "end"))
            .await
            .unwrap();
        a.lock()
            .await
            .wait("final signal", |e| {
                matches!(e, SessionEvent::Signal(s) if s.data == "end").then_some(())
            })
            .await;
        // The last attackers' goodbyes may still be on their way through their socket tasks.
        let metrics = server.server.state().metrics.clone();
        let deadline = std::time::Instant::now() + WAIT;
        while metrics.connections.get() != 2 {
            assert!(
                std::time::Instant::now() < deadline,
                "attackers left {} connections behind",
                metrics.connections.get() - 2
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    assert_eq!(PANICS.load(Ordering::SeqCst), 0, "the server panicked");
}
