//! `otter bench media`: what one publisher and one subscriber cost and how fast pictures arrive.
//!
//! Three processes, as in real life: `otter serve`, a publishing `otter join` (whose CPU is measured from
//! `/proc`), and the subscriber here. Figures: time from `subscribe()` to the first decoded frame,
//! glass-to-glass latency from the test pattern's capture stamps, the publisher's CPU share of one core,
//! and the frame rate delivered.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use otter_rtc::SubscriberProperties;
use serde_json::json;

use crate::bench_support::{
    join_and_find, new_session, percentile, report_line, start_publisher, ServerProcess,
};

#[derive(Args)]
pub struct BenchMediaArgs {
    /// Published size.
    #[arg(long, default_value = "1280x720")]
    resolution: String,
    /// Published frame rate.
    #[arg(long, default_value_t = 30)]
    fps: u32,
    /// Codec.
    #[arg(long, default_value = "vp8", value_parser = ["vp8", "h264"])]
    codec: String,
    /// Seconds of steady state to measure latency and CPU over.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Subscribe/unsubscribe rounds for the time to first frame.
    #[arg(long, default_value_t = 10)]
    first_frame_runs: usize,
}

pub async fn run(args: BenchMediaArgs) -> anyhow::Result<ExitCode> {
    let context = json!({ "resolution": args.resolution, "fps": args.fps, "codec": args.codec });
    let report = |metric: &str, value: f64, unit: &str| {
        report_line("media", metric, value, unit, context.clone())
    };
    let server = ServerProcess::start()?;
    let session_id = new_session();
    let fps = args.fps.to_string();
    let (publisher, stream_id) = start_publisher(
        &server,
        &session_id,
        &[
            "--publish",
            "test-pattern",
            "--audio",
            "none",
            "--resolution",
            &args.resolution,
            "--fps",
            &fps,
            "--codec",
            &args.codec,
            "--subscribe",
            "none",
        ],
    )?;

    let (session, stream) = join_and_find(&server, &session_id, Some(&stream_id)).await?;

    // Time to first frame: subscribe, wait for a decoded frame, unsubscribe; repeat.
    let mut first_frame_ms = Vec::new();
    let mut connected_ms = Vec::new();
    for _ in 0..args.first_frame_runs {
        let started = Instant::now();
        let sub = session
            .subscribe(&stream, SubscriberProperties::default())
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        connected_ms.push(started.elapsed().as_secs_f64() * 1000.0);
        let frames = sub.video_frames();
        tokio::time::timeout(Duration::from_secs(10), frames.next_after(0))
            .await
            .context("no first frame")?;
        first_frame_ms.push(started.elapsed().as_secs_f64() * 1000.0);
        sub.unsubscribe().await;
    }
    first_frame_ms.sort_by(f64::total_cmp);
    connected_ms.sort_by(f64::total_cmp);
    // The part of the first frame's wait spent negotiating (offer, answer, ICE, DTLS).
    report(
        "subscribe_connected_ms_p50",
        percentile(&connected_ms, 50.0),
        "ms",
    );
    report(
        "first_frame_ms_p50",
        percentile(&first_frame_ms, 50.0),
        "ms",
    );
    report(
        "first_frame_ms_p95",
        percentile(&first_frame_ms, 95.0),
        "ms",
    );

    // Steady state: latency from the stamps, delivered rate, and the publisher's CPU.
    let sub = session
        .subscribe(&stream, SubscriberProperties::default())
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (cpu0, wall0, frames0) = (
        publisher.cpu_seconds()?,
        Instant::now(),
        sub.stats().frames_decoded,
    );
    tokio::time::sleep(Duration::from_secs(args.seconds)).await;
    let (cpu1, wall, stats) = (
        publisher.cpu_seconds()?,
        wall0.elapsed().as_secs_f64(),
        sub.stats(),
    );
    report(
        "glass_to_glass_ms_p50",
        stats.pattern_latency_ms_p50.unwrap_or(f64::NAN),
        "ms",
    );
    report(
        "glass_to_glass_ms_p95",
        stats.pattern_latency_ms_p95.unwrap_or(f64::NAN),
        "ms",
    );
    report(
        "publisher_cpu_percent_of_core",
        (cpu1 - cpu0) / wall * 100.0,
        "%",
    );
    report(
        "frames_per_second_received",
        (stats.frames_decoded - frames0) as f64 / wall,
        "fps",
    );
    report(
        "frames_verified_ratio",
        stats.pattern_frames_verified as f64 / stats.frames_decoded.max(1) as f64,
        "ratio",
    );
    sub.unsubscribe().await;
    session.disconnect().await;
    Ok(ExitCode::SUCCESS)
}
