//! `otter bench join`: how fast clients join, and what an idle connection costs the server.
//!
//! The server runs as a separate `otter serve` process (this same binary), so its memory is measured
//! alone; clients run here. Every figure is a JSON line.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use otter_protocol::SessionId;
use otter_rtc::{Session, SessionOptions};
use serde_json::json;

#[derive(Args)]
pub struct BenchJoinArgs {
    /// Joins per timing run.
    #[arg(long, default_value_t = 200)]
    n: usize,
    /// Concurrency levels to time (1 = sequential joins; 100 = bursts of 100 at once).
    #[arg(long, value_delimiter = ',', default_value = "1,100")]
    concurrency: Vec<usize>,
    /// Idle connections held open to measure server memory per connection (0 skips it).
    #[arg(long, default_value_t = 1000)]
    idle: usize,
    /// Participants per session for the idle measurement.
    #[arg(long, default_value_t = 10)]
    session_size: usize,
}

use crate::bench_support::{
    new_session, percentile, raise_fd_limit, report_line, token, ServerProcess, KEY,
};

/// Connects one client and returns it with the time from `connect()` to `session_connected`.
async fn join(url: &str, session: SessionId) -> anyhow::Result<(Session, Duration)> {
    let s = Session::init(KEY, session.as_str(), SessionOptions::with_api_url(url));
    let token = token(&session);
    let started = Instant::now();
    s.connect(&token)
        .await
        .map_err(|e| anyhow::anyhow!("join failed: {e}"))?;
    Ok((s, started.elapsed()))
}

fn report(metric: &str, value: f64, unit: &str, context: serde_json::Value) {
    report_line("join", metric, value, unit, context);
}

pub async fn run(args: BenchJoinArgs) -> anyhow::Result<ExitCode> {
    raise_fd_limit(args.idle + 1024);
    let server = ServerProcess::start()?;
    // Warm up: first connections pay for lazy initialisation on both sides.
    for _ in 0..5 {
        let (s, _) = join(&server.url, new_session()).await?;
        s.disconnect().await;
    }
    for &concurrency in &args.concurrency {
        let concurrency = concurrency.max(1);
        let mut times = Vec::with_capacity(args.n);
        let session = new_session();
        while times.len() < args.n {
            let batch = concurrency.min(args.n - times.len());
            let joins = (0..batch).map(|_| join(&server.url, session.clone()));
            let joined = futures_util::future::join_all(joins).await;
            let mut clients = Vec::with_capacity(batch);
            for j in joined {
                let (s, t) = j?;
                times.push(t.as_secs_f64() * 1000.0);
                clients.push(s);
            }
            futures_util::future::join_all(clients.iter().map(|c| c.disconnect())).await;
        }
        times.sort_by(f64::total_cmp);
        let context = json!({ "n": args.n, "concurrency": concurrency });
        for (name, p) in [
            ("connect_ms_p50", 50.0),
            ("connect_ms_p95", 95.0),
            ("connect_ms_p99", 99.0),
        ] {
            report(name, percentile(&times, p), "ms", context.clone());
        }
    }
    if args.idle > 0 {
        idle_memory(&server, args.idle, args.session_size.max(1)).await?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Server RSS growth per idle connection, from a baseline of one session to `n` connections.
async fn idle_memory(server: &ServerProcess, n: usize, session_size: usize) -> anyhow::Result<()> {
    let baseline_n = session_size.min(n);
    let mut joined: Vec<Session> = Vec::with_capacity(n);
    let mut baseline_kib = None;
    let mut session = new_session();
    while joined.len() < n {
        let target = if baseline_kib.is_none() {
            baseline_n
        } else {
            n
        };
        // Bursts of 50: a realistic arrival rate, and no thundering herd on two cores.
        let burst = 50.min(target - joined.len());
        let mut joins = Vec::with_capacity(burst);
        for i in 0..burst {
            if (joined.len() + i).is_multiple_of(session_size) {
                session = new_session();
            }
            joins.push(join(&server.url, session.clone()));
        }
        for j in futures_util::future::join_all(joins).await {
            joined.push(j?.0);
        }
        if baseline_kib.is_none() && joined.len() == baseline_n {
            settle().await;
            baseline_kib = Some(server.rss_kib()?);
        }
    }
    settle().await;
    let full_kib = server.rss_kib()?;
    let baseline_kib = baseline_kib.context("no baseline")?;
    let added = (n - baseline_n).max(1) as f64;
    let per_connection_kb = full_kib.saturating_sub(baseline_kib) as f64 * 1024.0 / 1000.0 / added;
    let context = json!({ "connections": n, "session_size": session_size });
    report(
        "server_rss_per_idle_connection",
        per_connection_kb,
        "KB",
        context.clone(),
    );
    report("server_rss_total", full_kib as f64 / 1024.0, "MiB", context);
    futures_util::future::join_all(joined.iter().map(|c| c.disconnect())).await;
    Ok(())
}

async fn settle() {
    // Lets both sides finish the joins' broadcasts before memory is read.
    tokio::time::sleep(Duration::from_millis(500)).await;
}
