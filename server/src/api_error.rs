//! The REST API's one error type: a stable HTTP status and message for the client, details in the log.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use otter_protocol::OtError;
use serde_json::json;

/// A REST failure.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    /// A failure with a status and message.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    /// 403, as the OpenTok SDKs expect for bad credentials.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, message)
    }

    /// 400.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// 404.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    /// 503: the session's actor did not answer.
    pub fn unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the session is unavailable",
        )
    }
}

impl From<OtError> for ApiError {
    /// Signal codes are HTTP statuses already (400, 403, 404, 413, 429); others become 400.
    fn from(e: OtError) -> Self {
        let status = StatusCode::from_u16(e.code as u16)
            .ok()
            .filter(|s| s.is_client_error())
            .unwrap_or(StatusCode::BAD_REQUEST);
        Self::new(status, e.message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        tracing::debug!(status = self.status.as_u16(), message = %self.message, "REST request failed");
        (
            self.status,
            Json(json!({ "code": self.status.as_u16(), "message": self.message })),
        )
            .into_response()
    }
}
