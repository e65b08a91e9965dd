//! Sizes of what a client names, so every frame the server builds from them stays under
//! [`crate::MAX_FRAME_BYTES`] (see [`crate::roster`] for the one message that grows with the session).

use crate::error::{ErrorCode, OtError};

/// The most characters a stream's `name` may have (the same as a connection's data).
pub const MAX_STREAM_NAME_CHARS: usize = 1000;

/// Checks a stream name: 400 `OT_INVALID_PARAMETER`-style refusal when too long.
pub fn validate_stream_name(name: &str) -> Result<(), OtError> {
    if name.chars().count() > MAX_STREAM_NAME_CHARS {
        return Err(ErrorCode::InvalidParameter.with_message(format!(
            "stream name is longer than {MAX_STREAM_NAME_CHARS} characters"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_limited_in_characters() {
        assert!(validate_stream_name(&"é".repeat(MAX_STREAM_NAME_CHARS)).is_ok());
        let e = validate_stream_name(&"x".repeat(MAX_STREAM_NAME_CHARS + 1)).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidParameter.code());
    }
}
