//! A call over a thin uplink, on real kernel parts: the publisher in a network namespace behind a
//! 120 kbit/s `tbf` link with a 600 ms drop-tail buffer (what a sender that ignores its link fills),
//! measured by `otter bench network` (which sets the namespace up and takes it down). Needs root,
//! `iproute2` and `nftables`, which `make deps` installs and CI has.

mod common;
#[allow(dead_code)]
#[path = "../src/netlab.rs"]
mod netlab;

use common::{output, Running, Served};

/// Each test is a 640x480 call at 30 fps: two at once starve each other of CPU on a 2-core machine,
/// and what they measure is the link, not the scheduler.
static ONE_CALL_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn one_call_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    ONE_CALL_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The metrics of one scenario's JSON lines, by name.
fn metrics(lines: &str) -> std::collections::HashMap<String, f64> {
    lines
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| Some((v["metric"].as_str()?.to_owned(), v["value"].as_f64()?)))
        .collect()
}

/// Without congestion control this link held the picture 580 ms late behind a full buffer (and the
/// publisher's frames arrived too damaged to read); with it the encoder follows the estimate.
#[test]
fn a_publisher_behind_a_thin_uplink_adapts_instead_of_filling_the_queue() {
    let _turn = one_call_at_a_time();
    let out = output(&[
        "bench",
        "network",
        "--scenarios",
        "uplink-120k",
        "--seconds",
        "15",
    ]);
    let m = metrics(&out);
    let get = |k: &str| *m.get(k).unwrap_or_else(|| panic!("no {k} in\n{out}"));
    // Before: 580 ms behind a full buffer, or frames too damaged to read. The whole run's tail
    // holds the start-up transient (the estimate starts above the link and a rung change waits a
    // second of low estimate), which a busy machine stretches; once adapted, the queue stays empty.
    assert!(get("glass_to_glass_ms_p50") < 60.0, "{out}");
    assert!(get("glass_to_glass_ms_p95_second_half") < 300.0, "{out}");
    assert!(get("freeze_seconds_longest") < 1.0, "{out}");
    assert!(get("frames_per_second") >= 8.0, "{out}");
    assert!(get("stamped_frames_ratio") > 0.5, "{out}");
    // The publisher knows its link: an estimate within reach of the 120 kbit/s it has.
    let estimate = get("publisher_send_estimate_kbit");
    assert!((40.0..250.0).contains(&estimate), "{out}");
}

/// A client on a network that blocks UDP (every UDP packet it sends dropped by nftables) publishes
/// with no option set: its TCP candidates reach the server's ICE-TCP port, and media flows.
#[test]
fn a_publisher_whose_udp_is_blocked_gets_media_through_over_ice_tcp() {
    let _turn = one_call_at_a_time();
    let out = output(&[
        "bench",
        "network",
        "--scenarios",
        "udp-blocked",
        "--seconds",
        "8",
    ]);
    let m = metrics(&out);
    let get = |k: &str| *m.get(k).unwrap_or_else(|| panic!("no {k} in\n{out}"));
    assert!(get("frames_per_second") >= 8.0, "{out}");
    assert!(get("stamped_frames_ratio") > 0.9, "{out}");
    assert!(get("freeze_seconds_longest") < 1.0, "{out}");
}

/// Audio fallback (OpenTok's): a subscriber whose downlink loses a quarter of its packets is warned,
/// then its video stops at the server while the audio goes on; when the loss ends the video comes
/// back and the warning lifts, in that order.
#[test]
fn a_subscriber_behind_a_lossy_downlink_falls_back_to_audio_and_recovers() {
    let _turn = one_call_at_a_time();
    let lab = netlab::NetLab::new().expect("a network namespace (root, iproute2, nftables)");
    let host = lab.host_ip.to_string();
    let served = Served::start(&["--listen", &format!("{host}:0"), "--public-ip", &host]);
    let _publisher = served.join(&[
        "--publish",
        "test-pattern",
        "--audio",
        "tone",
        "--resolution",
        "320x240",
        "--fps",
        "15",
        "--subscribe",
        "none",
    ]);
    let subscriber_args = served.join_args(&[]);
    let subscriber = Running::start_with(
        &lab.exec_prefix(),
        &[],
        &subscriber_args
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    subscriber.expect("video_data_received", |_| true);

    lab.downlink_loss(25).unwrap();
    let lossy = std::time::Instant::now();
    let within = std::time::Duration::from_secs(15);
    let next = |name: &str| {
        let mut seen = Vec::new();
        loop {
            let line = subscriber
                .lines
                .recv_timeout(within)
                .unwrap_or_else(|_| panic!("no {name} line; saw {seen:?}"));
            let event = line["event"].as_str().unwrap_or_default().to_owned();
            if event == name {
                return line;
            }
            // No other step of the fallback may come first.
            assert!(
                !event.starts_with("video_"),
                "{event} before {name}: {line}"
            );
            seen.push(event);
        }
    };
    next("video_disable_warning");
    let disabled = next("video_disabled");
    assert_eq!(disabled["reason"], "quality", "{disabled}");
    let took = lossy.elapsed().as_secs_f64();
    // Audio goes on: the tone is still heard over the lossy link.
    let stats = subscriber.expect("stats", |v| v["audio_freq_hz"].as_f64().is_some());
    let hz = stats["audio_freq_hz"].as_f64().unwrap();
    assert!((hz - 440.0).abs() < 10.0, "{stats}");

    lab.downlink_loss(0).unwrap();
    let enabled = next("video_enabled");
    assert_eq!(enabled["reason"], "quality", "{enabled}");
    next("video_disable_warning_lifted");
    eprintln!("video stopped {took:.1} s into the loss");
}
