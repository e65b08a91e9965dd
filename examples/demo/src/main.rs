//! The Otter demo: a desktop video call made of the `otter-dioxus` components.
//!
//! `make demo` (or `cargo run --release -p otter-demo`) opens a join screen; with the server URL left
//! empty the demo starts a session server inside itself, so one person can try a call with nothing else
//! running. `--bots N` adds headless participants who publish a moving test pattern.

mod app;
mod backend;
mod bots;
mod call;
mod chat;
mod errors;
mod join;
mod probe;

use clap::Parser;
use dioxus::desktop::{Config, LogicalSize, WindowBuilder};

/// What the demo starts with; every field can also be changed on the join screen.
#[derive(Parser, Clone, Debug, PartialEq)]
#[command(name = "otter-demo", version, about)]
pub struct Args {
    /// Session server URL (`http://HOST:PORT`); empty = a server inside the demo.
    #[arg(long, default_value = "", env = "OTTER_URL")]
    pub server: String,
    /// The project's API key (for an external server; the embedded one makes its own).
    #[arg(long, env = "OTTER_API_KEY", default_value = "")]
    pub api_key: String,
    /// The project's API secret, used to create sessions and tokens as an app's back end would.
    #[arg(
        long,
        env = "OTTER_API_SECRET",
        default_value = "",
        hide_env_values = true
    )]
    pub api_secret: String,
    /// Session to join; empty = a new one.
    #[arg(long, default_value = "")]
    pub session: String,
    /// Your display name.
    #[arg(long, default_value = "")]
    pub name: String,
    /// Headless participants publishing a test pattern, joined with you (joins at start, like `--join`).
    #[arg(long, default_value_t = 0)]
    pub bots: usize,
    /// Join at start instead of waiting for the button.
    #[arg(long)]
    pub join: bool,
    /// Test hook: write what the page shows (as JSON) to this file four times a second.
    #[arg(long, hide = true)]
    pub probe: Option<std::path::PathBuf>,
}

fn main() -> std::process::ExitCode {
    otter_dioxus::surface::configure_webview_environment();
    let args = Args::parse();
    if cfg!(target_os = "linux")
        && std::env::var_os("DISPLAY").is_none()
        && std::env::var_os("WAYLAND_DISPLAY").is_none()
    {
        eprintln!(
            "otter-demo opens a window, and there is no display here (neither DISPLAY nor \
             WAYLAND_DISPLAY is set).\nOn a machine without a screen: `xvfb-run -a make demo`, or \
             `make demo-headless` for the same call in the terminal."
        );
        return std::process::ExitCode::from(2);
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "warn,otter_rtc=info,otter_demo=info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let window = WindowBuilder::new()
        .with_title("Otter")
        .with_inner_size(LogicalSize::new(1200.0, 800.0))
        .with_min_inner_size(LogicalSize::new(640.0, 480.0));
    let config = Config::new()
        .with_window(window)
        .with_menu(None)
        .with_background_color((32, 33, 36, 255))
        .with_disable_context_menu(true);
    dioxus::LaunchBuilder::desktop()
        .with_cfg(config)
        .with_context(args)
        .launch(app::App);
    std::process::ExitCode::SUCCESS
}
