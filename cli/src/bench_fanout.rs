//! `otter bench fanout`: how many forwarded streams one server core carries.
//!
//! Three child processes, so the server's CPU is measured alone (from `/proc`): `otter serve`; one
//! `otter join --publish noise` at the target bitrate (noise defeats compression, so the constant
//! bitrate encoder really sends it); and `otter bench fanout-receivers`, which holds every subscription
//! in one process, counts RTP without decoding, and steps the subscriber count up. For each step this
//! prints the server's CPU (in % of one core, per stream and per forwarded packet), the rate received
//! per stream, loss from RTP sequence gaps, the receivers' CPU, the host's UDP receive-buffer drops, and
//! the glass-to-glass latency of one decoding probe subscriber (its growth over the first step is what
//! load adds to forwarding). It stops at ≥ 1 % loss, a saturated server, the last step or the time
//! budget, then prints the largest count under 1 % loss and streams per server core.

use std::process::ExitCode;
use std::time::Instant;

use clap::Args;
use serde_json::json;

use crate::bench_support::{
    new_session, raise_fd_limit, report_line, start_publisher, token, udp_socket_drops,
    ChildProcess, ServerProcess,
};
use crate::join_media::parse_bitrate;

/// Subscriber counts stepped through, up to `--subscribers`.
const LADDER: [usize; 12] = [25, 50, 100, 150, 200, 300, 400, 500, 600, 800, 1000, 1500];
/// Loss at or above this ends the run (the bar).
const MAX_LOSS: f64 = 0.01;
/// Server CPU, in cores, at which it counts as saturated: its media loop is one task.
const SATURATED_CORES: f64 = 0.95;

#[derive(Args)]
pub struct BenchFanoutArgs {
    /// Most subscribers to try (steps 25, 50, 100, 150, 200, 300, 400… up to this).
    #[arg(long, default_value_t = 600)]
    subscribers: usize,
    /// Published video bitrate (`1500k`, `1.5M`).
    #[arg(long, default_value = "1500k", value_parser = parse_bitrate)]
    bitrate: u32,
    /// Published size.
    #[arg(long, default_value = "640x480")]
    resolution: String,
    /// Seconds measured per step.
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
    /// Seconds between subscribing and measuring (keyframes, DTLS settle).
    #[arg(long, default_value_t = 2.0)]
    settle: f64,
    /// No new step starts after this many seconds.
    #[arg(long, default_value_t = 150)]
    budget: u64,
}

/// CPU seconds of the three processes and the host's UDP error counters, at one instant.
struct Sample {
    at: Instant,
    server: f64,
    receivers: f64,
    publisher: f64,
    udp_rcvbuf_errors: u64,
    server_socket_drops: u64,
    receiver_socket_drops: u64,
}

fn sample(
    server: &ServerProcess,
    receivers: &ChildProcess,
    publisher: &ChildProcess,
) -> anyhow::Result<Sample> {
    Ok(Sample {
        at: Instant::now(),
        server: server.process.cpu_seconds()?,
        receivers: receivers.cpu_seconds()?,
        publisher: publisher.cpu_seconds()?,
        udp_rcvbuf_errors: udp_rcvbuf_errors(),
        server_socket_drops: udp_socket_drops(server.process.pid()),
        receiver_socket_drops: udp_socket_drops(receivers.pid()),
    })
}

/// `RcvbufErrors` of `/proc/net/snmp`: datagrams the kernel dropped because a socket's receive buffer
/// was full (on loopback, the only place a datagram is lost). Host-wide; 0 when unreadable.
fn udp_rcvbuf_errors() -> u64 {
    let snmp = std::fs::read_to_string("/proc/net/snmp").unwrap_or_default();
    let mut udp = snmp.lines().filter(|l| l.starts_with("Udp:"));
    let (Some(names), Some(values)) = (udp.next(), udp.next()) else {
        return 0;
    };
    names
        .split_whitespace()
        .zip(values.split_whitespace())
        .find(|(n, _)| *n == "RcvbufErrors")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0)
}

/// The figures of one passing step, for the summary.
struct Passed {
    subscribers: usize,
    server_cores: f64,
}

pub async fn run(args: BenchFanoutArgs) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let mut steps: Vec<usize> = LADDER
        .iter()
        .copied()
        .filter(|&n| n < args.subscribers)
        .collect();
    steps.push(args.subscribers.max(2));
    raise_fd_limit(args.subscribers * 8);
    let context = json!({ "bitrate_bps": args.bitrate, "resolution": args.resolution });

    let server = ServerProcess::start()?;
    let session_id = new_session();
    let (bitrate, budget) = (args.bitrate.to_string(), (args.budget + 120).to_string());
    let (publisher, stream_id) = start_publisher(
        &server,
        &session_id,
        &[
            "--publish",
            "noise",
            "--video-bitrate",
            &bitrate,
            "--resolution",
            &args.resolution,
            "--audio",
            "none",
            "--subscribe",
            "none",
            "--duration",
            &budget,
        ],
    )?;
    let steps_arg = steps
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let (settle, seconds) = (args.settle.to_string(), args.seconds.to_string());
    let receivers_token = token(&session_id);
    let mut receivers = ChildProcess::start(&[
        "bench",
        "fanout-receivers",
        "--url",
        &server.url,
        "--session",
        session_id.as_str(),
        "--token",
        &receivers_token,
        "--stream",
        &stream_id,
        "--steps",
        &steps_arg,
        "--settle",
        &settle,
        "--seconds",
        &seconds,
    ])?;

    let mut best: Option<Passed> = None;
    let mut stopped_by = "last step";
    loop {
        if started.elapsed().as_secs() > args.budget {
            stopped_by = "time budget";
            break;
        }
        let subscribed = receivers.wait_for("subscribed")?;
        let start_line = receivers.wait_for("window_start")?;
        let s0 = sample(&server, &receivers, &publisher)?;
        let end = receivers.wait_for("window_end")?;
        let s1 = sample(&server, &receivers, &publisher)?;
        let n = start_line["subscribers"].as_u64().unwrap_or(0) as usize;
        let wall = s1.at.duration_since(s0.at).as_secs_f64();
        let server_cores = (s1.server - s0.server) / wall;
        let number = |key: &str| end[key].as_f64().unwrap_or(f64::NAN);
        let (packets, lost, loss) = (number("packets"), number("lost"), number("loss"));
        let counted = number("counted").max(1.0);
        let mut ctx = context.clone();
        ctx["subscribers"] = json!(n);
        let report = |metric: &str, value: f64, unit: &str| {
            report_line("fanout", metric, value, unit, ctx.clone())
        };
        report(
            "subscribe_seconds",
            subscribed["seconds"].as_f64().unwrap_or(f64::NAN),
            "s",
        );
        report(
            "failed_subscriptions",
            subscribed["failed"].as_f64().unwrap_or(0.0),
            "count",
        );
        report("server_cpu_percent_of_core", server_cores * 100.0, "%");
        report(
            "server_cpu_percent_per_stream",
            server_cores * 100.0 / n as f64,
            "%",
        );
        // Forwarded packets ≈ those the counting subscribers got or missed, plus the probe's share.
        let forwarded = (packets + lost) * n as f64 / counted;
        report(
            "server_cpu_us_per_packet",
            (s1.server - s0.server) * 1e6 / forwarded.max(1.0),
            "us",
        );
        report(
            "received_mbps_per_stream",
            number("bytes") * 8.0 / 1e6 / wall / counted,
            "Mbit/s",
        );
        report("loss_percent", loss * 100.0, "%");
        report(
            "worst_subscriber_loss_percent",
            number("worst_subscriber_loss") * 100.0,
            "%",
        );
        report("silent_subscribers", number("silent"), "count");
        report(
            "udp_rcvbuf_drops",
            (s1.udp_rcvbuf_errors - s0.udp_rcvbuf_errors) as f64,
            "count",
        );
        // Where those drops happened: the server's socket (publisher media, RTCP) or the receivers'.
        report(
            "server_socket_drops",
            (s1.server_socket_drops - s0.server_socket_drops) as f64,
            "count",
        );
        report(
            "receiver_socket_drops",
            (s1.receiver_socket_drops - s0.receiver_socket_drops) as f64,
            "count",
        );
        report(
            "receivers_cpu_percent_of_core",
            (s1.receivers - s0.receivers) / wall * 100.0,
            "%",
        );
        report(
            "publisher_cpu_percent_of_core",
            (s1.publisher - s0.publisher) / wall * 100.0,
            "%",
        );
        report(
            "probe_glass_to_glass_ms_p50",
            number("probe_latency_ms_p50"),
            "ms",
        );
        if loss >= MAX_LOSS {
            stopped_by = "loss";
            break;
        }
        best = Some(Passed {
            subscribers: n,
            server_cores,
        });
        if server_cores >= SATURATED_CORES {
            stopped_by = "server CPU";
            break;
        }
        if n >= *steps.last().unwrap_or(&0) {
            break;
        }
    }
    drop(receivers);
    let mut ctx = context.clone();
    ctx["stopped_by"] = json!(stopped_by);
    let (n, per_core) = match &best {
        Some(p) => (
            p.subscribers as f64,
            p.subscribers as f64 / p.server_cores.max(1e-6),
        ),
        None => (0.0, f64::NAN),
    };
    report_line(
        "fanout",
        "largest_subscribers_below_1pct_loss",
        n,
        "count",
        ctx.clone(),
    );
    // Measured streams divided by the share of a core they took: the load one core would carry, if
    // CPU per stream stays flat (the server is not saturated unless stopped_by says so).
    report_line(
        "fanout",
        "streams_per_server_core",
        per_core,
        "streams",
        ctx,
    );
    Ok(ExitCode::SUCCESS)
}
