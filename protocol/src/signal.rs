//! Signal limits (API.md §7), checked by the client before sending and by the server on receipt.

use crate::error::{ErrorCode, OtError};

/// The most bytes a signal's `data` may have.
pub const MAX_SIGNAL_DATA_BYTES: usize = 8192;
/// The most bytes a signal's `type` may have.
pub const MAX_SIGNAL_TYPE_BYTES: usize = 128;

/// Checks a signal's type and data: 400 for a bad type, 413 for data too long.
pub fn validate(signal_type: &str, data: &str) -> Result<(), OtError> {
    if signal_type.len() > MAX_SIGNAL_TYPE_BYTES {
        return Err(ErrorCode::BadRequest.with_message(format!(
            "signal type is longer than {MAX_SIGNAL_TYPE_BYTES} bytes"
        )));
    }
    if !signal_type
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'~'))
    {
        return Err(
            ErrorCode::BadRequest.with_message("signal type may only contain A-Z a-z 0-9 - _ ~")
        );
    }
    if data.len() > MAX_SIGNAL_DATA_BYTES {
        return Err(ErrorCode::PayloadTooLarge.with_message(format!(
            "signal data is longer than {MAX_SIGNAL_DATA_BYTES} bytes"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits() {
        assert!(validate("", "").is_ok());
        assert!(validate("chat-1_~", &"x".repeat(8192)).is_ok());
        assert_eq!(validate(&"t".repeat(129), "").unwrap_err().code, 400);
        assert_eq!(validate("a b", "").unwrap_err().code, 400);
        assert_eq!(validate("é", "").unwrap_err().code, 400);
        assert_eq!(validate("chat", &"x".repeat(8193)).unwrap_err().code, 413);
    }
}
