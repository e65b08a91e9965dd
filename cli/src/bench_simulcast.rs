//! `otter bench network --scenarios simulcast` (the scenario e): one simulcasting publisher
//! (640x480@30 noise, so every layer spends its whole share) in a namespace of its own, and two
//! subscribers: one here on an open link, one (`otter join`) in a second namespace whose downlink is
//! shaped to 400 kbit/s. The open one should get the full layer; the constrained one a smaller layer at
//! a steady frame rate instead of a queue that fills and drops. Needs root.

use std::time::{Duration, Instant};

use anyhow::Context;
use otter_rtc::SubscriberProperties;
use serde_json::json;

use crate::bench_network::freezes;
use crate::bench_support::{
    join_and_find, join_args, new_session, percentile, report_line, start_publisher_in, token,
    ChildProcess, ServerProcess,
};
use crate::netlab::NetLab;

/// The constrained subscriber's downlink.
const CONSTRAINED_KBIT: u32 = 400;
/// Start-up and the first step down are left out of the figures.
const SETTLE_SECONDS: f64 = 5.0;

pub async fn run(seconds: u64, exe: Option<&std::path::Path>) -> anyhow::Result<()> {
    let publisher_lab = NetLab::new().context("setting up the publisher's namespace")?;
    let viewer_lab = NetLab::new().context("setting up the constrained subscriber's namespace")?;
    viewer_lab.shape_downlink(CONSTRAINED_KBIT)?;
    let server = ServerProcess::start_on(publisher_lab.host_ip)?;
    let session_id = new_session();
    let (mut publisher, stream_id) = start_publisher_in(
        &publisher_lab,
        exe,
        &server,
        &session_id,
        &[
            "--publish",
            "noise",
            "--audio",
            "tone",
            "--resolution",
            "640x480",
            "--fps",
            "30",
            "--subscribe",
            "none",
        ],
    )?;
    let _publisher_lines = publisher.forward_events();

    let this = std::env::current_exe().context("cannot find this executable")?;
    let token = token(&session_id);
    let duration = (seconds + 2).to_string();
    let mut args = join_args(&server, &session_id, &token);
    args.extend_from_slice(&["--subscribe", "all", "--duration", &duration]);
    let mut constrained = ChildProcess::spawn(viewer_lab.command(exe.unwrap_or(&this)), &args)?;
    let constrained_lines = constrained.forward_events();

    let (session, stream) = join_and_find(&server, &session_id, Some(&stream_id)).await?;
    let open = session
        .subscribe(&stream, SubscriberProperties::default())
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let frames = open.video_frames();
    let start = Instant::now();
    let (mut count, mut seen) = (0, Vec::new());
    let bytes_at = |s: &otter_rtc::Subscriber| s.stats().bytes_received;
    let mut bytes_settled = None;
    while start.elapsed() < Duration::from_secs(seconds) {
        let t = start.elapsed().as_secs_f64();
        if bytes_settled.is_none() && t >= SETTLE_SECONDS {
            bytes_settled = Some((t, bytes_at(&open)));
        }
        let Ok((frame, n)) =
            tokio::time::timeout(Duration::from_millis(50), frames.next_after(count)).await
        else {
            continue;
        };
        count = n;
        seen.push((start.elapsed().as_secs_f64(), frame.height()));
    }
    let open_kbit = bytes_settled.map_or(f64::NAN, |(t, b)| {
        (bytes_at(&open) - b) as f64 * 8.0 / (start.elapsed().as_secs_f64() - t) / 1000.0
    });
    open.unsubscribe().await;
    session.disconnect().await;

    // The constrained subscriber's `stats` lines, once a second: frame rate, height, bytes.
    let stats: Vec<serde_json::Value> = constrained_lines
        .try_iter()
        .filter(|v| v["event"] == "stats")
        .collect();
    if std::env::var_os("OTTER_BENCH_DEBUG").is_some() {
        for v in &stats {
            eprintln!("constrained: {v}");
        }
    }
    let settled: Vec<&serde_json::Value> = stats
        .iter()
        .skip(SETTLE_SECONDS as usize)
        .filter(|v| v["fps"].is_number())
        .collect();
    let context = |who: &str| {
        json!({
            "scenario": "simulcast",
            "subscriber": who,
            "downlink_kbit": if who == "constrained" { CONSTRAINED_KBIT } else { 0 },
            "seconds": seconds,
        })
    };
    let line = |who: &str, metric: &str, value: f64, unit: &str| {
        report_line("network", metric, value, unit, context(who))
    };

    let steady: Vec<&(f64, u32)> = seen.iter().filter(|f| f.0 >= SETTLE_SECONDS).collect();
    let span = (seconds as f64 - SETTLE_SECONDS).max(1.0);
    line(
        "open",
        "frames_per_second",
        steady.len() as f64 / span,
        "fps",
    );
    let times: Vec<f64> = steady.iter().map(|f| f.0).collect();
    let (count, total, _) = freezes(&times);
    line("open", "freezes", count as f64, "count");
    line("open", "freeze_seconds_total", total, "s");
    let mut heights: Vec<f64> = steady.iter().map(|f| f.1 as f64).collect();
    heights.sort_by(f64::total_cmp);
    line("open", "height_p50", percentile(&heights, 50.0), "px");
    line("open", "received_kbit_per_second", open_kbit, "kbit/s");

    let mut fps: Vec<f64> = settled.iter().filter_map(|v| v["fps"].as_f64()).collect();
    let mean_fps = fps.iter().sum::<f64>() / fps.len().max(1) as f64;
    fps.sort_by(f64::total_cmp);
    line("constrained", "frames_per_second", mean_fps, "fps");
    line(
        "constrained",
        "frames_per_second_p10",
        percentile(&fps, 10.0),
        "fps",
    );
    let mut heights: Vec<f64> = settled
        .iter()
        .filter_map(|v| v["height"].as_f64())
        .collect();
    heights.sort_by(f64::total_cmp);
    line(
        "constrained",
        "height_p50",
        percentile(&heights, 50.0),
        "px",
    );
    let bytes = |v: &serde_json::Value| v["bytes_received"].as_f64().unwrap_or(0.0);
    if let (Some(first), Some(last)) = (settled.first(), settled.last()) {
        let kbit = (bytes(last) - bytes(first)) * 8.0 / (settled.len().max(2) - 1) as f64 / 1000.0;
        line("constrained", "received_kbit_per_second", kbit, "kbit/s");
        line(
            "constrained",
            "received_of_capacity",
            kbit / f64::from(CONSTRAINED_KBIT),
            "ratio",
        );
    }
    Ok(())
}
