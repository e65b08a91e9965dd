//! The STUN/TURN servers this server advertises to its clients (`[[ice_servers]]` in the TOML), with
//! either a fixed TURN credential or, better, a shared secret with the TURN server from which each
//! connection gets a credential of its own that expires (the TURN REST API convention that coturn's
//! `use-auth-secret` / `static-auth-secret` checks): user name `<expiry unix seconds>:<connection ID>`,
//! credential `base64(HMAC-SHA1(secret, user name))`. A leaked credential then dies on its own.

use std::time::Duration;

use base64::Engine;
use hmac::{Hmac, Mac};
use otter_protocol::ice_server::{MAX_ICE_SERVERS, MAX_ICE_SERVER_URLS};
use otter_protocol::{ConnectionId, IceServer};
use serde::Deserialize;
use sha1::Sha1;

use crate::config::BearerToken;

/// How long a credential made from a shared secret lasts by default (the TURN REST draft's day).
const DEFAULT_CREDENTIAL_TTL: Duration = Duration::from_secs(24 * 3600);

/// One `[[ice_servers]]` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IceServerConfig {
    /// `stun:` / `turn:` / `turns:` URLs.
    pub urls: Vec<String>,
    /// A fixed TURN user name (with `credential`).
    #[serde(default)]
    pub username: Option<String>,
    /// A fixed TURN credential (with `username`). Never logged.
    #[serde(default)]
    pub credential: Option<BearerToken>,
    /// The secret shared with the TURN server: each connection gets its own expiring credential.
    /// Never logged.
    #[serde(default)]
    pub secret: Option<BearerToken>,
    /// How long a credential made from `secret` lasts, in seconds.
    #[serde(default)]
    pub credential_ttl_secs: Option<u64>,
}

impl IceServerConfig {
    /// Refuses an entry clients could not use, naming what to change.
    pub fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            !self.urls.is_empty() && self.urls.len() <= MAX_ICE_SERVER_URLS,
            "an ice_servers entry needs 1 to {MAX_ICE_SERVER_URLS} urls"
        );
        for url in &self.urls {
            anyhow::ensure!(
                ["stun:", "turn:", "turns:"]
                    .iter()
                    .any(|scheme| url.starts_with(scheme)),
                "ice_servers url {url:?} must start with stun:, turn: or turns:"
            );
        }
        let fixed = self.username.is_some() || self.credential.is_some();
        anyhow::ensure!(
            !(fixed && self.secret.is_some()),
            "an ice_servers entry has either username and credential, or secret, not both"
        );
        anyhow::ensure!(
            self.username.is_some() == self.credential.is_some(),
            "ice_servers username and credential go together"
        );
        anyhow::ensure!(
            self.credential_ttl_secs.is_none() || self.secret.is_some(),
            "ice_servers credential_ttl_secs applies to a secret"
        );
        Ok(())
    }

    /// What `connection` is told, at `now` (Unix seconds).
    fn advertise(&self, connection: &ConnectionId, now: u64) -> IceServer {
        let urls = self.urls.clone();
        match (&self.secret, &self.username, &self.credential) {
            (Some(secret), _, _) => {
                let ttl = self
                    .credential_ttl_secs
                    .map_or(DEFAULT_CREDENTIAL_TTL, Duration::from_secs);
                let username = format!("{}:{}", now + ttl.as_secs(), connection.as_str());
                let credential = turn_rest_credential(&secret.0, &username);
                IceServer::turn(urls, username, credential)
            }
            (None, Some(username), Some(credential)) => {
                IceServer::turn(urls, username.clone(), credential.0.clone())
            }
            _ => IceServer::new(urls),
        }
    }
}

/// The servers to advertise to `connection` at `now` (Unix seconds).
pub fn advertised(
    config: &[IceServerConfig],
    connection: &ConnectionId,
    now: u64,
) -> Vec<IceServer> {
    config
        .iter()
        .map(|c| c.advertise(connection, now))
        .collect()
}

/// Refuses a list clients would cut short.
pub fn validate(config: &[IceServerConfig]) -> anyhow::Result<()> {
    anyhow::ensure!(
        config.len() <= MAX_ICE_SERVERS,
        "at most {MAX_ICE_SERVERS} ice_servers (clients ignore the rest)"
    );
    config.iter().try_for_each(IceServerConfig::validate)
}

/// The TURN REST credential of `username`: `base64(HMAC-SHA1(secret, username))`, what coturn's
/// `use-auth-secret` expects (for back ends that hand out TURN credentials themselves).
pub fn turn_rest_credential(secret: &str, username: &str) -> String {
    // HMAC takes a key of any length.
    let mut mac = Hmac::<Sha1>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(username.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(toml: &str) -> anyhow::Result<IceServerConfig> {
        let entry: IceServerConfig = toml::from_str(toml)?;
        entry.validate()?;
        Ok(entry)
    }

    /// The credential as OpenSSL computes it:
    /// `printf %s 1334265587:alice | openssl dgst -sha1 -hmac north -binary | base64`.
    #[test]
    fn a_shared_secret_gives_each_connection_an_expiring_credential() {
        assert_eq!(
            turn_rest_credential("north", "1334265587:alice"),
            "zm8y2gYlZ27MMOpXGljQvkNRJrI="
        );
        let c = entry("urls=['turn:t:3478']\nsecret='north'\ncredential_ttl_secs=60").unwrap();
        let id = ConnectionId::new("c1").unwrap();
        let told = c.advertise(&id, 1_000);
        assert_eq!(
            told.username.as_deref(),
            Some(format!("1060:{}", id.as_str()).as_str())
        );
        assert_eq!(
            told.credential,
            Some(turn_rest_credential(
                "north",
                told.username.as_deref().unwrap()
            ))
        );
        assert!(!format!("{c:?}").contains("north"));
    }

    #[test]
    fn entries_clients_cannot_use_are_refused_with_the_reason() {
        for (toml, says) in [
            ("urls=[]", "urls"),
            ("urls=['http://t']", "stun:"),
            (
                "urls=['turn:t']\nsecret='s'\nusername='u'\ncredential='c'",
                "not both",
            ),
            ("urls=['turn:t']\nusername='u'", "together"),
            ("urls=['stun:t']\ncredential_ttl_secs=5", "secret"),
        ] {
            let e = entry(toml).unwrap_err().to_string();
            assert!(e.contains(says), "{toml}: {e}");
        }
        let fixed = entry("urls=['turn:t']\nusername='u'\ncredential='c'").unwrap();
        let told = fixed.advertise(&ConnectionId::new("c1").unwrap(), 0);
        assert_eq!(told, IceServer::turn(["turn:t"], "u", "c"));
        assert_eq!(
            entry("urls=['stun:t']")
                .unwrap()
                .advertise(&ConnectionId::new("c1").unwrap(), 0),
            IceServer::new(["stun:t"])
        );
    }
}
