//! Standard ingest and egress over HTTP: WHIP (RFC 9725) publishes an SDP offer into a session as a
//! stream; WHEP plays one stream. Both are authenticated by a session token (`Authorization: Bearer`), so
//! OBS, GStreamer or a browser can take part without our signalling protocol.
//!
//! Each resource is a connection in the session without a socket: the handler joins on its behalf, sends
//! the same `publish` / `subscribe` request a client would, and reads the answer from the connection's
//! outbox. `DELETE` on the resource's `Location` leaves the session (and so ends its media).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use otter_protocol::{
    ConnectionId, Envelope, ErrorCode, OtError, Request, ServerMessage, SessionId, StreamId,
    SubscriptionId, VideoType,
};
use serde::Deserialize;
use tokio::sync::mpsc;

use crate::api_error::ApiError;
use crate::hub::{Command, Epoch, OUTBOX_CAPACITY};
use crate::state::AppState;
use crate::tokens;

/// How long negotiation may take before the request fails.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(15);
/// The largest SDP offer accepted.
const MAX_OFFER_BYTES: usize = 64 * 1024;

/// A live WHIP or WHEP resource.
struct Resource {
    session_id: SessionId,
    connection_id: ConnectionId,
    epoch: Epoch,
}

/// The live resources, by ID (the last segment of their `Location`).
#[derive(Default)]
pub struct HttpMediaResources {
    live: Mutex<HashMap<String, Resource>>,
}

/// A failed WHIP/WHEP request: the status of its code and a plain-text reason (`api_error.rs`).
fn refuse(code: ErrorCode, message: impl Into<String>) -> Response {
    ApiError::new(code, message).text().into_response()
}

/// An error the session answered, as a WHIP/WHEP response.
fn refuse_with(e: OtError) -> Response {
    ApiError::from(e).text().into_response()
}

/// Browsers call WHIP/WHEP from other origins.
fn with_cors(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    h.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("Location"),
    );
    response
}

/// `OPTIONS` on the WHIP/WHEP endpoints: the CORS preflight.
pub async fn preflight() -> Response {
    let mut r = with_cors(StatusCode::NO_CONTENT.into_response());
    let h = r.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("POST, DELETE, OPTIONS"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("Authorization, Content-Type"),
    );
    r
}

/// Query of a WHIP publish.
#[derive(Deserialize, Default)]
pub struct WhipQuery {
    /// The stream's name.
    #[serde(default)]
    name: String,
}

/// `POST /v1/whip/{session_id}`: publish the offer as a stream of the session.
pub async fn publish(
    State(state): State<AppState>,
    Path(session_id): Path<String>,
    Query(query): Query<WhipQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let offer = match sdp_body(&headers, &body) {
        Ok(o) => o,
        Err((code, why)) => return refuse(code, why),
    };
    let (has_audio, has_video) = (offer.contains("\nm=audio"), offer.contains("\nm=video"));
    let request = Request::Publish {
        name: query.name,
        has_audio,
        has_video,
        video_type: VideoType::Custom,
        video_dimensions: (0, 0),
        sdp_offer: Some(offer),
    };
    negotiate(state, &session_id, &headers, request, "whip").await
}

/// `POST /v1/whep/{session_id}/{stream_id}`: play one stream.
pub async fn play(
    State(state): State<AppState>,
    Path((session_id, stream_id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let offer = match sdp_body(&headers, &body) {
        Ok(o) => o,
        Err((code, why)) => return refuse(code, why),
    };
    let Ok(stream_id) = StreamId::new(stream_id) else {
        return refuse(ErrorCode::NotFound, "no such stream");
    };
    let request = Request::Subscribe {
        subscription_id: SubscriptionId::new("whep").expect("a valid ID"),
        stream_id,
        sdp_offer: offer,
        audio: true,
        video: true,
        preferred_resolution: None,
    };
    negotiate(state, &session_id, &headers, request, "whep").await
}

/// `DELETE` on a resource's `Location`: leave the session.
pub async fn delete(State(state): State<AppState>, Path(resource): Path<String>) -> Response {
    let removed = state
        .http_media
        .live
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .remove(&resource);
    let Some(r) = removed else {
        return refuse(ErrorCode::NotFound, "no such resource");
    };
    let command = Command::Leave {
        connection_id: r.connection_id,
        epoch: r.epoch,
    };
    state.hub.send(&r.session_id, command, false).await;
    with_cors(StatusCode::OK.into_response())
}

/// The offer in a request body, or why it is refused.
fn sdp_body(headers: &HeaderMap, body: &Bytes) -> Result<String, (ErrorCode, &'static str)> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !content_type.starts_with("application/sdp") {
        return Err((
            ErrorCode::UnsupportedMediaType,
            "the offer must be application/sdp",
        ));
    }
    if body.len() > MAX_OFFER_BYTES {
        return Err((ErrorCode::PayloadTooLarge, "the offer is too large"));
    }
    String::from_utf8(body.to_vec()).map_err(|_| (ErrorCode::BadRequest, "the offer is not UTF-8"))
}

/// Joins on the caller's behalf, sends `message`, and answers with the SDP answer (201) or the refusal.
async fn negotiate(
    state: AppState,
    session_id: &str,
    headers: &HeaderMap,
    request: Request,
    kind: &str,
) -> Response {
    let Ok(session_id) = SessionId::new(session_id) else {
        return refuse(ErrorCode::NotFound, "no such session");
    };
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    let claims = match tokens::verify(token, &state.config, &session_id, crate::clock::unix_secs())
    {
        Ok(c) => c,
        Err(e) => {
            return refuse(
                ErrorCode::AuthenticationError,
                format!("invalid token: {e}"),
            )
        }
    };
    let claims_expire = claims.expire_time;
    let (tx, mut outbox) = mpsc::channel(OUTBOX_CAPACITY);
    let joined = state
        .hub
        .ask(&session_id, true, |reply| Command::Join {
            socketless: true,
            data: claims.connection_data,
            role: claims.role,
            outbox: tx,
            reply,
        })
        .await;
    let joined = match joined {
        Some(Ok(j)) => j,
        Some(Err(e)) => return refuse_with(e),
        None => return ApiError::unavailable().text().into_response(),
    };
    let (connection_id, epoch) = (joined.connection.connection_id, joined.epoch);
    let leave = move |state: AppState, session_id: SessionId, connection_id: ConnectionId| async move {
        state
            .hub
            .send(
                &session_id,
                Command::Leave {
                    connection_id,
                    epoch,
                },
                false,
            )
            .await;
    };
    let command = Command::FromClient {
        connection_id: connection_id.clone(),
        epoch,
        request: Envelope { id: 1, request },
    };
    state.hub.send(&session_id, command, false).await;
    let answer = tokio::time::timeout(ANSWER_TIMEOUT, async {
        while let Some(frame) = outbox.recv().await {
            if let Ok(ServerMessage::Reply {
                id: 1,
                sdp_answer,
                error,
                ..
            }) = ServerMessage::decode(&frame)
            {
                return match (sdp_answer, error) {
                    (_, Some(e)) => Err(e),
                    (Some(a), None) => Ok(a),
                    (None, None) => {
                        Err(ErrorCode::UnexpectedServerResponse.with_message("no SDP answer"))
                    }
                };
            }
        }
        Err(ErrorCode::ConnectFailed.with_message("the session ended"))
    })
    .await
    .unwrap_or_else(|_| Err(ErrorCode::ConnectFailed.with_message("no answer in time")));
    let answer = match answer {
        Ok(a) => a,
        Err(e) => {
            leave(state, session_id, connection_id).await;
            return refuse_with(e);
        }
    };
    let resource = format!("{:032x}", rand::random::<u128>());
    state
        .http_media
        .live
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(
            resource.clone(),
            Resource {
                session_id: session_id.clone(),
                connection_id: connection_id.clone(),
                epoch,
            },
        );
    // The resource hears the session's news like any connection; nobody reads it. It ends when the
    // session lets go of it (DELETE, its media died, a moderator) or when its token expires.
    let expires_in = Duration::from_secs(claims_expire.saturating_sub(crate::clock::unix_secs()));
    let (watch_state, watch_resource) = (state.clone(), resource.clone());
    tokio::spawn(async move {
        let drained = async { while outbox.recv().await.is_some() {} };
        if tokio::time::timeout(expires_in, drained).await.is_err() {
            tracing::info!("a WHIP/WHEP resource's token expired");
            leave(watch_state.clone(), session_id, connection_id).await;
        }
        watch_state
            .http_media
            .live
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&watch_resource);
    });
    let location = format!("/v1/{kind}/resource/{resource}");
    let mut response = (
        StatusCode::CREATED,
        [(header::CONTENT_TYPE, "application/sdp")],
        answer,
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    with_cors(response)
}
