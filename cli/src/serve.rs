//! `otter serve`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use otter_server::{ListenOptions, ServerConfig};
use serde_json::json;

#[derive(Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "OTTER_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// API key of the one project (with --api-secret).
    #[arg(long, env = "OTTER_API_KEY", requires = "api_secret")]
    api_key: Option<String>,
    /// API secret of the one project.
    #[arg(
        long,
        env = "OTTER_API_SECRET",
        requires = "api_key",
        hide_env_values = true
    )]
    api_secret: Option<String>,
    /// A TOML file with projects and limits (see the server crate's `ServerConfig`).
    #[arg(long, env = "OTTER_CONFIG", conflicts_with = "api_key")]
    config: Option<PathBuf>,
    /// The public IP address: written into new session IDs as their location and into media candidates.
    #[arg(long, env = "OTTER_PUBLIC_IP")]
    public_ip: Option<std::net::IpAddr>,
    /// The address media binds (default: the config file's, else the --listen address); e.g. the public
    /// interface when HTTP listens on loopback behind a reverse proxy.
    #[arg(long, env = "OTTER_MEDIA_IP")]
    media_ip: Option<std::net::IpAddr>,
    /// The one UDP port all media uses (0 = any free port; default: the config file's, else 0).
    #[arg(long, env = "OTTER_UDP_PORT")]
    udp_port: Option<u16>,
    /// A TCP port for ICE over TCP, for clients whose UDP is blocked (default: the config file's).
    #[arg(long, env = "OTTER_TCP_PORT")]
    tcp_port: Option<u16>,
    /// A bearer token that `GET /metrics` then requires (default: the config file's; none = open).
    #[arg(long, env = "OTTER_METRICS_TOKEN", hide_env_values = true)]
    metrics_token: Option<String>,
    /// PEM certificate chain: serve https/wss (with --tls-key).
    #[arg(long, env = "OTTER_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// PEM private key for --tls-cert.
    #[arg(long, env = "OTTER_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
}

pub async fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let (mut config, development) = match (&args.config, &args.api_key, &args.api_secret) {
        (Some(path), _, _) => (ServerConfig::from_toml_file(path)?, false),
        (None, Some(key), Some(secret)) => (ServerConfig::with_project(key, secret), false),
        _ => (ServerConfig::development(), true),
    };
    if config.projects.is_empty() {
        anyhow::bail!("the configuration has no projects");
    }
    if let Some(ip) = args.public_ip {
        config.location = ip.to_string();
        config.media.public_ip = Some(ip);
    }
    if let Some(token) = args.metrics_token {
        config.metrics_token = Some(otter_server::config::BearerToken(token));
    }
    // Flags override the config file's [media] ports only when given.
    if let Some(port) = args.udp_port {
        config.media.udp_port = port;
    }
    if args.tcp_port.is_some() {
        config.media.tcp_port = args.tcp_port;
    }
    if args.media_ip.is_some() {
        config.media.bind_ip = args.media_ip;
    }
    let listen = ListenOptions {
        addr: args.listen,
        tls: args.tls_cert.zip(args.tls_key),
    };
    let server = otter_server::start(config, listen)
        .await
        .context("cannot start the server")?;
    let project = &server.state().config.projects[0];
    let mut ready =
        json!({ "event": "listening", "url": server.url(), "api_key": project.api_key });
    if development {
        // The development project exists only in this process: print its secret so it can be used.
        ready["api_secret"] = json!(project.api_secret);
        ready["development"] = json!(true);
    }
    crate::emit(&ready);
    tracing::info!(url = %server.url(), "listening");
    crate::stop_signal().await;
    tracing::info!("shutting down");
    server.shutdown(Duration::from_secs(5)).await;
    crate::emit(&json!({ "event": "stopped" }));
    Ok(ExitCode::SUCCESS)
}
