//! [`IceServer`]: a STUN or TURN server, as the session server advertises it to its clients (in
//! [`crate::ServerMessage::Connected`] and [`crate::ServerMessage::Resumed`]) and as an app configures
//! one of its own.

use serde::{Deserialize, Serialize};

/// How many servers a client takes from the server (a hostile list must not grow its ICE agent).
pub const MAX_ICE_SERVERS: usize = 8;
/// How many URLs of one server a client takes.
pub const MAX_ICE_SERVER_URLS: usize = 8;

/// A STUN or TURN server (W3C `RTCIceServer`).
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IceServer {
    /// `stun:host:port`, `turn:host:port?transport=udp|tcp`, `turns:host:port`.
    pub urls: Vec<String>,
    /// The TURN user name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// The TURN credential. Never logged (`Debug` redacts it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

impl IceServer {
    /// A server at these URLs without credentials (STUN).
    pub fn new(urls: impl IntoIterator<Item = impl Into<String>>) -> Self {
        Self {
            urls: urls.into_iter().map(Into::into).collect(),
            ..Self::default()
        }
    }

    /// A TURN server at these URLs with a user name and credential.
    pub fn turn(
        urls: impl IntoIterator<Item = impl Into<String>>,
        username: impl Into<String>,
        credential: impl Into<String>,
    ) -> Self {
        Self {
            urls: urls.into_iter().map(Into::into).collect(),
            username: Some(username.into()),
            credential: Some(credential.into()),
        }
    }

    /// Whether any URL names a TURN server (a relay).
    pub fn is_turn(&self) -> bool {
        self.urls
            .iter()
            .any(|u| u.starts_with("turn:") || u.starts_with("turns:"))
    }
}

impl std::fmt::Debug for IceServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IceServer")
            .field("urls", &self.urls)
            .field("username", &self.username)
            .field(
                "credential",
                &self.credential.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_credential_never_shows_in_debug_and_stays_off_the_wire_when_absent() {
        let turn = IceServer::turn(["turn:h:3478"], "u", "hunter2");
        assert!(!format!("{turn:?}").contains("hunter2"));
        assert!(turn.is_turn());
        let stun = IceServer::new(["stun:h:3478"]);
        assert!(!stun.is_turn());
        assert_eq!(
            serde_json::to_string(&stun).unwrap(),
            r#"{"urls":["stun:h:3478"]}"#
        );
    }
}
