//! `otter join`'s ICE flags: which STUN/TURN servers its media uses and how (API.md §2 `ice_config`).

use clap::Args;
use otter_rtc::{IceConfig, IceServer, IncludeServers, TransportPolicy};

#[derive(Args, Debug, Clone, Default)]
pub struct IceArgs {
    /// A STUN or TURN server URL for media (`stun:host:3478`, `turn:host:3478`); repeatable.
    #[arg(long = "ice-server", value_name = "URL")]
    pub servers: Vec<String>,
    /// The TURN user name for the --ice-server TURN servers.
    #[arg(long)]
    pub ice_username: Option<String>,
    /// The TURN credential for the --ice-server TURN servers.
    #[arg(long, env = "OTTER_ICE_CREDENTIAL", hide_env_values = true)]
    pub ice_credential: Option<String>,
    /// Use the STUN/TURN servers the session server advertises as well (`all`), or only --ice-server
    /// (`custom`).
    #[arg(long, default_value = "all", value_parser = ["all", "custom"])]
    pub include_servers: String,
    /// Media only through a TURN relay.
    #[arg(long)]
    pub relay_only: bool,
    /// TCP candidates only (media reaches the server's ICE-TCP port).
    #[arg(long)]
    pub tcp_only: bool,
    /// Leave the host candidates of private, link-local and loopback addresses out of the offer.
    #[arg(long)]
    pub no_lan_candidates: bool,
}

impl IceArgs {
    /// The engine's configuration; an error names a flag used wrongly.
    pub fn config(&self) -> anyhow::Result<IceConfig> {
        anyhow::ensure!(
            self.ice_username.is_some() == self.ice_credential.is_some(),
            "--ice-username and --ice-credential go together"
        );
        let custom_servers = self
            .servers
            .iter()
            .map(|url| {
                anyhow::ensure!(
                    ["stun:", "turn:", "turns:"]
                        .iter()
                        .any(|s| url.starts_with(s)),
                    "--ice-server {url:?} must start with stun:, turn: or turns:"
                );
                Ok(match (url.starts_with("stun:"), &self.ice_username) {
                    (false, Some(user)) => IceServer::turn(
                        [url.as_str()],
                        user.as_str(),
                        self.ice_credential.as_deref().unwrap_or_default(),
                    ),
                    _ => IceServer::new([url.as_str()]),
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(IceConfig {
            include_servers: match self.include_servers.as_str() {
                "custom" => IncludeServers::Custom,
                _ => IncludeServers::All,
            },
            transport_policy: if self.relay_only {
                TransportPolicy::Relay
            } else {
                TransportPolicy::All
            },
            custom_servers,
            filter_out_lan_candidates: self.no_lan_candidates,
            tcp_only: self.tcp_only,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_become_the_engines_ice_config() {
        let args = IceArgs {
            servers: vec!["stun:s:3478".into(), "turn:t:3478".into()],
            ice_username: Some("u".into()),
            ice_credential: Some("c".into()),
            include_servers: "custom".into(),
            relay_only: true,
            ..Default::default()
        };
        let config = args.config().unwrap();
        assert_eq!(
            config.custom_servers,
            [
                IceServer::new(["stun:s:3478"]),
                IceServer::turn(["turn:t:3478"], "u", "c")
            ]
        );
        assert_eq!(config.include_servers, IncludeServers::Custom);
        assert_eq!(config.transport_policy, TransportPolicy::Relay);
        let bad = IceArgs {
            servers: vec!["http://t".into()],
            ..Default::default()
        };
        assert!(bad.config().unwrap_err().to_string().contains("stun:"));
        let half = IceArgs {
            ice_username: Some("u".into()),
            ..Default::default()
        };
        assert!(half.config().unwrap_err().to_string().contains("together"));
    }
}
