//! The one HTTP error type of the REST API and WHIP/WHEP, keyed by [`ErrorCode`] (the shape of axum's
//! error-handling example): handlers return `Result<_, ApiError>` and `?` works on [`OtError`]s; the
//! HTTP status comes from one table ([`http_status`]); the detail goes to the log at debug level.
//!
//! REST answers in the OpenTok shape, `{"code": <HTTP status>, "message": "…"}`, which the server SDKs
//! read; WHIP/WHEP answer in plain text with CORS headers, as browsers' WHIP clients expect.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use otter_protocol::{ErrorCode, OtError};
use serde_json::json;

/// A failed HTTP request.
#[derive(Debug)]
pub struct ApiError {
    code: ErrorCode,
    message: String,
    body: Body,
}

/// How the failure is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Body {
    /// `{"code", "message"}` (REST).
    Json,
    /// The message as plain text, readable from any origin (WHIP/WHEP).
    Text,
}

/// The HTTP status of each error code, for every HTTP route.
pub fn http_status(code: ErrorCode) -> StatusCode {
    use ErrorCode::*;
    match code {
        BadRequest | InvalidParameter | HardwareUnavailable | DevicePermissionDenied => {
            StatusCode::BAD_REQUEST
        }
        AuthenticationError | InvalidSessionId => StatusCode::UNAUTHORIZED,
        Forbidden
        | UnableToPublish
        | UnableToSubscribe
        | ForceDisconnectDenied
        | ForceUnpublishDenied => StatusCode::FORBIDDEN,
        NotFound | NotConnected => StatusCode::NOT_FOUND,
        PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        RateLimited => StatusCode::TOO_MANY_REQUESTS,
        ConnectFailed
        | ConnectionLimitExceeded
        | StreamLimitExceeded
        | PublisherIceFailed
        | SubscriberIceFailed => StatusCode::SERVICE_UNAVAILABLE,
        UnexpectedServerResponse => StatusCode::INTERNAL_SERVER_ERROR,
        // The table is `#[non_exhaustive]`: a code added later is a bad request until it is mapped.
        _ => StatusCode::BAD_REQUEST,
    }
}

impl ApiError {
    /// A failure of `code`, saying `message` to the client.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            body: Body::Json,
        }
    }

    /// 403, as the OpenTok SDKs expect for bad REST credentials.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Forbidden, message)
    }

    /// 400.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::BadRequest, message)
    }

    /// 404.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, message)
    }

    /// 401: a token or bearer credential is missing or wrong.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::AuthenticationError, message)
    }

    /// 503: the session's actor did not answer.
    pub fn unavailable() -> Self {
        Self::new(ErrorCode::ConnectFailed, "the session is unavailable")
    }

    /// The same failure written as plain text with CORS headers (WHIP/WHEP).
    pub fn text(mut self) -> Self {
        self.body = Body::Text;
        self
    }

    /// The HTTP status it answers with.
    pub fn status(&self) -> StatusCode {
        http_status(self.code)
    }
}

impl From<OtError> for ApiError {
    fn from(e: OtError) -> Self {
        let code = ErrorCode::ALL
            .iter()
            .copied()
            .find(|c| c.code() == e.code && c.name() == e.name)
            .unwrap_or(ErrorCode::BadRequest);
        Self::new(code, e.message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        tracing::debug!(status = status.as_u16(), code = self.code.code(), message = %self.message, "HTTP request failed");
        // Internals are never shown: a server-side failure says only that it happened.
        let message = if status.is_server_error() && status != StatusCode::SERVICE_UNAVAILABLE {
            "something went wrong".to_owned()
        } else {
            self.message
        };
        match self.body {
            Body::Json => (
                status,
                Json(json!({ "code": status.as_u16(), "message": message })),
            )
                .into_response(),
            Body::Text => {
                let mut response = (status, message).into_response();
                response.headers_mut().insert(
                    header::ACCESS_CONTROL_ALLOW_ORIGIN,
                    HeaderValue::from_static("*"),
                );
                response
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every code the server can produce has a status, and none is a success.
    #[test]
    fn every_code_maps_to_an_error_status() {
        for code in ErrorCode::ALL {
            let status = http_status(*code);
            assert!(
                status.is_client_error() || status.is_server_error(),
                "{code:?}"
            );
        }
        assert_eq!(
            http_status(ErrorCode::RateLimited),
            StatusCode::TOO_MANY_REQUESTS
        );
        let refused: ApiError = ErrorCode::ForceUnpublishDenied.with_message("no").into();
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    }

    #[tokio::test]
    async fn internals_are_not_shown_and_text_answers_carry_cors() {
        let hidden = ApiError::new(ErrorCode::UnexpectedServerResponse, "pointer at 0xdead")
            .text()
            .into_response();
        assert_eq!(hidden.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(hidden.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
        let body = axum::body::to_bytes(hidden.into_body(), 1024)
            .await
            .unwrap();
        assert_eq!(&body[..], b"something went wrong");
        let json = ApiError::not_found("no such stream").into_response();
        let body = axum::body::to_bytes(json.into_body(), 1024).await.unwrap();
        assert_eq!(&body[..], br#"{"code":404,"message":"no such stream"}"#);
    }
}
