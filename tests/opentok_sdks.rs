//! The official OpenTok server SDKs (npm `opentok`, PyPI `opentok`) against a real Otter server:
//! create a session, mint JWT and `T1==` tokens that our client joins with, list streams, signal,
//! force-mute and force-disconnect, and see bad credentials refused. `make test` installs both SDKs
//! (`tests/sdk-compat/`); without them these tests fail and say how to get them.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::*;
use otter_rtc::{DisconnectReason, Session, SessionEvent, StreamChange, VideoType};
use serde_json::{json, Value};

fn compat_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sdk-compat")
}

/// An SDK script whose JSON lines arrive on a channel.
struct Script {
    child: Child,
    lines: mpsc::Receiver<Value>,
}

impl Script {
    fn start(mut command: Command, url: &str) -> Self {
        let mut child = command
            .args([url, API_KEY, API_SECRET])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start the SDK script ({e}); `make test` installs the SDKs: {command:?}"
                )
            });
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(
                    serde_json::from_str(&line)
                        .unwrap_or_else(|_| json!({ "step": "noise", "line": line })),
                );
            }
        });
        Self { child, lines }
    }

    async fn step(&self, name: &str) -> Value {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            match self.lines.try_recv() {
                Ok(v) if v["step"] == name => return v,
                Ok(v) if v["step"] == "failed" => panic!(
                    "the SDK script failed:\n{}",
                    v["error"].as_str().unwrap_or("")
                ),
                Ok(_) => continue,
                Err(mpsc::TryRecvError::Disconnected) => {
                    panic!("the SDK script ended before step {name}")
                }
                Err(mpsc::TryRecvError::Empty) => {
                    assert!(
                        std::time::Instant::now() < deadline,
                        "no step {name} from the SDK script"
                    );
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }
    }

    fn send(&mut self, v: Value) {
        let stdin = self.child.stdin.as_mut().unwrap();
        writeln!(stdin, "{v}").unwrap();
        stdin.flush().unwrap();
    }
}

impl Drop for Script {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn join(server: &TestServer, session_id: &str, token: &str) -> Client {
    let session = Session::init(API_KEY, session_id, server.options());
    let events = session.events();
    session
        .connect(token)
        .await
        .unwrap_or_else(|e| panic!("a token minted by the SDK was refused: {e}"));
    Client { session, events }
}

fn signal_data(e: &SessionEvent) -> Option<(String, bool)> {
    match e {
        SessionEvent::Signal(s) if s.signal_type == "sdk" => {
            Some((s.data.clone(), s.from.is_none()))
        }
        _ => None,
    }
}

/// F1: a session token the SDK made (any role, however short-lived) is refused on REST routes.
async fn assert_not_a_rest_credential(server: &TestServer, session_id: &str, token: &str) {
    let http = reqwest::Client::new();
    let base = format!("{}/v2/project/{API_KEY}/session/{session_id}", server.url());
    let requests = [
        http.get(format!("{base}/stream")),
        http.post(format!("{}/session/create", server.url()))
            .form(&[("p2p.preference", "enabled")]),
        http.post(format!("{base}/mute"))
            .json(&json!({"active": true})),
        http.delete(format!("{base}/connection/nobody")),
    ];
    for request in requests {
        let response = request
            .header("X-OPENTOK-AUTH", token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 403, "{:?}", response.url());
    }
}

/// The whole exchange, the same for both SDKs.
async fn drive(command: Command, sdk: &str) {
    let server = TestServer::start().await;
    let mut script = Script::start(command, &server.url());
    let created = script.step("created").await;
    let session_id = created["session_id"].as_str().unwrap();
    for kind in ["jwt", "short"] {
        assert_not_a_rest_credential(&server, session_id, created[kind].as_str().unwrap()).await;
    }
    let mut moderator = join(&server, session_id, created["jwt"].as_str().unwrap()).await;
    assert_eq!(
        moderator.session.connection().unwrap().data,
        format!("sdk={sdk}")
    );
    assert!(
        moderator.session.capabilities().can_force_disconnect,
        "the JWT's moderator role was not honoured"
    );
    let legacy = created["legacy"].as_str().unwrap();
    assert!(legacy.starts_with("T1=="), "{legacy}");
    let mut member = join(&server, session_id, legacy).await;
    assert_eq!(
        member.session.connection().unwrap().data,
        format!("sdk={sdk}-legacy")
    );

    let publish = otter_rtc::session_core::Request::Publish {
        name: "sdk-stream".into(),
        has_audio: true,
        has_video: true,
        video_type: VideoType::Camera,
        video_dimensions: (640, 480),
        sdp_offer: None,
    };
    let stream = moderator
        .session
        .send_request(publish)
        .await
        .unwrap()
        .stream
        .unwrap();
    script.send(
        json!({ "connection_id": member.id().as_str(), "stream_id": stream.stream_id.as_str() }),
    );

    let streams = script.step("streams").await;
    assert_eq!(streams["ids"], json!([stream.stream_id.as_str()]));
    assert_eq!(streams["names"], json!(["sdk-stream"]));
    assert_eq!(streams["one"], stream.stream_id.as_str());

    script.step("signalled_and_muted").await;
    let hello = format!("hello from {sdk}");
    let just_you = format!("just you, from {sdk}");
    assert_eq!(
        member.wait("broadcast", signal_data).await,
        (hello.clone(), true)
    );
    assert_eq!(member.wait("targeted", signal_data).await, (just_you, true));
    assert_eq!(
        moderator.wait("broadcast", signal_data).await,
        (hello, true)
    );
    let muted = member
        .wait("has_audio off", |e| match e {
            SessionEvent::StreamPropertyChanged(p) => match p.change {
                StreamChange::HasAudio { new_value, .. } => Some(new_value),
                _ => None,
            },
            _ => None,
        })
        .await;
    assert!(!muted);
    let told = moderator
        .wait("mute_forced", |e| match e {
            SessionEvent::MuteForced(m) => Some(m.stream_id.clone()),
            _ => None,
        })
        .await;
    assert_eq!(told, Some(stream.stream_id.clone()));
    assert!(
        member
            .wait("mute all", |e| match e {
                SessionEvent::MuteForced(m) => Some(m.active),
                _ => None,
            })
            .await
    );
    // The moderator heard no targeted signal.
    let extra: Vec<_> = moderator
        .drain_for(Duration::from_millis(200))
        .await
        .iter()
        .filter_map(signal_data)
        .collect();
    assert!(extra.is_empty(), "{extra:?}");

    let disconnected = script.step("disconnected").await;
    let reason = member
        .wait("forced out", |e| match e {
            SessionEvent::SessionDisconnected(d) => Some(d.reason),
            _ => None,
        })
        .await;
    assert_eq!(reason, DisconnectReason::ForceDisconnected);
    assert!(
        !disconnected["second_attempt_error"].is_null(),
        "a second force-disconnect should fail: {disconnected}"
    );

    let done = script.step("done").await;
    assert!(
        !done["bad_auth_error"].is_null(),
        "a wrong secret was accepted: {done}"
    );
    if sdk == "python" {
        assert_eq!(done["bad_auth_error"], "AuthError");
    }
}

#[tokio::test]
async fn the_node_sdk_works_against_otter() {
    let dir = compat_dir();
    assert!(
        dir.join("node_modules/opentok").exists(),
        "the Node SDK is not installed: run `make sdk-deps` (part of `make test`)"
    );
    let mut command = Command::new("node");
    command.arg(dir.join("node_sdk.js"));
    drive(command, "node").await;
}

#[tokio::test]
async fn the_python_sdk_works_against_otter() {
    let python = std::env::var_os("OTTER_SDK_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| compat_dir().join(".venv/bin/python"));
    assert!(
        python.exists(),
        "the Python SDK is not installed at {}: run `make sdk-deps` (part of `make test`)",
        python.display()
    );
    let mut command = Command::new(python);
    command.arg(compat_dir().join("python_sdk.py"));
    drive(command, "python").await;
}
