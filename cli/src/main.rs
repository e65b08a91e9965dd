//! `otter`: run a session server, make sessions and tokens, join as a headless participant, benchmark.
//! See `CLI.md` for the contract: flags, environment variables, JSON lines on stdout, logs on stderr.

mod bench_fanout;
mod bench_fanout_receivers;
mod bench_join;
mod bench_media;
mod bench_network;
mod bench_simulcast;
mod bench_soak;
mod bench_support;
mod event_json;
mod impairment_relay;
mod join;
mod join_ice;
mod join_media;
mod netlab;
mod project_admin;
mod serve;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "otter",
    version,
    about = "Otter: OpenTok-style video sessions, self-hosted"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the session server.
    Serve(serve::ServeArgs),
    /// Manage sessions through a server's REST API.
    Session {
        #[command(subcommand)]
        command: SessionCommand,
    },
    /// Mint a session token (offline).
    Token(project_admin::TokenArgs),
    /// Join a session as a headless participant, printing its events as JSON lines.
    Join(Box<join::JoinArgs>),
    /// Benchmarks; each prints JSON lines.
    Bench {
        #[command(subcommand)]
        command: BenchCommand,
    },
}

#[derive(Subcommand)]
enum SessionCommand {
    /// Create a session and print its ID.
    Create(project_admin::CreateArgs),
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Time from connect() to session_connected, and server memory per idle connection.
    Join(bench_join::BenchJoinArgs),
    /// Time to first frame, glass-to-glass latency and publisher CPU.
    Media(bench_media::BenchMediaArgs),
    /// Server CPU per forwarded stream, loss, forwarding latency, largest subscriber count under 1 % loss.
    Fanout(bench_fanout::BenchFanoutArgs),
    /// Clients joining, signalling, publishing and leaving at random for minutes: leaks and losses.
    Soak(bench_soak::BenchSoakArgs),
    /// A call over shaped, lossy links in a network namespace (root): frame rate, freezes, latency.
    Network(bench_network::BenchNetworkArgs),
    /// The receiving process of `bench fanout` (internal).
    #[command(hide = true)]
    FanoutReceivers(bench_fanout_receivers::FanoutReceiversArgs),
}

fn init_logging() {
    let filter = std::env::var("OTTER_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        // webrtc-rs warns on every DTLS handshake about a server name it does not need for WebRTC.
        .unwrap_or_else(|_| "warn,rtc_dtls=error".into());
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .init();
}

fn main() -> std::process::ExitCode {
    init_logging();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("otter: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Serve(args) => serve::run(args).await,
            Command::Session {
                command: SessionCommand::Create(args),
            } => project_admin::create(args).await,
            Command::Token(args) => project_admin::token(args),
            Command::Join(args) => join::run(*args).await,
            Command::Bench {
                command: BenchCommand::Join(args),
            } => bench_join::run(args).await,
            Command::Bench {
                command: BenchCommand::Media(args),
            } => bench_media::run(args).await,
            Command::Bench {
                command: BenchCommand::Fanout(args),
            } => bench_fanout::run(args).await,
            Command::Bench {
                command: BenchCommand::FanoutReceivers(args),
            } => bench_fanout_receivers::run(args).await,
            Command::Bench {
                command: BenchCommand::Soak(args),
            } => bench_soak::run(args).await,
            Command::Bench {
                command: BenchCommand::Network(args),
            } => bench_network::run(args).await,
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("otter: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Prints one JSON object as a line on stdout and flushes, so pipes see it at once.
pub(crate) fn emit(value: &serde_json::Value) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{value}");
    let _ = out.flush();
}

/// Resolves on SIGINT or SIGTERM.
pub(crate) async fn stop_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
