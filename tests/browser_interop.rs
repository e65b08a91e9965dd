//! Interop with a WebRTC stack we did not write: headless Chromium (Debian's package, fake camera and
//! microphone) publishes through WHIP and our Rust subscriber decodes it; our Rust publisher's stream plays
//! in Chromium through WHEP, checked with Chromium's own `getStats`. `make test` installs Chromium and
//! playwright-core (tests/browser/); without them these tests fail and say so.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::*;
use otter_protocol::Role;
use otter_rtc::{
    AudioSourceChoice, PublisherProperties, SessionEvent, SubscriberProperties, VideoSourceChoice,
};
use serde_json::Value;

/// Chromium driven by tests/browser/webrtc_peer.js; its JSON lines arrive on a channel.
struct Browser {
    child: Child,
    lines: mpsc::Receiver<Value>,
}

impl Browser {
    fn start(mode: &str, server: &str, endpoint: &str, token: &str, seconds: u32) -> Self {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
        assert!(
            dir.join("node_modules/playwright-core").exists()
                && Path::new("/usr/bin/chromium").exists(),
            "Chromium or playwright-core is missing: run `make browser-deps` (part of `make test`)"
        );
        let mut child = Command::new("node")
            .arg(dir.join("webrtc_peer.js"))
            .args([mode, server, endpoint, token, &seconds.to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("node starts");
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Ok(v) = serde_json::from_str(&line) {
                    let _ = tx.send(v);
                }
            }
        });
        Self { child, lines }
    }

    async fn line(&self, event: &str, limit: Duration) -> Value {
        let start = Instant::now();
        loop {
            match self.lines.try_recv() {
                Ok(v) if v["event"] == event => return v,
                Ok(v) if v["event"] == "failed" => panic!("Chromium failed: {}", v["error"]),
                Ok(_) => {}
                Err(mpsc::TryRecvError::Disconnected) => {
                    panic!("the browser script ended before {event}")
                }
                Err(mpsc::TryRecvError::Empty) => {
                    assert!(start.elapsed() < limit, "no {event} from Chromium");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_publishes_through_whip_and_rust_decodes_it() {
    let server = TestServer::start().await;
    let sid = server.new_session_id();
    let mut viewer = server.client(&sid, Role::Subscriber, "rust").await;
    let token = server.token(&sid, Role::Publisher, "chromium");
    let browser = Browser::start(
        "whip",
        &server.url(),
        &format!("/v1/whip/{sid}?name=chromium"),
        &token,
        8,
    );
    let ready = browser.line("ready", Duration::from_secs(30)).await;
    assert_eq!(ready["status"], 201, "{ready}");
    assert!(
        ready["location"]
            .as_str()
            .unwrap_or("")
            .starts_with("/v1/whip/resource/"),
        "{ready}"
    );
    let stream = viewer
        .wait("stream_created", |e| match e {
            SessionEvent::StreamCreated(s) if s.stream.name == "chromium" => Some(s.stream.clone()),
            _ => None,
        })
        .await;
    assert!(stream.has_audio && stream.has_video, "{stream:?}");
    let sub = viewer
        .session
        .subscribe(&stream, SubscriberProperties::default())
        .await
        .expect("subscribes to Chromium");
    let start = Instant::now();
    loop {
        let s = sub.stats();
        if s.frames_decoded >= 30 && s.width > 0 && s.audio_level > 0.0 {
            break;
        }
        assert!(
            start.elapsed() < WAIT,
            "Chromium's media was not decoded: {s:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rust_stream_plays_in_chromium_through_whep() {
    let server = TestServer::start().await;
    let sid = server.new_session_id();
    let publisher_client = server.client(&sid, Role::Publisher, "rust").await;
    let props = PublisherProperties {
        video_source: VideoSourceChoice::TestPattern,
        audio_source: AudioSourceChoice::Tone(440.0),
        resolution: (320, 240),
        frame_rate: 15,
        ..Default::default()
    };
    let publisher = publisher_client
        .session
        .publish(props)
        .await
        .expect("publishes");
    let token = server.token(&sid, Role::Subscriber, "chromium");
    let endpoint = format!("/v1/whep/{sid}/{}", publisher.stream().stream_id);
    let browser = Browser::start("whep", &server.url(), &endpoint, &token, 5);
    let ready = browser.line("ready", Duration::from_secs(30)).await;
    assert_eq!(ready["status"], 201, "{ready}");
    let stats = browser.line("stats", Duration::from_secs(30)).await;
    assert!(
        stats["frames_decoded"].as_u64().unwrap_or(0) >= 30,
        "Chromium decoded too little: {stats}"
    );
    assert_eq!(
        (stats["width"].as_u64(), stats["height"].as_u64()),
        (Some(320), Some(240)),
        "{stats}"
    );
    assert!(
        stats["audio_packets_received"].as_u64().unwrap_or(0) >= 100,
        "{stats}"
    );

    // A bad token and an unknown stream are refused with WHEP's statuses.
    let http = reqwest::Client::new();
    let offer = "v=0\r\n";
    let bad = http
        .post(format!("{}{endpoint}", server.url()))
        .header("Authorization", "Bearer nope")
        .header("Content-Type", "application/sdp")
        .body(offer)
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 401);
    let unknown = http
        .post(format!("{}/v1/whep/{sid}/no-such-stream", server.url()))
        .header("Authorization", format!("Bearer {token}"))
        .header("Content-Type", "application/sdp")
        .body(offer)
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
}
