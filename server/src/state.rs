//! The state every handler shares.

use std::sync::Arc;

use tokio::sync::watch;

use crate::config::ServerConfig;
use crate::hub::Hub;
use crate::metrics::Metrics;
use crate::sfu::Sfu;

/// Shared by the REST handlers and socket tasks.
pub struct ServerState {
    /// Projects and limits.
    pub config: ServerConfig,
    /// Live sessions.
    pub hub: Hub,
    /// Counters for `/metrics`.
    pub metrics: Arc<Metrics>,
    /// The media router.
    pub sfu: Sfu,
    /// Live WHIP/WHEP resources.
    pub http_media: crate::whip::HttpMediaResources,
    shutdown: watch::Sender<bool>,
}

/// What [`crate::app`] takes.
pub type AppState = Arc<ServerState>;

impl ServerState {
    /// State for a server with this configuration, routing media through `sfu`.
    pub fn new(config: ServerConfig, sfu: Sfu) -> AppState {
        let metrics = Arc::new(Metrics::default());
        Arc::new(Self {
            hub: Hub::new(config.limits.clone(), metrics.clone(), sfu.clone()),
            sfu,
            http_media: Default::default(),
            config,
            metrics,
            shutdown: watch::channel(false).0,
        })
    }

    /// Tells every socket task to say goodbye and close.
    pub fn begin_shutdown(&self) {
        self.shutdown.send_replace(true);
    }

    /// Resolves when shutdown has begun.
    pub fn shutdown_signal(&self) -> watch::Receiver<bool> {
        self.shutdown.subscribe()
    }
}
