//! The Otter session server, a library; `otter serve` runs it.
//!
//! A client opens a WebSocket at [`otter_protocol::SIGNAL_PATH`]; `ws` checks its token ([`tokens`]) and
//! hands it to the session's actor in the [`hub`], which owns that session's connections and streams.
//! `rest` is the OpenTok-compatible REST API, [`whip`] WHIP/WHEP, [`metrics`] the Prometheus counters,
//! and [`start`] binds, adds TLS and shuts down gracefully. [`app`] builds the router, so tests can drive
//! it without a port. The modules that are public are the ones embedders and tests reach; the HTTP
//! plumbing (`api_error`, `http_limits`, `rate_limit`, `rest`, `serve`, `ws`) is the crate's own.

pub(crate) mod api_error;
pub mod clock;
pub mod config;
pub(crate) mod http_limits;
pub mod hub;
pub mod ice_servers;
pub mod metrics;
pub(crate) mod rate_limit;
pub(crate) mod rest;
pub(crate) mod serve;
pub mod session_ids;
pub mod sfu;
pub mod state;
pub mod tokens;
pub mod whip;
pub(crate) mod ws;

use axum::routing::{delete, get, post};
use axum::Router;

pub use config::{Limits, Project, ServerConfig};
pub use serve::{start, ListenOptions, RunningServer};
pub use state::{AppState, ServerState};

/// The server's routes.
pub fn app(state: AppState) -> Router {
    let session = "/v2/project/{key}/session/{sid}";
    Router::new()
        .route(otter_protocol::SIGNAL_PATH, get(ws::upgrade))
        .route("/session/create", post(rest::create_session))
        .route(&format!("{session}/stream"), get(rest::list_streams))
        .route(
            &format!("{session}/stream/{{stream_id}}"),
            get(rest::get_stream),
        )
        .route(
            &format!("{session}/stream/{{stream_id}}/mute"),
            post(rest::mute_stream),
        )
        .route(
            &format!("{session}/connection/{{cid}}"),
            delete(rest::force_disconnect),
        )
        .route(
            &format!("{session}/connection/{{cid}}/signal"),
            post(rest::signal_one),
        )
        .route(&format!("{session}/signal"), post(rest::signal_all))
        .route(&format!("{session}/mute"), post(rest::mute_all))
        .route(
            "/v1/whip/{sid}",
            post(whip::publish).options(whip::preflight),
        )
        .route(
            "/v1/whep/{sid}/{stream_id}",
            post(whip::play).options(whip::preflight),
        )
        .route(
            "/v1/whip/resource/{id}",
            delete(whip::delete).options(whip::preflight),
        )
        .route(
            "/v1/whep/resource/{id}",
            delete(whip::delete).options(whip::preflight),
        )
        .route("/metrics", get(rest::metrics))
        .route("/healthz", get(|| async { "ok" }))
        .layer(axum::middleware::from_fn(
            http_limits::close_after_unread_body,
        ))
        .with_state(state)
}
