//! Server configuration: projects (API key + secret) and the limits and timers of sessions.

use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

/// One project: the API key identifies it, the secret signs its tokens and REST calls.
#[derive(Clone, Deserialize)]
pub struct Project {
    /// The API key (OpenTok's "application ID" / "partner ID").
    pub api_key: String,
    /// The API secret. Never logged.
    pub api_secret: String,
}

impl std::fmt::Debug for Project {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Project")
            .field("api_key", &self.api_key)
            .field("api_secret", &"<redacted>")
            .finish()
    }
}

/// Limits and timers applied to every session.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct Limits {
    /// Connections (live or waiting for a resume) a session admits; the next gets 1027.
    pub max_connections_per_session: usize,
    /// Signals a connection may send in a burst.
    pub signal_burst: u32,
    /// Signals per second a connection may send once its burst is spent; beyond it, 429.
    pub signals_per_second: u32,
    /// Requests of any kind (publish, subscribe, updates, signals…) a connection may send in a burst.
    pub request_burst: u32,
    /// Requests per second a connection may send once its burst is spent; beyond it, 429.
    pub requests_per_second: u32,
    /// Signals a whole session may carry in a burst (tokens are reusable, so per-connection limits
    /// alone multiply with connections).
    pub session_signal_burst: u32,
    /// Signals per second a whole session may carry once its burst is spent; beyond it, 429.
    pub session_signals_per_second: u32,
    /// Streams one connection may publish at once (camera and screen are two); the next gets 1605.
    pub max_streams_per_connection: usize,
    /// Subscriptions one connection may hold at once; the next gets 1605.
    pub max_subscriptions_per_connection: usize,
    /// How often the server pings each client.
    #[serde(with = "millis")]
    pub heartbeat_interval: Duration,
    /// Silence after which a link counts as dropped.
    #[serde(with = "millis")]
    pub heartbeat_timeout: Duration,
    /// How long a dropped connection is kept for a resume before the others hear it is gone.
    #[serde(with = "millis")]
    pub reconnect_window: Duration,
    /// How long a new socket has to send its first message.
    #[serde(with = "millis")]
    pub hello_timeout: Duration,
    /// HTTP connections (REST, WHIP/WHEP, WebSockets) open at once; beyond, new ones are closed.
    pub max_http_connections: usize,
    /// How long a client has to send a request's headers, and how long an idle keep-alive connection
    /// stays open.
    #[serde(with = "millis")]
    pub http_header_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_connections_per_session: 3000,
            signal_burst: 100,
            signals_per_second: 50,
            request_burst: 200,
            requests_per_second: 100,
            session_signal_burst: 2000,
            session_signals_per_second: 1000,
            max_streams_per_connection: 8,
            max_subscriptions_per_connection: 256,
            heartbeat_interval: Duration::from_secs(2),
            heartbeat_timeout: Duration::from_secs(6),
            reconnect_window: Duration::from_secs(30),
            hello_timeout: Duration::from_secs(10),
            max_http_connections: 10_000,
            http_header_timeout: Duration::from_secs(10),
        }
    }
}

impl Limits {
    /// Refuses values the server cannot run with, naming the field and what it needs.
    pub fn validate(&self) -> anyhow::Result<()> {
        const HOUR: Duration = Duration::from_secs(3600);
        let positive = [
            (
                "max_connections_per_session",
                self.max_connections_per_session as u64,
            ),
            ("signal_burst", self.signal_burst.into()),
            ("signals_per_second", self.signals_per_second.into()),
            ("request_burst", self.request_burst.into()),
            ("requests_per_second", self.requests_per_second.into()),
            ("session_signal_burst", self.session_signal_burst.into()),
            (
                "session_signals_per_second",
                self.session_signals_per_second.into(),
            ),
            (
                "max_streams_per_connection",
                self.max_streams_per_connection as u64,
            ),
            (
                "max_subscriptions_per_connection",
                self.max_subscriptions_per_connection as u64,
            ),
        ];
        for (name, value) in positive {
            anyhow::ensure!(value > 0, "limits.{name} must be at least 1");
        }
        let timers = [
            ("heartbeat_interval", self.heartbeat_interval),
            ("heartbeat_timeout", self.heartbeat_timeout),
            ("reconnect_window", self.reconnect_window),
            ("hello_timeout", self.hello_timeout),
            ("http_header_timeout", self.http_header_timeout),
        ];
        for (name, value) in timers {
            anyhow::ensure!(
                value >= Duration::from_millis(10) && value <= HOUR,
                "limits.{name} must be between 10 and 3600000 milliseconds (it is {})",
                value.as_millis()
            );
        }
        anyhow::ensure!(
            self.heartbeat_timeout > self.heartbeat_interval,
            "limits.heartbeat_timeout must be longer than limits.heartbeat_interval"
        );
        Ok(())
    }
}

mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_millis(u64::deserialize(d)?))
    }
}

/// Everything the server needs to run.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ServerConfig {
    /// The projects this server serves.
    pub projects: Vec<Project>,
    /// Limits and timers.
    pub limits: Limits,
    /// The location written into new session IDs (the server's public IP, often empty).
    pub location: String,
    /// The base URL advertised as `media_server_url` when creating sessions.
    pub public_url: Option<String>,
    /// Where media goes.
    pub media: MediaConfig,
    /// When set, `GET /metrics` needs `Authorization: Bearer <this>` (the counters say how busy the
    /// server is and which errors it hands out). Never logged.
    pub metrics_token: Option<BearerToken>,
    /// STUN/TURN servers advertised to clients for their media (`[[ice_servers]]`).
    pub ice_servers: Vec<crate::ice_servers::IceServerConfig>,
}

/// A secret bearer token: compared in constant time, redacted in `Debug`.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct BearerToken(pub String);

impl BearerToken {
    /// Whether an `Authorization` header value is `Bearer <this token>`.
    pub fn admits(&self, authorization: Option<&str>) -> bool {
        let given = authorization
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        given.len() == self.0.len()
            && subtle::ConstantTimeEq::ct_eq(given.as_bytes(), self.0.as_bytes()).into()
    }
}

impl std::fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// The media plane's sockets.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct MediaConfig {
    /// The one UDP port all media uses (0 = any free port).
    pub udp_port: u16,
    /// A TCP port for ICE-TCP, for clients whose UDP is blocked (None = no ICE-TCP).
    pub tcp_port: Option<u16>,
    /// The address written into ICE candidates (default: the listen address).
    pub public_ip: Option<std::net::IpAddr>,
    /// The address the media sockets bind (default: the listen address). A server whose HTTP sits
    /// behind a reverse proxy on loopback binds its media to the public interface (or `0.0.0.0`).
    pub bind_ip: Option<std::net::IpAddr>,
    /// Silence after which a peer's media counts as dead: its stream ends with `media_stopped`, and a
    /// WHIP/WHEP resource goes with its media.
    #[serde(with = "millis")]
    pub media_timeout: Duration,
}

impl Default for MediaConfig {
    fn default() -> Self {
        Self {
            udp_port: 0,
            tcp_port: None,
            public_ip: None,
            bind_ip: None,
            media_timeout: crate::sfu::MEDIA_TIMEOUT,
        }
    }
}

impl ServerConfig {
    /// Reads a TOML file:
    ///
    /// ```toml
    /// [[projects]]
    /// api_key = "1234"
    /// api_secret = "s3cret"
    /// [limits]
    /// reconnect_window = 30000   # milliseconds
    /// ```
    pub fn from_toml_file(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
        Self::from_toml(&text)
    }

    /// Parses TOML text (see [`ServerConfig::from_toml_file`]).
    pub fn from_toml(text: &str) -> anyhow::Result<Self> {
        let config: ServerConfig = toml::from_str(text)?;
        config.validate()?;
        Ok(config)
    }

    /// Refuses a configuration the server cannot run with, saying what to change.
    pub fn validate(&self) -> anyhow::Result<()> {
        for p in &self.projects {
            if p.api_key.is_empty() || p.api_secret.is_empty() {
                anyhow::bail!("a project needs a non-empty api_key and api_secret");
            }
        }
        let timeout = self.media.media_timeout;
        anyhow::ensure!(
            timeout >= Duration::from_millis(100) && timeout <= Duration::from_secs(600),
            "media.media_timeout must be between 100 and 600000 milliseconds"
        );
        crate::ice_servers::validate(&self.ice_servers)?;
        self.limits.validate()
    }

    /// A configuration with one project.
    pub fn with_project(api_key: impl Into<String>, api_secret: impl Into<String>) -> Self {
        Self {
            projects: vec![Project {
                api_key: api_key.into(),
                api_secret: api_secret.into(),
            }],
            ..Self::default()
        }
    }

    /// A development project with a random key and secret.
    pub fn development() -> Self {
        use rand::distributions::{Alphanumeric, DistString};
        let mut rng = rand::thread_rng();
        let key = format!(
            "{}",
            rand::Rng::gen_range(&mut rng, 10_000_000u32..100_000_000)
        );
        Self::with_project(key, Alphanumeric.sample_string(&mut rng, 40))
    }

    /// The project with this API key.
    pub fn project(&self, api_key: &str) -> Option<&Project> {
        self.projects.iter().find(|p| p.api_key == api_key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_toml() {
        let c = ServerConfig::from_toml(
            "[[projects]]\napi_key='k'\napi_secret='s'\n[limits]\nreconnect_window=500\n",
        )
        .unwrap();
        assert_eq!(c.project("k").unwrap().api_secret, "s");
        assert_eq!(c.limits.reconnect_window, Duration::from_millis(500));
        assert_eq!(c.limits.signal_burst, Limits::default().signal_burst);
        assert!(ServerConfig::from_toml("[[projects]]\napi_key=''\napi_secret='s'\n").is_err());
        assert!(!format!("{:?}", c.projects[0]).contains("\"s\""));
    }

    /// L7: values that used to panic the server later are refused up front, naming the field.
    #[test]
    fn bad_limits_are_refused_with_the_field_named() {
        for (toml, field) in [
            ("heartbeat_interval=0", "heartbeat_interval"),
            ("reconnect_window=18446744073709551615", "reconnect_window"),
            (
                "heartbeat_interval=9000\nheartbeat_timeout=3000",
                "heartbeat_timeout",
            ),
            ("signals_per_second=0", "signals_per_second"),
            ("max_streams_per_connection=0", "max_streams_per_connection"),
        ] {
            let text = format!("[[projects]]\napi_key='k'\napi_secret='s'\n[limits]\n{toml}\n");
            let e = ServerConfig::from_toml(&text).unwrap_err().to_string();
            assert!(e.contains(field), "{toml}: {e}");
        }
        assert!(ServerConfig::with_project("k", "s").validate().is_ok());
    }
}
