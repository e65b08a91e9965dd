//! A call over a thin uplink, on real kernel parts: the publisher in a network namespace behind a
//! 120 kbit/s `tbf` link with a 600 ms drop-tail buffer (what a sender that ignores its link fills),
//! measured by `otter bench network` (which sets the namespace up and takes it down). Needs root,
//! `iproute2` and `nftables`, which `make deps` installs and CI has.

mod common;

use common::output;

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
