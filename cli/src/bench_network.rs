//! `otter bench network`: a call over an impaired link. The server and the measuring subscriber run
//! here; the publisher (`otter join`, 640x480@30 test pattern or noise, and a tone) runs in a network namespace
//! behind a shaped, lossy veth link (`netlab.rs`). Per scenario: frames per second received, freezes
//! (W3C `freezeCount`: a gap over max(3 × the mean interval, mean + 150 ms)) and their total time, the
//! received bitrate against the link's capacity, glass-to-glass latency from the pattern's stamps, and
//! for a step in capacity, how long the picture takes to catch up. Needs root.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Args;
use otter_media::pattern::read_stamp;
use otter_rtc::{Subscriber, SubscriberProperties};
use serde_json::json;

use crate::bench_support::{
    join_and_find, new_session, percentile, report_line, start_publisher_in, ChildProcess,
    ServerProcess,
};
use crate::impairment_relay::{Impairment, Relay};
use crate::netlab::NetLab;

#[derive(Args)]
pub struct BenchNetworkArgs {
    /// Scenarios to run (comma-separated): open, uplink-120k, uplink-500k, step, loss-5, udp-blocked,
    /// rtt-40, loss-5-rtt-100, simulcast (two subscribers, one behind a 400 kbit/s downlink; Otter
    /// only: Chromium publishes one layer through WHIP).
    #[arg(
        long,
        default_value = "open,uplink-120k,uplink-500k,step,loss-5,udp-blocked,rtt-40,loss-5-rtt-100,simulcast"
    )]
    scenarios: String,
    /// Seconds each scenario measures (the step scenario takes 40 whatever this says).
    #[arg(long, default_value_t = 30)]
    seconds: u64,
    /// The `otter` binary the publisher runs (default: this one), to compare builds on the same links.
    #[arg(long)]
    publisher_exe: Option<PathBuf>,
    /// Run each scenario a second time with Chromium publishing its fake camera (640x480@30) through
    /// WHIP over the same link, to the same server and subscriber: its congestion control beside ours.
    #[arg(long)]
    with_chromium: bool,
    /// The script that drives Chromium (`make browser-deps` installs what it needs).
    #[arg(long, default_value = "tests/browser/webrtc_peer.js")]
    chromium_peer: PathBuf,
}

/// Who publishes.
#[derive(Clone, Copy)]
enum Publisher<'a> {
    /// `otter join` (this binary, or the one given).
    Otter(Option<&'a std::path::Path>),
    /// Chromium through WHIP, driven by this script.
    Chromium(&'a std::path::Path),
}

impl Publisher<'_> {
    fn name(&self) -> &'static str {
        match self {
            Publisher::Otter(_) => "otter",
            Publisher::Chromium(_) => "chromium",
        }
    }
}

/// One scenario: what is published, the uplink's capacity over time (kbit/s, 0 = none) and its loss.
struct Scenario {
    name: &'static str,
    /// `test-pattern` (compresses to ~200 kbit/s at 640x480) or `noise` (the encoder spends its whole
    /// target, ~920 kbit/s): a link only constrains a sender that wants more than it carries.
    source: &'static str,
    /// (from second, kbit/s) steps.
    uplink: &'static [(u64, u32)],
    /// Random loss of the UDP the namespace sends; 100 blocks UDP (media then takes ICE-TCP).
    loss_percent: u32,
    /// Round trip added to the publisher's media, and its jitter each way, in milliseconds (through
    /// the impairment relay; 0 and 0 = no relay).
    rtt_ms: u64,
    jitter_ms: u64,
}

const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "open",
        source: "test-pattern",
        uplink: &[(0, 0)],
        loss_percent: 0,
        rtt_ms: 0,
        jitter_ms: 0,
    },
    Scenario {
        name: "uplink-120k",
        source: "test-pattern",
        uplink: &[(0, 120)],
        loss_percent: 0,
        rtt_ms: 0,
        jitter_ms: 0,
    },
    Scenario {
        name: "uplink-500k",
        source: "noise",
        uplink: &[(0, 500)],
        loss_percent: 0,
        rtt_ms: 0,
        jitter_ms: 0,
    },
    Scenario {
        name: "step",
        source: "noise",
        uplink: &[(0, 2000), (10, 300), (30, 2000)],
        loss_percent: 0,
        rtt_ms: 0,
        jitter_ms: 0,
    },
    Scenario {
        name: "loss-5",
        source: "noise",
        uplink: &[(0, 2000)],
        loss_percent: 5,
        rtt_ms: 0,
        jitter_ms: 0,
    },
    Scenario {
        name: "udp-blocked",
        source: "test-pattern",
        uplink: &[(0, 0)],
        loss_percent: 100,
        rtt_ms: 0,
        jitter_ms: 0,
    },
    Scenario {
        name: "rtt-40",
        source: "noise",
        uplink: &[(0, 2000)],
        loss_percent: 0,
        rtt_ms: 40,
        jitter_ms: 0,
    },
    Scenario {
        name: "loss-5-rtt-100",
        source: "noise",
        uplink: &[(0, 2000)],
        loss_percent: 5,
        rtt_ms: 100,
        jitter_ms: 10,
    },
];

/// What the subscriber saw, frame by frame.
#[derive(Default)]
struct Seen {
    /// (seconds since start, glass-to-glass ms if stamped) per decoded frame.
    frames: Vec<(f64, Option<f64>)>,
    /// (seconds since start, bytes received so far), sampled every 200 ms.
    bytes: Vec<(f64, u64)>,
    /// The publisher's own view once a second: (send estimate, video bitrate, height sent, fps sent).
    estimates: Vec<(u64, u64, u64, u64)>,
    /// The server's publisher packets received and late ones (retransmissions), at the end.
    sfu: Option<(u64, u64)>,
    /// From starting the publisher's process to its stream existing (connect, ICE, DTLS).
    publish_ms: f64,
    /// The subscriber's audio at the end: (playout delay ms, silences over 60 ms, longest silence ms).
    audio: (u32, u64, u64),
}

pub async fn run(args: BenchNetworkArgs) -> anyhow::Result<ExitCode> {
    let wanted: Vec<&str> = args.scenarios.split(',').map(str::trim).collect();
    for name in &wanted {
        if !SCENARIOS.iter().any(|s| s.name == *name) && *name != "simulcast" {
            bail!("unknown scenario {name}");
        }
    }
    let mut failed = false;
    for scenario in SCENARIOS.iter().filter(|s| wanted.contains(&s.name)) {
        let seconds = if scenario.name == "step" {
            40
        } else {
            args.seconds
        };
        let mut publishers = vec![Publisher::Otter(args.publisher_exe.as_deref())];
        if args.with_chromium {
            publishers.push(Publisher::Chromium(&args.chromium_peer));
        }
        for who in publishers {
            // One scenario failing (a publish that never connected) does not lose the others.
            if let Err(e) = run_scenario(scenario, seconds, who).await {
                tracing::error!(scenario = scenario.name, publisher = who.name(), "{e:#}");
                failed = true;
            }
        }
    }
    if wanted.contains(&"simulcast") {
        let exe = args.publisher_exe.as_deref();
        if let Err(e) = crate::bench_simulcast::run(args.seconds, exe).await {
            tracing::error!(scenario = "simulcast", "{e:#}");
            failed = true;
        }
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

async fn run_scenario(scenario: &Scenario, seconds: u64, who: Publisher<'_>) -> anyhow::Result<()> {
    let lab =
        NetLab::new().context("setting up the network namespace (root, iproute2, nftables)")?;
    lab.shape_uplink(scenario.uplink[0].1)?;
    lab.uplink_loss(scenario.loss_percent)?;
    let (server, _relay) = start_server(&lab, scenario).await?;
    let session_id = new_session();
    let spawned = Instant::now();
    let (mut publisher, stream_id) = match who {
        Publisher::Otter(exe) => {
            let (process, stream_id) = start_publisher_in(
                &lab,
                exe,
                &server,
                &session_id,
                &[
                    "--publish",
                    scenario.source,
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
            (process, Some(stream_id))
        }
        Publisher::Chromium(script) => (
            start_chromium_in(&lab, script, &server, &session_id, seconds)?,
            None,
        ),
    };
    let publish_ms = spawned.elapsed().as_secs_f64() * 1000.0;
    let (session, stream) = join_and_find(&server, &session_id, stream_id.as_deref()).await?;
    let sub = session
        .subscribe(&stream, SubscriberProperties::default())
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;

    let publisher_lines = publisher.forward_events();
    let start = Instant::now();
    let mut seen = watch(&sub, &lab, scenario, start, Duration::from_secs(seconds)).await?;
    seen.publish_ms = publish_ms;
    let lines: Vec<serde_json::Value> = publisher_lines.try_iter().collect();
    if std::env::var_os("OTTER_BENCH_DEBUG").is_some() {
        for l in &lines {
            eprintln!("publisher: {l}");
        }
    }
    seen.estimates = lines
        .iter()
        .filter(|v| v["event"] == "publisher_stats")
        .map(|v| {
            let n = |k: &str| v[k].as_u64().unwrap_or(0);
            (
                n("send_estimate_bps"),
                n("video_bitrate_bps"),
                n("height"),
                n("fps"),
            )
        })
        .collect();
    let stats = sub.stats();
    seen.audio = (
        stats.audio_playout_delay_ms,
        stats.audio_gaps,
        stats.audio_longest_gap_ms,
    );
    sub.unsubscribe().await;
    session.disconnect().await;
    seen.sfu = sfu_counters(&server.url).await;
    report(scenario, who, &seen, seconds);
    Ok(())
}

/// Chromium in the lab's namespace publishing its fake camera and microphone through WHIP into
/// `session`, for `seconds` and a margin; returns once its media is connected.
fn start_chromium_in(
    lab: &NetLab,
    script: &std::path::Path,
    server: &ServerProcess,
    session: &otter_protocol::SessionId,
    seconds: u64,
) -> anyhow::Result<ChildProcess> {
    let script = script
        .to_str()
        .context("the Chromium script's path is not UTF-8")?;
    anyhow::ensure!(
        std::path::Path::new(script).exists(),
        "no {script}: run from the repository with `make browser-deps` done"
    );
    let endpoint = format!("/v1/whip/{}", session.as_str());
    let token = crate::bench_support::token(session);
    let stay = (seconds + 20).to_string();
    let mut chromium = ChildProcess::spawn(
        lab.command(std::path::Path::new("node")),
        &[script, "whip", &server.url, &endpoint, &token, &stay],
    )?;
    let ready = chromium.wait_for("ready")?;
    anyhow::ensure!(ready["status"] == 201, "Chromium's WHIP offer: {ready}");
    Ok(chromium)
}

/// The server on the lab's host side; with a round trip or jitter to add, its media port is the
/// impairment relay's, which holds the publisher's packets (both ways) and forwards the rest at once.
async fn start_server(
    lab: &NetLab,
    scenario: &Scenario,
) -> anyhow::Result<(ServerProcess, Option<Relay>)> {
    if scenario.rtt_ms == 0 && scenario.jitter_ms == 0 {
        return Ok((ServerProcess::start_on(lab.host_ip)?, None));
    }
    // One port, free on both addresses: the relay's in front, the server's behind it on loopback.
    let port = std::net::UdpSocket::bind((lab.host_ip, 0))?
        .local_addr()?
        .port();
    let port_text = port.to_string();
    let server = ServerProcess::start_on_with(
        lab.host_ip,
        &["--media-ip", "127.0.0.1", "--udp-port", &port_text],
    )?;
    let each_way = Impairment {
        delay: Duration::from_millis(scenario.rtt_ms / 2),
        jitter: Duration::from_millis(scenario.jitter_ms),
        loss_percent: 0,
    };
    let relay = Relay::start(
        (lab.host_ip, port).into(),
        ([127, 0, 0, 1], port).into(),
        lab.ns_ip.into(),
        each_way,
        1,
    )
    .await?;
    Ok((server, Some(relay)))
}

/// The server's packets received from publishers and how many of them came late (retransmissions).
async fn sfu_counters(url: &str) -> Option<(u64, u64)> {
    let response = reqwest::get(format!("{url}/metrics")).await.ok()?;
    let text = response.text().await.ok()?;
    let value = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.trim().parse::<u64>().ok())
    };
    Some((
        value("otter_sfu_packets_received_total")?,
        value("otter_sfu_packets_late_total")?,
    ))
}

/// Records every frame and the byte count until `duration` has passed, stepping the link on schedule.
async fn watch(
    sub: &Subscriber,
    lab: &NetLab,
    scenario: &Scenario,
    start: Instant,
    duration: Duration,
) -> anyhow::Result<Seen> {
    let frames = sub.video_frames();
    let mut seen = Seen::default();
    let mut count = 0;
    let mut next_sample = Duration::ZERO;
    let mut steps = scenario.uplink.iter().skip(1).peekable();
    while start.elapsed() < duration {
        let t = start.elapsed();
        if let Some((at, kbit)) = steps.peek() {
            if t >= Duration::from_secs(*at) {
                lab.shape_uplink(*kbit)?;
                steps.next();
            }
        }
        if t >= next_sample {
            seen.bytes
                .push((t.as_secs_f64(), sub.stats().bytes_received));
            next_sample += Duration::from_millis(200);
        }
        let Ok((frame, n)) =
            tokio::time::timeout(Duration::from_millis(50), frames.next_after(count)).await
        else {
            continue;
        };
        count = n;
        let now_ms = otter_media::frame::unix_micros() / 1000;
        let latency = read_stamp(&frame).map(|s| s.age_ms(now_ms) as f64);
        if std::env::var_os("OTTER_BENCH_DEBUG").is_some() && n % 30 == 0 {
            eprintln!(
                "t={:.1} frame {}x{} stamp {:?}",
                start.elapsed().as_secs_f64(),
                frame.width(),
                frame.height(),
                latency
            );
        }
        seen.frames.push((start.elapsed().as_secs_f64(), latency));
    }
    Ok(seen)
}

/// The W3C freeze rule over inter-frame gaps: (count, total seconds, longest seconds).
pub(crate) fn freezes(times: &[f64]) -> (usize, f64, f64) {
    let (mut count, mut total, mut longest) = (0, 0.0, 0.0f64);
    let mut mean: f64 = 1.0 / 30.0;
    for w in times.windows(2) {
        let gap = w[1] - w[0];
        if gap > (3.0 * mean).max(mean + 0.150) {
            count += 1;
            total += gap;
            longest = longest.max(gap);
        }
        // A running mean over about the last 30 intervals.
        mean += (gap - mean) / 30.0;
    }
    (count, total, longest)
}

fn report(scenario: &Scenario, who: Publisher<'_>, seen: &Seen, seconds: u64) {
    let context = json!({
        "scenario": scenario.name,
        "publisher": who.name(),
        "source": scenario.source,
        "uplink_kbit": scenario.uplink,
        "loss_percent": scenario.loss_percent,
        "rtt_ms": scenario.rtt_ms,
        "jitter_ms": scenario.jitter_ms,
        "seconds": seconds,
    });
    let line = |metric: &str, value: f64, unit: &str| {
        report_line("network", metric, value, unit, context.clone())
    };
    line("publish_ms", seen.publish_ms, "ms");
    // The first 3 s are start-up (ICE, DTLS, the first key frame, the estimate's ramp).
    let steady: Vec<&(f64, Option<f64>)> = seen.frames.iter().filter(|f| f.0 >= 3.0).collect();
    let span = (seconds as f64 - 3.0).max(1.0);
    line("frames_per_second", steady.len() as f64 / span, "fps");
    let times: Vec<f64> = steady.iter().map(|f| f.0).collect();
    let (count, total, longest) = freezes(&times);
    line("freezes", count as f64, "count");
    line("freeze_seconds_total", total, "s");
    line("freeze_seconds_longest", longest, "s");
    let mut latencies: Vec<f64> = steady.iter().filter_map(|f| f.1).collect();
    line(
        "stamped_frames_ratio",
        latencies.len() as f64 / steady.len().max(1) as f64,
        "ratio",
    );
    latencies.sort_by(f64::total_cmp);
    line("glass_to_glass_ms_p50", percentile(&latencies, 50.0), "ms");
    line("glass_to_glass_ms_p95", percentile(&latencies, 95.0), "ms");
    // Once adapted, it stays adapted: the tail of the second half, free of the start-up transient.
    let half = seconds as f64 / 2.0;
    let mut late: Vec<f64> = steady
        .iter()
        .filter(|f| f.0 >= half)
        .filter_map(|f| f.1)
        .collect();
    late.sort_by(f64::total_cmp);
    line(
        "glass_to_glass_ms_p95_second_half",
        percentile(&late, 95.0),
        "ms",
    );
    let rate = |from: f64, to: f64| -> f64 {
        let at = |t: f64| {
            seen.bytes
                .iter()
                .rev()
                .find(|b| b.0 <= t)
                .map_or(0, |b| b.1)
        };
        (at(to).saturating_sub(at(from))) as f64 * 8.0 / (to - from).max(0.2) / 1000.0
    };
    let received_kbit = rate(3.0, seconds as f64);
    line("received_kbit_per_second", received_kbit, "kbit/s");
    if let [(_, kbit)] = scenario.uplink {
        if *kbit > 0 {
            line(
                "received_of_capacity",
                received_kbit / *kbit as f64,
                "ratio",
            );
        }
    }
    if let Some(&(estimate, video, height, fps)) = seen.estimates.last() {
        line(
            "publisher_send_estimate_kbit",
            estimate as f64 / 1000.0,
            "kbit/s",
        );
        line("publisher_video_kbit", video as f64 / 1000.0, "kbit/s");
        line("publisher_sent_height", height as f64, "px");
        line("publisher_sent_fps", fps as f64, "fps");
    }
    if std::env::var_os("OTTER_BENCH_DEBUG").is_some() {
        eprintln!(
            "publisher (estimate, video, height, fps) per second: {:?}",
            seen.estimates
        );
        // Per second: frames, frames without a readable stamp, the worst latency.
        for second in 0..seconds as usize {
            let window = seen
                .frames
                .iter()
                .filter(|f| f.0 as usize == second)
                .collect::<Vec<_>>();
            let unreadable = window.iter().filter(|f| f.1.is_none()).count();
            let worst = window.iter().filter_map(|f| f.1).fold(0.0, f64::max);
            eprintln!(
                "t={second}: {} frames, {unreadable} unreadable, worst {worst} ms",
                window.len()
            );
        }
    }
    let (delay, gaps, longest) = seen.audio;
    line("audio_playout_delay_ms", delay as f64, "ms");
    line("audio_gaps_over_60ms", gaps as f64, "count");
    line("audio_longest_gap_ms", longest as f64, "ms");
    if let Some((received, late)) = seen.sfu {
        line(
            "sfu_packets_late_of_received",
            late as f64 / received.max(1) as f64,
            "ratio",
        );
    }
    if scenario.name == "step" {
        // Adapted: from the step down (10 s), until a whole second of frames is back under 300 ms.
        let adapted = settle_time(&seen.frames, 10.0, 30.0, |window| {
            window.iter().all(|f| f.1.is_some_and(|ms| ms < 300.0)) && !window.is_empty()
        });
        line("adapt_seconds_after_step_down", adapted, "s");
        // Ramped up: from the step up (30 s), until a second carries 80 % of the rate before the step
        // down (the test pattern needs less than the full link).
        let before = rate(5.0, 10.0);
        let ramped = (30..39)
            .flat_map(|s| (0..5).map(move |f| s as f64 + f as f64 * 0.2))
            .find(|&t| rate(t, t + 1.0) >= 0.8 * before)
            .map_or(f64::NAN, |t| t - 30.0);
        line("ramp_seconds_after_step_up", ramped, "s");
    }
}

/// Seconds from `from` until the first one-second window (before `until`) where `ok` holds.
fn settle_time(
    frames: &[(f64, Option<f64>)],
    from: f64,
    until: f64,
    ok: impl Fn(&[(f64, Option<f64>)]) -> bool,
) -> f64 {
    let mut t = from;
    while t + 1.0 <= until {
        let window: Vec<(f64, Option<f64>)> = frames
            .iter()
            .filter(|f| f.0 >= t && f.0 < t + 1.0)
            .copied()
            .collect();
        if ok(&window) {
            return t - from;
        }
        t += 0.1;
    }
    f64::NAN
}
