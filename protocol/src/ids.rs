//! Typed identifiers. Each validates on construction, so a value of the type is always well formed.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

use crate::session_id::SessionIdParts;

/// Why a string is not a valid identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// Empty string.
    #[error("identifier is empty")]
    Empty,
    /// Longer than the identifier's limit.
    #[error("identifier is longer than {0} characters")]
    TooLong(usize),
    /// A character outside `A-Z a-z 0-9 - _`.
    #[error("identifier contains a character other than A-Z a-z 0-9 - _")]
    BadCharacter,
    /// A session ID whose payload does not decode to the OpenTok shape.
    #[error("malformed session ID: {0}")]
    MalformedSession(&'static str),
}

/// The longest connection or stream ID accepted.
pub const MAX_ID_LEN: usize = 64;
/// The longest session ID accepted (OpenTok's are about 80 characters).
pub const MAX_SESSION_ID_LEN: usize = 512;

fn check_simple(s: &str, max: usize) -> Result<(), IdError> {
    if s.is_empty() {
        return Err(IdError::Empty);
    }
    if s.len() > max {
        return Err(IdError::TooLong(max));
    }
    if !s
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(IdError::BadCharacter);
    }
    Ok(())
}

macro_rules! simple_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Validates `s`: 1 to 64 characters of `A-Z a-z 0-9 - _`.
            pub fn new(s: impl Into<String>) -> Result<Self, IdError> {
                let s = s.into();
                check_simple(&s, MAX_ID_LEN)?;
                Ok(Self(s))
            }

            /// The ID as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl std::str::FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                Self::new(s)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Self::new(s).map_err(serde::de::Error::custom)
            }
        }
    };
}

simple_id!(
    /// Identifies one client's connection to a session. It survives a reconnection within the window.
    ConnectionId
);
simple_id!(
    /// Identifies one published stream.
    StreamId
);
simple_id!(
    /// Identifies one of a client's subscriptions (chosen by the client).
    SubscriptionId
);

/// An OpenTok-shaped session ID. Construction checks the shape and decodes the API key it names, so
/// [`SessionId::api_key`] never fails.
#[derive(Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct SessionId {
    raw: String,
    #[serde(skip)]
    parts: SessionIdParts,
}

impl SessionId {
    /// Parses and validates a session ID.
    pub fn new(s: impl Into<String>) -> Result<Self, IdError> {
        let raw = s.into();
        if raw.is_empty() {
            return Err(IdError::Empty);
        }
        if raw.len() > MAX_SESSION_ID_LEN {
            return Err(IdError::TooLong(MAX_SESSION_ID_LEN));
        }
        let parts = SessionIdParts::decode(&raw)?;
        Ok(Self { raw, parts })
    }

    /// The session ID as a string slice.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// The API key (project) the session belongs to.
    pub fn api_key(&self) -> &str {
        &self.parts.api_key
    }

    /// The decoded fields of the ID.
    pub fn parts(&self) -> &SessionIdParts {
        &self.parts
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionId({})", self.raw)
    }
}

impl std::str::FromStr for SessionId {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        Self::new(s)
    }
}

impl<'de> Deserialize<'de> for SessionId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::new(s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simple_ids_validate() {
        assert!(ConnectionId::new("abc-DEF_123").is_ok());
        assert_eq!(ConnectionId::new(""), Err(IdError::Empty));
        assert_eq!(StreamId::new("a b"), Err(IdError::BadCharacter));
        assert_eq!(StreamId::new("x".repeat(65)), Err(IdError::TooLong(64)));
        let err = serde_json::from_str::<ConnectionId>("\"no/slash\"");
        assert!(err.is_err());
    }
}
