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
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_connections_per_session: 3000,
            signal_burst: 100,
            signals_per_second: 50,
            heartbeat_interval: Duration::from_secs(2),
            heartbeat_timeout: Duration::from_secs(6),
            reconnect_window: Duration::from_secs(30),
            hello_timeout: Duration::from_secs(10),
        }
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
}

/// The media plane's sockets.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct MediaConfig {
    /// The one UDP port all media uses (0 = any free port).
    pub udp_port: u16,
    /// A TCP port for ICE-TCP, for clients whose UDP is blocked (None = no ICE-TCP).
    pub tcp_port: Option<u16>,
    /// The address written into ICE candidates (default: the listen address).
    pub public_ip: Option<std::net::IpAddr>,
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
        for p in &config.projects {
            if p.api_key.is_empty() || p.api_secret.is_empty() {
                anyhow::bail!("a project needs a non-empty api_key and api_secret");
            }
        }
        Ok(config)
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
}
