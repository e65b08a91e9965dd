//! Benchmark of the desktop video surface: N tiles of 640x480@30 test pattern drawn in the webview, no
//! network and no codec, so the figures are the surface's own. Prints JSON lines with the CPU the whole
//! app costs (this process and its WebKit helpers; Xvfb too when `XVFB_PID` is set) per tile, and the
//! frames each tile drew per second.
//!
//! `xvfb-run -a cargo run --release -p otter-dioxus --features desktop --example surface_bench -- 4 10`
//! (tiles, seconds).

use std::sync::Arc;
use std::time::{Duration, Instant};

use dioxus::desktop::{Config, WindowBuilder};
use dioxus::prelude::*;
use otter_dioxus::surface::{frames_drawn, VideoSurface};
use otter_media::frame::unix_micros;
use otter_media::{TestPattern, VideoFrame};
use otter_rtc::media::VideoSink;

const WIDTH: u32 = 640;
const HEIGHT: u32 = 480;
const FPS: u64 = 30;
const WARMUP: Duration = Duration::from_secs(3);

fn main() {
    otter_dioxus::surface::configure_webview_environment();
    let mut args = std::env::args().skip(1);
    let tiles: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1);
    let seconds: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(10);
    let sinks: Vec<Arc<VideoSink>> = (0..tiles).map(|_| VideoSink::new()).collect();
    for sink in &sinks {
        let sink = sink.clone();
        std::thread::spawn(move || feed(sink));
    }
    std::thread::spawn(move || measure(tiles, seconds));
    let window = WindowBuilder::new()
        .with_title("otter surface bench")
        .with_inner_size(dioxus::desktop::LogicalSize::new(1300.0, 1000.0));
    dioxus::LaunchBuilder::desktop()
        .with_cfg(Config::new().with_window(window).with_menu(None))
        .with_context(sinks)
        .launch(app);
}

fn app() -> Element {
    let sinks = use_context::<Vec<Arc<VideoSink>>>();
    rsx! {
        div { style: "display:grid;grid-template-columns:repeat(2,640px);gap:4px;background:#111",
            for sink in sinks {
                div { style: "width:640px;height:480px",
                    VideoSurface { frames: sink.clone().into() }
                }
            }
        }
    }
}

/// A test pattern at 30 fps into `sink`.
fn feed(sink: Arc<VideoSink>) {
    let mut pattern = TestPattern::new(WIDTH, HEIGHT);
    let start = Instant::now();
    for n in 1.. {
        let mut frame = VideoFrame::black(WIDTH, HEIGHT);
        pattern.render_into(&mut frame, unix_micros());
        sink.put(frame);
        let due = start + Duration::from_micros(n * 1_000_000 / FPS);
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
    }
}

/// CPU seconds used so far by this process, its descendants (the WebKit processes) and `XVFB_PID`.
fn cpu_seconds() -> f64 {
    let tick = 100.0; // USER_HZ on Linux
    let mut pids = vec![std::process::id()];
    let mut i = 0;
    while i < pids.len() {
        let children =
            std::fs::read_to_string(format!("/proc/{}/task/{}/children", pids[i], pids[i]))
                .unwrap_or_default();
        pids.extend(
            children
                .split_whitespace()
                .filter_map(|p| p.parse::<u32>().ok()),
        );
        i += 1;
    }
    if let Some(xvfb) = std::env::var("XVFB_PID").ok().and_then(|p| p.parse().ok()) {
        pids.push(xvfb);
    }
    pids.iter()
        .filter_map(|pid| std::fs::read_to_string(format!("/proc/{pid}/stat")).ok())
        .filter_map(|stat| {
            let rest = stat.rsplit_once(')')?.1;
            let f: Vec<&str> = rest.split_whitespace().collect();
            // utime, stime (fields 14 and 15 of stat; 11 and 12 after the command name)
            Some((f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?) / tick)
        })
        .sum()
}

fn measure(tiles: usize, seconds: u64) {
    std::thread::sleep(WARMUP);
    let (cpu0, drawn0, t0) = (cpu_seconds(), frames_drawn(), Instant::now());
    std::thread::sleep(Duration::from_secs(seconds));
    let (cpu1, drawn1, elapsed) = (cpu_seconds(), frames_drawn(), t0.elapsed().as_secs_f64());
    let cores = (cpu1 - cpu0) / elapsed;
    let rates: Vec<f64> = drawn1
        .iter()
        .zip(drawn0.iter().chain(std::iter::repeat(&0)))
        .map(|(b, a)| (b - a) as f64 / elapsed)
        .collect();
    let min_rate = rates.iter().copied().fold(f64::INFINITY, f64::min);
    let line = |metric: &str, unit: &str, value: f64| {
        println!(
            "{{\"bench\":\"surface\",\"tiles\":{tiles},\"resolution\":\"{WIDTH}x{HEIGHT}\",\"fps\":{FPS},\"metric\":\"{metric}\",\"unit\":\"{unit}\",\"value\":{value:.3}}}"
        )
    };
    line("cpu_cores_total", "cores", cores);
    line("cpu_cores_per_tile", "cores", cores / tiles as f64);
    line(
        "frames_drawn_per_s_min_tile",
        "fps",
        if rates.len() == tiles { min_rate } else { 0.0 },
    );
    std::process::exit(0);
}
