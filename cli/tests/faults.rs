//! Faults a deployment meets, on real processes: the server killed mid-call and restarted, a publisher's
//! process killed, the media port black-holed for five seconds, a client whose clock is ten minutes off.
//! Each test starts its own `otter serve` on free loopback ports and ends everything it started.

mod common;

use std::io::Write;
use std::net::{TcpListener, UdpSocket};
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{output, Running};

const KEY: &str = "4711";
const SECRET: &str = "fault-suite-secret";

fn free_tcp_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A server configuration file; removed on drop.
struct Config(PathBuf);

impl Config {
    fn new(name: &str, limits: &str, udp_port: u16) -> Self {
        let path =
            std::env::temp_dir().join(format!("otter-fault-{name}-{}.toml", std::process::id()));
        let text = format!(
            "[[projects]]\napi_key = \"{KEY}\"\napi_secret = \"{SECRET}\"\n[limits]\n{limits}\n[media]\nudp_port = {udp_port}\n"
        );
        std::fs::write(&path, text).unwrap();
        Self(path)
    }
}

impl Drop for Config {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn serve(config: &Config, port: u16) -> (Running, String) {
    let listen = format!("127.0.0.1:{port}");
    let server = Running::start(&[
        "serve",
        "--config",
        config.0.to_str().unwrap(),
        "--listen",
        &listen,
    ]);
    let ready = server.expect("listening", |_| true);
    (server, ready["url"].as_str().unwrap().to_owned())
}

fn new_session(url: &str) -> String {
    output(&[
        "session",
        "create",
        "--url",
        url,
        "--api-key",
        KEY,
        "--api-secret",
        SECRET,
    ])
}

fn token(session: &str) -> String {
    output(&[
        "token",
        "--api-key",
        KEY,
        "--api-secret",
        SECRET,
        "--session",
        session,
    ])
}

/// `otter join` with `extra` arguments.
fn join(url: &str, session: &str, extra: &[&str]) -> Running {
    join_with(&[], &[], url, session, extra)
}

/// `otter join` publishing a small test pattern with `audio`, subscribing to nothing.
fn publish_pattern(url: &str, session: &str, audio: &str) -> Running {
    let args = [
        "--publish",
        "test-pattern",
        "--audio",
        audio,
        "--resolution",
        "160x120",
    ];
    join(
        url,
        session,
        &[&args[..], &["--fps", "10", "--subscribe", "none"]].concat(),
    )
}

fn join_with(
    wrapper: &[&str],
    env: &[(&str, &str)],
    url: &str,
    session: &str,
    extra: &[&str],
) -> Running {
    let token = token(session);
    let mut args = vec![
        "join",
        "--url",
        url,
        "--api-key",
        KEY,
        "--session",
        session,
        "--token",
        &token,
    ];
    args.extend_from_slice(extra);
    Running::start_with(wrapper, env, &args)
}

#[test]
fn a_killed_server_ends_the_call_at_the_window_and_a_restarted_one_takes_new_joins() {
    let (port, udp) = (free_tcp_port(), free_udp_port());
    let config = Config::new("killed", "reconnect_window = 3000", udp);
    let (mut server, url) = serve(&config, port);
    let session = new_session(&url);
    let mut a = join(&url, &session, &["--duration", "120"]);
    a.expect("session_connected", |_| true);
    let mut b = join(&url, &session, &["--duration", "120"]);
    b.expect("session_connected", |_| true);
    a.expect("connection_created", |_| true);

    server.kill_hard();
    let killed = Instant::now();
    for (name, client) in [("A", &mut a), ("B", &mut b)] {
        let reconnecting =
            client.expect_within(Duration::from_secs(10), "session_reconnecting", |_| true);
        assert!(
            reconnecting.is_some(),
            "{name} never said it was reconnecting"
        );
        let gone = client
            .expect_within(Duration::from_secs(10), "session_disconnected", |_| true)
            .unwrap_or_else(|| panic!("{name} hung after the server died"));
        assert_eq!(gone["reason"], "NetworkDisconnected");
        assert_eq!(client.wait_exit(), 2, "{name} exits as a lost session");
    }
    // The window is 3 s: both gave up well before a hang would be suspected.
    assert!(
        killed.elapsed() < Duration::from_secs(12),
        "{:?}",
        killed.elapsed()
    );

    // The same server comes back on the same port: a new participant joins the same session ID.
    let (_server, url) = serve(&config, port);
    let c = join(&url, &session, &["--duration", "2"]);
    c.expect("session_connected", |_| true);
}

#[test]
fn a_killed_publishers_stream_is_gone_within_ten_seconds() {
    let config = Config::new("publisher", "", 0);
    let (_server, url) = serve(&config, 0);
    let session = new_session(&url);
    let mut publisher = publish_pattern(&url, &session, "none");
    let created = publisher.expect("stream_created", |v| v["publisher"] == true);
    let stream_id = created["stream_id"].as_str().unwrap().to_owned();
    let viewer = join(&url, &session, &["--duration", "60"]);
    viewer.expect("video_data_received", |v| {
        v["stream_id"] == stream_id.as_str()
    });

    publisher.kill_hard();
    let killed = Instant::now();
    let destroyed = viewer
        .expect_within(Duration::from_secs(10), "stream_destroyed", |v| {
            v["stream_id"] == stream_id.as_str()
        })
        .expect("the killed publisher's stream stayed announced for 10 s");
    eprintln!(
        "stream_destroyed {:?} after the kill, reason {}",
        killed.elapsed(),
        destroyed["reason"]
    );
}

/// Drops every UDP packet to or from `port` on this host while alive (an nftables table of its own).
struct BlackHole(String);

impl BlackHole {
    fn new(port: u16) -> Self {
        let table = format!("otter_fault_{}", std::process::id());
        let rules = format!(
            "table inet {table} {{\n chain input {{\n  type filter hook input priority 0; policy accept;\n  udp dport {port} drop\n  udp sport {port} drop\n }}\n}}\n"
        );
        let mut nft = Command::new("nft")
            .args(["-f", "-"])
            .stdin(std::process::Stdio::piped())
            .spawn()
            .expect("nft runs (make deps installs nftables)");
        nft.stdin
            .take()
            .unwrap()
            .write_all(rules.as_bytes())
            .unwrap();
        assert!(
            nft.wait().unwrap().success(),
            "nft could not add the black hole (root needed)"
        );
        Self(table)
    }
}

impl Drop for BlackHole {
    fn drop(&mut self) {
        let _ = Command::new("nft")
            .args(["delete", "table", "inet", &self.0])
            .status();
    }
}

#[test]
fn media_returns_after_the_media_port_is_black_holed_for_five_seconds() {
    let udp = free_udp_port();
    let config = Config::new("blackhole", "", udp);
    let (_server, url) = serve(&config, 0);
    let session = new_session(&url);
    let _publisher = publish_pattern(&url, &session, "tone:440");
    let viewer = join(&url, &session, &["--duration", "90"]);
    // Reads the viewer's lines for `wait`: the latest decoded-frame count, and anything that would
    // mean the call was lost or re-joined.
    let mut lost = Vec::new();
    let mut frames = 0;
    let mut read_for = |wait: Duration| {
        let end = Instant::now() + wait;
        while let Ok(v) = viewer
            .lines
            .recv_timeout(end.saturating_duration_since(Instant::now()))
        {
            match v["event"].as_str() {
                Some("stats") => frames = v["frames_decoded"].as_u64().unwrap_or(frames),
                Some("stream_destroyed" | "session_disconnected" | "session_reconnecting") => {
                    lost.push(v)
                }
                _ => {}
            }
        }
        frames
    };
    let deadline = Instant::now() + Duration::from_secs(15);
    while read_for(Duration::from_secs(1)) < 10 {
        assert!(Instant::now() < deadline, "no media before the fault");
    }
    let hole = BlackHole::new(udp);
    read_for(Duration::from_secs(1));
    let cut_start = read_for(Duration::from_millis(1100));
    let cut_end = read_for(Duration::from_secs(3));
    drop(hole);
    assert!(
        cut_end <= cut_start + 2,
        "frames kept coming through the black hole: {cut_start} → {cut_end}"
    );
    // Back without re-joining: the same viewer decodes new frames of the same stream.
    let deadline = Instant::now() + Duration::from_secs(15);
    while read_for(Duration::from_secs(1)) < cut_end + 10 {
        assert!(
            Instant::now() < deadline,
            "media did not come back after the black hole"
        );
    }
    assert!(lost.is_empty(), "{lost:?}");
}

#[test]
fn a_client_whose_clock_is_ten_minutes_off_joins_with_a_fresh_token() {
    let config = Config::new("clock", "", 0);
    let (_server, url) = serve(&config, 0);
    let session = new_session(&url);
    let host = join(&url, &session, &["--duration", "30"]);
    host.expect("session_connected", |_| true);
    for offset in ["+10m", "-10m"] {
        // Only the wall clock is off (timers run on the monotonic clock, as on a real machine).
        let skewed = join_with(
            &["faketime", "-f", offset],
            &[("FAKETIME_DONT_FAKE_MONOTONIC", "1")],
            &url,
            &session,
            &["--signal", "chat:hello from the future", "--duration", "2"],
        );
        skewed
            .expect_within(Duration::from_secs(10), "session_connected", |_| true)
            .unwrap_or_else(|| panic!("a client {offset} off could not join"));
        host.expect("signal", |v| v["data"] == "hello from the future");
    }
}
