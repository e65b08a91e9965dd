//! The OpenTok session ID shape: `1_` followed by URL-safe base64 (padding dropped) of
//! `1~API_KEY~LOCATION~CREATE_TIME~RANDOM~…`. The server SDKs decode it to find the API key when they
//! mint tokens, so the server must produce exactly this shape.

use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;

use crate::ids::IdError;

/// The decoded fields of a session ID.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct SessionIdParts {
    /// The project's API key.
    pub api_key: String,
    /// The media location hint (an IP address, often empty).
    pub location: String,
    /// Creation time as the server wrote it.
    pub create_time: String,
    /// The random part that makes the ID unique.
    pub random: String,
}

impl SessionIdParts {
    /// Encodes the parts as a session ID string.
    pub fn encode(&self) -> String {
        let plain = format!(
            "1~{}~{}~{}~{}~",
            self.api_key, self.location, self.create_time, self.random
        );
        format!("1_{}", URL_SAFE_NO_PAD.encode(plain))
    }

    /// Decodes a session ID. Accepts padded or unpadded, URL-safe or standard base64, as the SDKs do.
    pub fn decode(id: &str) -> Result<Self, IdError> {
        let body = id
            .strip_prefix("1_")
            .or_else(|| id.strip_prefix("2_"))
            .ok_or(IdError::MalformedSession("missing 1_ prefix"))?;
        let trimmed = body.trim_end_matches('=');
        let bytes = URL_SAFE_NO_PAD
            .decode(trimmed)
            .or_else(|_| URL_SAFE.decode(body))
            .or_else(|_| STANDARD.decode(body))
            .map_err(|_| IdError::MalformedSession("not base64"))?;
        let text = String::from_utf8(bytes).map_err(|_| IdError::MalformedSession("not UTF-8"))?;
        let mut fields = text.split('~');
        let _version = fields.next();
        let api_key = fields
            .next()
            .filter(|k| !k.is_empty())
            .ok_or(IdError::MalformedSession("no API key"))?;
        if !api_key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(IdError::MalformedSession("bad API key"));
        }
        let location = fields.next().unwrap_or_default();
        let create_time = fields.next().unwrap_or_default();
        let random = fields.next().unwrap_or_default();
        if random.is_empty() {
            return Err(IdError::MalformedSession("no random part"));
        }
        Ok(Self {
            api_key: api_key.to_owned(),
            location: location.to_owned(),
            create_time: create_time.to_owned(),
            random: random.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let parts = SessionIdParts {
            api_key: "12345".into(),
            location: "127.0.0.1".into(),
            create_time: "Sun Nov 29 07:56:48 UTC 2026".into(),
            random: "0.5123".into(),
        };
        let id = parts.encode();
        assert!(id.starts_with("1_"));
        assert_eq!(SessionIdParts::decode(&id).unwrap(), parts);
    }

    #[test]
    fn rejects_garbage() {
        for bad in ["", "abc", "1_", "1_!!!", "2_MX4", "1_bm90aGluZw"] {
            assert!(SessionIdParts::decode(bad).is_err(), "{bad}");
        }
    }
}
