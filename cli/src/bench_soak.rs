//! `otter bench soak`: many clients joining, signalling, publishing and leaving at random on one server
//! for minutes, to find what leaks or gets lost. The server is a separate `otter serve` process, so its
//! memory is its own. One "sink" client stays the whole time and receives a signal from every other
//! client's every send: a signal the server accepted and the sink never got is lost.
//!
//! Reports (JSON lines): server RSS at start, after warm-up and at the end; connections and SFU peers
//! left two seconds after everyone has left cleanly (must be 0: nothing may wait for a reconnect window);
//! signals sent, received and lost; errors by code.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::Args;
use otter_protocol::SessionId;
use otter_rtc::{
    AudioSourceChoice, ConnectionId, PublisherProperties, Session, SessionEvent, SessionOptions,
    SignalRequest, VideoSourceChoice,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;

use crate::bench_support::{new_session, raise_fd_limit, report_line, token, ServerProcess, KEY};

#[derive(Args)]
pub struct BenchSoakArgs {
    /// How long the churn lasts.
    #[arg(long, default_value_t = 10.0)]
    minutes: f64,
    /// Clients churning at once.
    #[arg(long, default_value_t = 100)]
    clients: usize,
    /// Clients publishing media at once (each encodes a small test pattern).
    #[arg(long, default_value_t = 8)]
    publishers: usize,
    /// Seed of the clients' random choices.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

/// What every client adds up.
#[derive(Default)]
struct Tally {
    joins: AtomicU64,
    signals_sent: AtomicU64,
    signals_received: AtomicU64,
    publishes: AtomicU64,
    publishing: AtomicU64,
    errors: Mutex<BTreeMap<u32, u64>>,
}

impl Tally {
    fn error(&self, code: u32) {
        *self
            .errors
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(code)
            .or_default() += 1;
    }
}

fn report(metric: &str, value: f64, unit: &str) {
    report_line("soak", metric, value, unit, json!({}));
}

/// A small moving picture, no audio: cheap enough for several at once on a 2-core machine.
fn small_pattern() -> PublisherProperties {
    PublisherProperties {
        video_source: VideoSourceChoice::TestPattern,
        audio_source: AudioSourceChoice::Tone(440.0),
        publish_audio: false,
        resolution: (160, 120),
        frame_rate: 5,
        ..Default::default()
    }
}

/// One client: join, act at random, leave, pause, again, until `until`.
async fn churn(
    url: String,
    session: SessionId,
    sink: ConnectionId,
    tally: Arc<Tally>,
    max_publishers: u64,
    seed: u64,
    until: Instant,
) {
    let mut rng = StdRng::seed_from_u64(seed);
    while Instant::now() < until {
        let s = Session::init(KEY, session.as_str(), SessionOptions::with_api_url(&url));
        if let Err(e) = s.connect(&token(&session)).await {
            tally.error(e.code);
            tokio::time::sleep(Duration::from_millis(500)).await;
            continue;
        }
        tally.joins.fetch_add(1, Ordering::Relaxed);
        let mut publisher = None;
        for _ in 0..rng.gen_range(5..40) {
            if Instant::now() >= until {
                break;
            }
            match rng.gen_range(0..10) {
                0..=5 => {
                    let signal = SignalRequest::new("soak", "ping").to(sink.clone());
                    match s.signal(signal).await {
                        Ok(()) => tally.signals_sent.fetch_add(1, Ordering::Relaxed),
                        Err(e) => {
                            tally.error(e.code);
                            0
                        }
                    };
                }
                6 => {
                    if let Err(e) = s.signal(SignalRequest::new("chatter", "everyone")).await {
                        tally.error(e.code);
                    }
                }
                7 if publisher.is_none()
                    && tally.publishing.load(Ordering::Relaxed) < max_publishers =>
                {
                    tally.publishing.fetch_add(1, Ordering::Relaxed);
                    match s.publish(small_pattern()).await {
                        Ok(p) => {
                            tally.publishes.fetch_add(1, Ordering::Relaxed);
                            publisher = Some(p);
                        }
                        Err(e) => {
                            tally.publishing.fetch_sub(1, Ordering::Relaxed);
                            tally.error(e.code);
                        }
                    }
                }
                8 => {
                    if let Some(p) = publisher.take() {
                        p.unpublish().await;
                        tally.publishing.fetch_sub(1, Ordering::Relaxed);
                    }
                }
                _ => {}
            }
            tokio::time::sleep(Duration::from_millis(rng.gen_range(50..400))).await;
        }
        if let Some(p) = publisher.take() {
            // Half the time the publisher goes with the session, without unpublishing first.
            if rng.gen_bool(0.5) {
                p.unpublish().await;
            }
            drop(p);
            tally.publishing.fetch_sub(1, Ordering::Relaxed);
        }
        s.disconnect().await;
        tokio::time::sleep(Duration::from_millis(rng.gen_range(100..1000))).await;
    }
}

/// The server's `/metrics` value of `name`.
async fn metric(url: &str, name: &str) -> anyhow::Result<f64> {
    let text = reqwest::get(format!("{url}/metrics")).await?.text().await?;
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
        .ok_or_else(|| anyhow::anyhow!("no {name} in /metrics"))
}

pub async fn run(args: BenchSoakArgs) -> anyhow::Result<ExitCode> {
    raise_fd_limit(args.clients * 8 + 1024);
    let server = ServerProcess::start()?;
    let session = new_session();
    report("server_rss_start", server.rss_kib()? as f64, "KiB");

    let sink = Session::init(
        KEY,
        session.as_str(),
        SessionOptions::with_api_url(&server.url),
    );
    let mut sink_events = sink.events();
    sink.connect(&token(&session))
        .await
        .map_err(|e| anyhow::anyhow!("the sink could not join: {e}"))?;
    let sink_id = sink
        .connection()
        .map(|c| c.connection_id)
        .ok_or_else(|| anyhow::anyhow!("no sink connection"))?;
    let tally = Arc::new(Tally::default());
    let counting = {
        let tally = tally.clone();
        tokio::spawn(async move {
            while let Some(event) = sink_events.recv().await {
                if let SessionEvent::Signal(s) = event {
                    if s.signal_type == "soak" {
                        tally.signals_received.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        })
    };

    let total = Duration::from_secs_f64(args.minutes * 60.0);
    let started = Instant::now();
    let until = started + total;
    let clients: Vec<_> = (0..args.clients)
        .map(|i| {
            tokio::spawn(churn(
                server.url.clone(),
                session.clone(),
                sink_id.clone(),
                tally.clone(),
                args.publishers as u64,
                args.seed * 1000 + i as u64,
                until,
            ))
        })
        .collect();
    // Warm-up: a sixth of the run, at most a minute; memory is compared from there on.
    tokio::time::sleep(total.div_f64(6.0).min(Duration::from_secs(60))).await;
    let warm = server.rss_kib()?;
    report("server_rss_warm", warm as f64, "KiB");
    for c in clients {
        let _ = c.await;
    }
    report("seconds", started.elapsed().as_secs_f64(), "s");
    // Every client left cleanly, so the server must have let go of them at once (a connection kept for
    // a resume would linger for the reconnect window). Signals in flight reach the sink meanwhile.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let others = metric(&server.url, "otter_connections").await? - 1.0;
    sink.disconnect().await;
    counting.abort();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let connections = others + metric(&server.url, "otter_connections").await?;
    let peers = metric(&server.url, "otter_sfu_peers").await?;
    let end = server.rss_kib()?;
    report("server_rss_end", end as f64, "KiB");
    report(
        "server_rss_growth_after_warmup",
        (end as f64 / warm as f64 - 1.0) * 100.0,
        "%",
    );
    report("connections_left", connections, "connections");
    report("sfu_peers_left", peers, "peers");
    let sent = tally.signals_sent.load(Ordering::Relaxed);
    let received = tally.signals_received.load(Ordering::Relaxed);
    report("joins", tally.joins.load(Ordering::Relaxed) as f64, "joins");
    report(
        "publishes",
        tally.publishes.load(Ordering::Relaxed) as f64,
        "publishes",
    );
    report("signals_sent", sent as f64, "signals");
    report("signals_received", received as f64, "signals");
    report(
        "signals_lost",
        sent.saturating_sub(received) as f64,
        "signals",
    );
    let errors = tally
        .errors
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    for (code, count) in &errors {
        report_line(
            "soak",
            "errors",
            *count as f64,
            "errors",
            json!({ "code": code }),
        );
    }
    if errors.is_empty() {
        report("errors", 0.0, "errors");
    }
    Ok(ExitCode::SUCCESS)
}
