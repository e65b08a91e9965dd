//! The error-code table (API.md §6). One number and one name per failure, on every layer and platform.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

macro_rules! error_codes {
    ($( $(#[$doc:meta])* $variant:ident = ($code:expr, $name:expr) ),* $(,)?) => {
        /// Every documented failure, with its numeric code and OpenTok name.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum ErrorCode {
            $( $(#[$doc])* $variant, )*
        }

        impl ErrorCode {
            /// Every code, in table order.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant),*];

            /// The numeric code.
            pub const fn code(self) -> u32 {
                match self { $(ErrorCode::$variant => $code,)* }
            }

            /// The OpenTok name, e.g. `OT_AUTHENTICATION_ERROR`.
            pub const fn name(self) -> &'static str {
                match self { $(ErrorCode::$variant => $name,)* }
            }
        }
    };
}

error_codes! {
    /// Signal type too long or with characters outside `A-Z a-z 0-9 - _ ~`, or a bad request.
    BadRequest = (400, "OT_INVALID_PARAMETER"),
    /// The operation is not allowed for this connection's role (e.g. a signal from a `subscriber`).
    Forbidden = (403, "OT_PERMISSION_DENIED"),
    /// A signal addressed to a connection that is not in the session, or an unknown stream.
    NotFound = (404, "OT_NOT_FOUND"),
    /// Signal data longer than 8 192 bytes.
    PayloadTooLarge = (413, "OT_INVALID_PARAMETER"),
    /// A WHIP/WHEP body that is not `application/sdp`.
    UnsupportedMediaType = (415, "OT_INVALID_PARAMETER"),
    /// Too many signals in too short a time.
    RateLimited = (429, "OT_RATE_LIMIT_EXCEEDED"),
    /// Token invalid, expired, for another session, or API key mismatch.
    AuthenticationError = (1004, "OT_AUTHENTICATION_ERROR"),
    /// Malformed session ID or one of another project.
    InvalidSessionId = (1005, "OT_INVALID_SESSION_ID"),
    /// Server unreachable or no answer within the connect timeout.
    ConnectFailed = (1006, "OT_CONNECT_FAILED"),
    /// The operation needs a connected session.
    NotConnected = (1010, "OT_NOT_CONNECTED"),
    /// A bad argument.
    InvalidParameter = (1011, "OT_INVALID_PARAMETER"),
    /// The session is full.
    ConnectionLimitExceeded = (1027, "OT_CONNECTION_LIMIT_EXCEEDED"),
    /// Publishing refused (the role does not allow it, or the server refused).
    UnableToPublish = (1500, "OT_UNABLE_TO_PUBLISH"),
    /// Publishing failed because a capture device is missing.
    HardwareUnavailable = (1500, "OT_HARDWARE_UNAVAILABLE"),
    /// Publishing failed because access to a capture device was denied.
    DevicePermissionDenied = (1500, "OT_PERMISSION_DENIED"),
    /// Force-disconnect without the moderator role.
    ForceDisconnectDenied = (1520, "OT_PERMISSION_DENIED"),
    /// Force-unpublish or force-mute without the moderator role.
    ForceUnpublishDenied = (1530, "OT_PERMISSION_DENIED"),
    /// The publisher's media path could not be established.
    PublisherIceFailed = (1553, "OT_ICE_WORKFLOW_FAILED"),
    /// The subscriber's media path could not be established.
    SubscriberIceFailed = (1554, "OT_ICE_WORKFLOW_FAILED"),
    /// A subscriber failure.
    UnableToSubscribe = (1600, "OT_UNABLE_TO_SUBSCRIBE"),
    /// Too many streams.
    StreamLimitExceeded = (1605, "OT_STREAM_LIMIT_EXCEEDED"),
    /// The server violated the protocol.
    UnexpectedServerResponse = (2000, "OT_UNEXPECTED_SERVER_RESPONSE"),
}

impl ErrorCode {
    /// Finds the code for a number and name; with an unknown name, the first entry with that number.
    pub fn lookup(code: u32, name: Option<&str>) -> Option<ErrorCode> {
        let mut with_code = Self::ALL.iter().copied().filter(|c| c.code() == code);
        let first = with_code.clone().next()?;
        Some(
            name.and_then(|n| with_code.find(|c| c.name() == n))
                .unwrap_or(first),
        )
    }

    /// An [`OtError`] of this code with a message.
    pub fn with_message(self, message: impl Into<String>) -> OtError {
        OtError {
            code: self.code(),
            name: self.name(),
            message: message.into(),
        }
    }
}

/// A failure as applications see it: `{ code, name, message }`.
#[derive(Clone, PartialEq, Eq)]
pub struct OtError {
    /// The numeric code (API.md §6).
    pub code: u32,
    /// The OpenTok name of the code.
    pub name: &'static str,
    /// A human-readable explanation. Never contains a token or secret.
    pub message: String,
}

impl OtError {
    /// The table entry of this error, if it is one.
    pub fn kind(&self) -> Option<ErrorCode> {
        ErrorCode::lookup(self.code, Some(self.name))
    }
}

impl fmt::Debug for OtError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OtError({} {}: {})", self.code, self.name, self.message)
    }
}

impl fmt::Display for OtError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}): {}", self.name, self.code, self.message)
    }
}

impl std::error::Error for OtError {}

#[derive(Serialize, Deserialize)]
struct WireError {
    code: u32,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    message: String,
}

impl Serialize for OtError {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        WireError {
            code: self.code,
            name: Some(self.name.to_owned()),
            message: self.message.clone(),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for OtError {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let w = WireError::deserialize(d)?;
        let name = ErrorCode::lookup(w.code, w.name.as_deref())
            .map(ErrorCode::name)
            .unwrap_or("OT_UNKNOWN_ERROR");
        Ok(OtError {
            code: w.code,
            name,
            message: w.message,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variants_of_one_code_keep_their_names() {
        let e = ErrorCode::HardwareUnavailable.with_message("no camera");
        let back: OtError = serde_json::from_str(&serde_json::to_string(&e).unwrap()).unwrap();
        assert_eq!(back, e);
        assert_eq!(back.kind(), Some(ErrorCode::HardwareUnavailable));
        assert_eq!(
            ErrorCode::lookup(1500, None),
            Some(ErrorCode::UnableToPublish)
        );
        assert_eq!(ErrorCode::lookup(9999, None), None);
    }
}
