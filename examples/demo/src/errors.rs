//! Errors as people read them: what happened and what to do, with the documented code for searching.

use otter_rtc::{ErrorCode, OtError};

/// A sentence for `error`, ending with its code and name (e.g. "… (1004 OT_AUTHENTICATION_ERROR)").
pub fn describe(error: &OtError) -> String {
    let what = match error.kind() {
        Some(ErrorCode::AuthenticationError) => {
            "The server refused the token: it is invalid, expired or for another session."
        }
        Some(ErrorCode::InvalidSessionId) => "That session ID is not valid for this server.",
        Some(ErrorCode::ConnectFailed) => {
            "The server cannot be reached. Check the URL and that the server is running."
        }
        Some(ErrorCode::ConnectionLimitExceeded) => "The session is full.",
        Some(ErrorCode::NotConnected) => "Not connected to the session.",
        Some(ErrorCode::HardwareUnavailable) => "A camera or microphone is missing or busy.",
        _ => return error.to_string(),
    };
    format!("{what} ({} {})", error.code, error.name)
}
