//! `otter bench fanout-receivers` (hidden): the receiving side of `otter bench fanout`, in a process of
//! its own so that the server's CPU is measured alone. One session holds every subscription to one
//! stream; all but one are count-only (RTP counted, never decoded), and one decoding "probe" reads the
//! noise source's stamps for glass-to-glass latency.
//!
//! For each step it grows to that many subscribers, waits for them to settle (keyframes arrive), then
//! prints `window_start`, waits the measuring time and prints `window_end` with the window's counts.
//! The parent reads the server's CPU at those two lines and decides whether to go on.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::bail;
use clap::Args;
use futures_util::StreamExt;
use otter_rtc::{Session, SessionOptions, Stream, Subscriber, SubscriberProperties};
use serde_json::json;

use crate::bench_support::{raise_fd_limit, KEY};

#[derive(Args)]
pub struct FanoutReceiversArgs {
    /// The server's base URL.
    #[arg(long)]
    url: String,
    /// The session.
    #[arg(long)]
    session: String,
    /// A token for it.
    #[arg(long)]
    token: String,
    /// The stream to subscribe to.
    #[arg(long)]
    stream: String,
    /// Subscriber counts to step through, e.g. 25,50,100.
    #[arg(long, value_delimiter = ',', required = true)]
    steps: Vec<usize>,
    /// Seconds between the last subscription of a step and its window.
    #[arg(long, default_value_t = 2.0)]
    settle: f64,
    /// Seconds measured per step.
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
    /// Subscriptions negotiated at once.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
}

/// One subscriber's counters at a window's start.
#[derive(Clone, Copy, Default)]
struct Counts {
    packets: u64,
    lost: u64,
    bytes: u64,
}

fn counts(sub: &Subscriber) -> Counts {
    let s = sub.stats();
    Counts {
        packets: s.video_packets_received,
        lost: s.video_packets_lost,
        bytes: s.bytes_received,
    }
}

pub async fn run(args: FanoutReceiversArgs) -> anyhow::Result<ExitCode> {
    let most = args.steps.iter().copied().max().unwrap_or(0);
    raise_fd_limit(most * 8);
    let session = Session::init(
        KEY,
        args.session.as_str(),
        SessionOptions::with_api_url(&args.url),
    );
    session
        .connect(&args.token)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let stream = find_stream(&session, &args.stream).await?;
    let count_only = SubscriberProperties {
        subscribe_to_audio: false,
        decode_video: false,
        ..Default::default()
    };
    let probe_props = SubscriberProperties {
        subscribe_to_audio: false,
        ..Default::default()
    };
    let mut subs: Vec<Subscriber> = Vec::new();
    let mut failed = 0usize;
    for &n in &args.steps {
        let started = Instant::now();
        // The probe is one of the n; the others only count.
        let wanted = n.saturating_sub(1).saturating_sub(subs.len());
        let results: Vec<_> = futures_util::stream::iter(0..wanted)
            .map(|_| session.subscribe(&stream, count_only.clone()))
            .buffer_unordered(args.concurrency.max(1))
            .collect()
            .await;
        for result in results {
            match result {
                Ok(sub) => subs.push(sub),
                Err(e) => {
                    failed += 1;
                    tracing::warn!(error = %e, "a fan-out subscription failed");
                }
            }
        }
        // A fresh probe per step, so its latency figures cover this step only.
        let probe = session
            .subscribe(&stream, probe_props.clone())
            .await
            .map_err(|e| anyhow::anyhow!("probe: {e}"))?;
        crate::emit(
            &json!({"event": "subscribed", "subscribers": subs.len() + 1,
            "failed": failed, "seconds": started.elapsed().as_secs_f64()}),
        );
        tokio::time::sleep(Duration::from_secs_f64(args.settle)).await;
        let before: Vec<Counts> = subs.iter().map(counts).collect();
        crate::emit(&json!({"event": "window_start", "subscribers": subs.len() + 1}));
        let window = Instant::now();
        tokio::time::sleep(Duration::from_secs_f64(args.seconds)).await;
        let after: Vec<Counts> = subs.iter().map(counts).collect();
        let seconds = window.elapsed().as_secs_f64();
        let mut line = window_totals(&before, &after);
        let probe_stats = probe.stats();
        line["event"] = json!("window_end");
        line["subscribers"] = json!(subs.len() + 1);
        line["seconds"] = json!(seconds);
        line["probe_latency_ms_p50"] = json!(probe_stats.pattern_latency_ms_p50);
        line["probe_latency_ms_p95"] = json!(probe_stats.pattern_latency_ms_p95);
        line["probe_frames"] = json!(probe_stats.frames_decoded);
        crate::emit(&line);
        probe.unsubscribe().await;
    }
    crate::emit(&json!({"event": "done"}));
    // Dropping the subscribers unsubscribes them in the background; the parent usually kills us first.
    session.disconnect().await;
    Ok(ExitCode::SUCCESS)
}

/// Sums a window over the count-only subscribers. A subscriber that received nothing in the window
/// shows no sequence gaps, so it is charged as many packets as the best one got.
fn window_totals(before: &[Counts], after: &[Counts]) -> serde_json::Value {
    let (mut packets, mut lost, mut bytes, mut silent) = (0u64, 0u64, 0u64, 0u64);
    let (mut best, mut worst_loss) = (0u64, 0.0f64);
    for (b, a) in before.iter().zip(after) {
        let (p, l) = (a.packets - b.packets, a.lost.saturating_sub(b.lost));
        packets += p;
        lost += l;
        bytes += a.bytes - b.bytes;
        best = best.max(p + l);
        if p == 0 {
            silent += 1;
        } else {
            worst_loss = worst_loss.max(l as f64 / (p + l) as f64);
        }
    }
    let missing = lost + silent * best;
    let expected = (packets + missing).max(1);
    json!({
        "counted": before.len(),
        "packets": packets,
        "lost": lost,
        "silent": silent,
        "bytes": bytes,
        "loss": missing as f64 / expected as f64,
        "worst_subscriber_loss": if silent > 0 { 1.0 } else { worst_loss },
    })
}

async fn find_stream(session: &Session, stream_id: &str) -> anyhow::Result<Stream> {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Some(s) = session
            .streams()
            .into_iter()
            .find(|s| s.stream_id.as_str() == stream_id)
        {
            return Ok(s);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bail!("the stream {stream_id} never appeared")
}
