//! Options of a session (API.md §2).

use std::time::Duration;

pub use otter_protocol::IceServer;

/// The environment variable that overrides the default server URL.
pub const API_URL_ENV: &str = "OTTER_API_URL";
/// The server URL used when neither the options nor the environment name one.
pub const DEFAULT_API_URL: &str = "http://127.0.0.1:8080";

/// How a session connects.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionOptions {
    /// The session server's base URL (`http(s)://host:port`). Default: `$OTTER_API_URL`, then
    /// `http://127.0.0.1:8080`.
    pub api_url: String,
    /// Turns `connection_created` / `connection_destroyed` off (large sessions).
    pub connection_events_suppressed: bool,
    /// ICE servers and policy for media.
    pub ice_config: IceConfig,
    /// How long `connect` waits for the server before failing with 1006.
    pub connect_timeout: Duration,
    /// How long to keep trying to resume a dropped link before giving up. The server's own window
    /// (announced on connect) caps it.
    pub reconnect_window: Duration,
}

impl Default for SessionOptions {
    fn default() -> Self {
        Self {
            api_url: std::env::var(API_URL_ENV).unwrap_or_else(|_| DEFAULT_API_URL.to_owned()),
            connection_events_suppressed: false,
            ice_config: IceConfig::default(),
            connect_timeout: Duration::from_secs(15),
            reconnect_window: Duration::from_secs(30),
        }
    }
}

impl SessionOptions {
    /// Default options for a server at `api_url`.
    pub fn with_api_url(api_url: impl Into<String>) -> Self {
        Self {
            api_url: api_url.into(),
            ..Self::default()
        }
    }
}

/// Which ICE servers media uses.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IceConfig {
    /// Use the server's ICE servers, or only `custom_servers`.
    pub include_servers: IncludeServers,
    /// All candidates, or relayed only.
    pub transport_policy: TransportPolicy,
    /// Extra STUN/TURN servers.
    pub custom_servers: Vec<IceServer>,
    /// Drop host candidates of private networks.
    pub filter_out_lan_candidates: bool,
    /// Gather TCP candidates only, as on networks that block UDP: media then reaches the server through
    /// its ICE-TCP port.
    pub tcp_only: bool,
}

/// See [`IceConfig::include_servers`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum IncludeServers {
    /// The server's and the custom ones.
    #[default]
    All,
    /// Only the custom ones.
    Custom,
}

/// See [`IceConfig::transport_policy`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TransportPolicy {
    /// Any candidate.
    #[default]
    All,
    /// TURN relays only.
    Relay,
}

/// Turns an `http(s)://` base URL into the signalling WebSocket URL.
pub fn signal_url(api_url: &str) -> Result<String, String> {
    let base = api_url.trim_end_matches('/');
    let rest = if let Some(r) = base.strip_prefix("http://") {
        format!("ws://{r}")
    } else if let Some(r) = base.strip_prefix("https://") {
        format!("wss://{r}")
    } else if base.starts_with("ws://") || base.starts_with("wss://") {
        base.to_owned()
    } else {
        return Err(format!(
            "api_url must start with http:// or https://, got {api_url:?}"
        ));
    };
    Ok(format!("{rest}{}", otter_protocol::SIGNAL_PATH))
}

#[cfg(test)]
mod tests {
    #[test]
    fn signal_urls() {
        assert_eq!(
            super::signal_url("http://h:1/").unwrap(),
            "ws://h:1/v1/signal"
        );
        assert_eq!(super::signal_url("https://h").unwrap(), "wss://h/v1/signal");
        assert!(super::signal_url("ftp://h").is_err());
    }
}
