//! Running the server: bind, optional TLS (rustls), graceful shutdown that tells clients first.

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use axum_server::accept::DefaultAcceptor;
use axum_server::tls_rustls::{RustlsAcceptor, RustlsConfig};
use axum_server::Handle;

use crate::config::ServerConfig;
use crate::http_limits::{self, ConnectionCap};
use crate::sfu::{Sfu, SfuConfig};
use crate::state::{AppState, ServerState};

/// Where and how to listen.
#[derive(Debug, Clone)]
pub struct ListenOptions {
    /// Address to bind; port 0 picks a free one.
    pub addr: SocketAddr,
    /// PEM certificate chain and private key; with them the server speaks `https`/`wss`.
    pub tls: Option<(PathBuf, PathBuf)>,
}

impl Default for ListenOptions {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            tls: None,
        }
    }
}

/// A running server.
pub struct RunningServer {
    /// The bound address.
    pub addr: SocketAddr,
    tls: bool,
    state: AppState,
    handle: Handle,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl RunningServer {
    /// `http://ADDR` or `https://ADDR`.
    pub fn url(&self) -> String {
        format!(
            "{}://{}",
            if self.tls { "https" } else { "http" },
            self.addr
        )
    }

    /// The shared state (configuration, hub, metrics).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Tells every client the server is going away, then stops accepting and waits (up to `grace`) for
    /// connections to close.
    pub async fn shutdown(self, grace: Duration) {
        self.state.begin_shutdown();
        self.handle.graceful_shutdown(Some(grace));
        let _ = self.task.await;
        self.state.sfu.shutdown().await;
    }
}

/// Binds and starts serving in a background task.
pub async fn start(config: ServerConfig, listen: ListenOptions) -> anyhow::Result<RunningServer> {
    config.validate().context("invalid configuration")?;
    let media = &config.media;
    let media_ip = media.bind_ip.unwrap_or(listen.addr.ip());
    let sfu_config = SfuConfig {
        udp_addr: SocketAddr::new(media_ip, media.udp_port),
        tcp_addr: media.tcp_port.map(|p| SocketAddr::new(media_ip, p)),
        public_ip: media.public_ip,
        connect_deadline: crate::sfu::CONNECT_DEADLINE,
        media_timeout: media.media_timeout,
    };
    let sfu = Sfu::start(sfu_config)
        .await
        .context("cannot start the media router")?;
    let sfu_events = sfu.take_events();
    let state = ServerState::new(config, sfu);
    if let Some(events) = sfu_events {
        tokio::spawn(crate::hub::forward_sfu_events(state.hub.clone(), events));
    }
    let listener = TcpListener::bind(listen.addr)
        .with_context(|| format!("cannot listen on {}", listen.addr))?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let app = crate::app(state.clone()).into_make_service();
    let handle = Handle::new();
    let limits = state.config.limits.clone();
    let capped = ConnectionCap::new(DefaultAcceptor::new(), limits.max_http_connections);
    let task = match &listen.tls {
        Some((cert, key)) => {
            // One crypto provider for the process; ring is the one compiled in.
            let _ = rustls::crypto::ring::default_provider().install_default();
            let tls = RustlsConfig::from_pem_file(cert, key)
                .await
                .with_context(|| {
                    format!(
                        "cannot load TLS certificate {} / key {}",
                        cert.display(),
                        key.display()
                    )
                })?;
            let acceptor = RustlsAcceptor::new(tls).acceptor(capped);
            let mut server = axum_server::from_tcp(listener)
                .acceptor(acceptor)
                .handle(handle.clone());
            http_limits::configure(server.http_builder(), limits.http_header_timeout);
            tokio::spawn(server.serve(app))
        }
        None => {
            let mut server = axum_server::from_tcp(listener)
                .acceptor(capped)
                .handle(handle.clone());
            http_limits::configure(server.http_builder(), limits.http_header_timeout);
            tokio::spawn(server.serve(app))
        }
    };
    Ok(RunningServer {
        addr,
        tls: listen.tls.is_some(),
        state,
        handle,
        task,
    })
}
