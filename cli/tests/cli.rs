//! Drives the built `otter` binary: `serve`, `session create`, `token`, and two `join`s talking to each
//! other, all reading the JSON lines the CLI prints.

mod common;

use std::process::Command;

use common::{output, Running, Served, OTTER};

#[test]
fn serve_and_two_joins_talk_through_the_binary() {
    // The development project's key and secret are printed, and a session is made with them.
    let Served {
        mut server,
        url,
        key,
        secret,
        session,
    } = Served::start(&["--listen", "127.0.0.1:0"]);
    assert!(session.starts_with("1_"), "{session}");
    let token = |data: &str, legacy: bool| {
        let mut args = vec![
            "token",
            "--api-key",
            &key,
            "--api-secret",
            &secret,
            "--session",
            &session,
            "--data",
            data,
        ];
        if legacy {
            args.push("--legacy");
        }
        output(&args)
    };
    let token_a = token("name=A", false);
    let token_b = token("name=B", true);
    assert!(token_b.starts_with("T1=="));

    let mut a = Running::start(&[
        "join",
        "--url",
        &url,
        "--api-key",
        &key,
        "--session",
        &session,
        "--token",
        &token_a,
        "--duration",
        "20",
    ]);
    let a_connected = a.expect("session_connected", |_| true);
    assert_eq!(a_connected["data"], "name=A");
    let mut b = Running::start(&[
        "join",
        "--url",
        &url,
        "--api-key",
        &key,
        "--session",
        &session,
        "--token",
        &token_b,
        "--signal",
        "chat:hello from B",
        "--duration",
        "1",
    ]);
    let b_connected = b.expect("session_connected", |_| true);
    let b_id = b_connected["connection_id"].as_str().unwrap().to_owned();
    // B saw A as already present.
    b.expect("connection_created", |v| {
        v["connection_id"] == a_connected["connection_id"]
    });

    a.expect("connection_created", |v| {
        v["connection_id"] == b_id && v["data"] == "name=B"
    });
    let signal = a.expect("signal", |_| true);
    assert_eq!(signal["signal_type"], "chat");
    assert_eq!(signal["data"], "hello from B");
    assert_eq!(signal["from"], b_id.as_str());
    // B leaves after its duration: A sees it go, cleanly; B exits 0.
    let gone = a.expect("connection_destroyed", |v| v["connection_id"] == b_id);
    assert_eq!(gone["reason"], "ClientDisconnected");
    assert_eq!(b.wait_exit(), 0);

    // A bad token: an error line with 1004, and a non-zero exit.
    let mut bad = Running::start(&[
        "join",
        "--url",
        &url,
        "--api-key",
        &key,
        "--session",
        &session,
        "--token",
        "garbage",
    ]);
    let error = bad.expect("error", |_| true);
    assert_eq!(error["code"], 1004);
    assert_eq!(error["name"], "OT_AUTHENTICATION_ERROR");
    assert_ne!(bad.wait_exit(), 0);

    // SIGTERM: the server tells A, says it stopped, and exits 0.
    let status = Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let lost = a.expect("session_disconnected", |_| true);
    assert_eq!(lost["reason"], "NetworkDisconnected");
    server.expect("stopped", |_| true);
    assert_eq!(server.wait_exit(), 0);
    assert_eq!(
        a.wait_exit(),
        2,
        "a participant that lost its session exits 2"
    );
}

#[test]
fn token_rejects_bad_input() {
    let out = Command::new(OTTER)
        .args([
            "token",
            "--api-key",
            "1",
            "--api-secret",
            "s",
            "--session",
            "not-a-session",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid session ID"));
}

#[test]
fn join_publishes_the_test_pattern_and_a_second_join_verifies_it() {
    let served = Served::start(&["--listen", "127.0.0.1:0"]);
    let publisher = served.join(&[
        "--publish",
        "test-pattern",
        "--audio",
        "tone:440",
        "--resolution",
        "320x240",
        "--fps",
        "15",
        "--subscribe",
        "none",
        "--duration",
        "12",
    ]);
    let created = publisher.expect("stream_created", |v| v["publisher"] == true);
    let stream_id = created["stream_id"].as_str().unwrap().to_owned();
    let viewer = served.join(&["--duration", "6"]);
    viewer.expect("video_data_received", |v| {
        v["stream_id"] == stream_id.as_str()
    });
    // Wait for a stats line showing a few seconds of verified content.
    let stats = viewer.expect("stats", |v| v["frames_decoded"].as_u64().unwrap_or(0) >= 30);
    assert_eq!(stats["stream_id"], stream_id.as_str());
    assert_eq!(
        (stats["width"].as_u64(), stats["height"].as_u64()),
        (Some(320), Some(240))
    );
    assert!(
        stats["pattern_frames_verified"].as_u64().unwrap() * 10
            >= stats["frames_decoded"].as_u64().unwrap() * 9,
        "{stats}"
    );
    let hz = stats["audio_freq_hz"].as_f64().expect("a tone was heard");
    assert!((hz - 440.0).abs() <= 5.0, "{stats}");
    assert!(stats["fps"].as_f64().is_some_and(|f| f > 8.0), "{stats}");
}
