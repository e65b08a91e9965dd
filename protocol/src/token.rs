//! What a token grants, independent of how it is encoded (OpenTok JWT or legacy `T1==`).
//! Signing and verifying live in the server; the client treats tokens as opaque strings.

use serde::{Deserialize, Serialize};

use crate::objects::Role;

/// The most characters a token's `connection_data` may have.
pub const MAX_CONNECTION_DATA_CHARS: usize = 1000;
/// Default token lifetime: 24 hours.
pub const DEFAULT_TOKEN_TTL_SECS: u64 = 24 * 3600;
/// Longest token lifetime: 30 days.
pub const MAX_TOKEN_TTL_SECS: u64 = 30 * 24 * 3600;

/// The claims of a session token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenClaims {
    /// The API key of the project that signed it.
    pub api_key: String,
    /// The session it admits to.
    pub session_id: String,
    /// What the connection may do.
    pub role: Role,
    /// Seconds since the Unix epoch when it was made.
    pub create_time: u64,
    /// Seconds since the Unix epoch when it stops being accepted.
    pub expire_time: u64,
    /// A random number that makes each token unique.
    pub nonce: String,
    /// Application data attached to the connection (at most 1 000 characters).
    pub connection_data: String,
    /// Layout classes for archiving (kept for compatibility).
    pub initial_layout_class_list: Vec<String>,
}
