//! The REST API, shaped like OpenTok's so its server SDKs (npm and PyPI `opentok`) work against it:
//! session creation, stream listing, force-disconnect, signals and force-mute. Every call is
//! authenticated by the `X-OPENTOK-AUTH` header (an HS256 JWT signed with the project secret).

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Form, Json};
use otter_protocol::{ConnectionId, SessionId, Stream, StreamId, VideoType};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::api_error::ApiError;
use crate::config::Project;
use crate::hub::{Command, RestCommand};
use crate::session_ids::new_session_id;
use crate::state::AppState;
use crate::tokens;

/// The header OpenTok SDKs authenticate with.
pub const AUTH_HEADER: &str = "x-opentok-auth";

fn authenticate<'a>(
    state: &'a AppState,
    headers: &HeaderMap,
    api_key: Option<&str>,
) -> Result<&'a Project, ApiError> {
    let value = headers
        .get(AUTH_HEADER)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| ApiError::forbidden("missing X-OPENTOK-AUTH header"))?;
    tokens::verify_rest_auth(value, &state.config, api_key, crate::clock::unix_secs())
        .map_err(|e| ApiError::forbidden(format!("invalid credentials: {e}")))
}

/// Form fields of `POST /session/create`.
#[derive(Deserialize)]
pub struct CreateSession {
    #[serde(rename = "p2p.preference", default)]
    p2p: Option<String>,
    #[serde(rename = "archiveMode", default)]
    archive_mode: Option<String>,
    #[serde(default)]
    location: Option<String>,
}

/// `POST /session/create`.
pub async fn create_session(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<CreateSession>,
) -> Result<Response, ApiError> {
    let project = authenticate(&state, &headers, None)?;
    if let Some(p) = form.p2p.as_deref() {
        if !matches!(p, "enabled" | "disabled") {
            return Err(ApiError::bad_request(
                "p2p.preference must be enabled or disabled",
            ));
        }
    }
    if let Some(m) = form.archive_mode.as_deref() {
        if !matches!(m, "manual" | "always") {
            return Err(ApiError::bad_request(
                "archiveMode must be manual or always",
            ));
        }
    }
    let location = form
        .location
        .unwrap_or_else(|| state.config.location.clone());
    if !location.is_empty() && location.parse::<std::net::Ipv4Addr>().is_err() {
        return Err(ApiError::bad_request("location must be an IPv4 address"));
    }
    let session_id = new_session_id(project, &location);
    let created = session_id.parts().create_time.clone();
    // Both SDKs read `[0].session_id`; the Python one needs the content type to be exactly application/json.
    let body = json!([{
        "session_id": session_id.as_str(),
        "project_id": project.api_key,
        "partner_id": project.api_key,
        "create_dt": created,
        "media_server_url": state.config.public_url.clone().unwrap_or_default(),
    }]);
    Ok((
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response())
}

/// Path of session-scoped calls.
#[derive(Deserialize)]
pub struct SessionPath {
    key: String,
    sid: String,
}

/// Checks credentials and that the session ID is well formed and of the authenticated project.
fn session(
    state: &AppState,
    headers: &HeaderMap,
    key: &str,
    sid: &str,
) -> Result<SessionId, ApiError> {
    authenticate(state, headers, Some(key))?;
    let id = SessionId::new(sid)
        .map_err(|e| ApiError::bad_request(format!("invalid session ID: {e}")))?;
    if id.api_key() != key {
        return Err(ApiError::forbidden(
            "the session belongs to another project",
        ));
    }
    Ok(id)
}

fn stream_json(s: &Stream) -> Value {
    let video_type = match s.video_type {
        VideoType::Camera => "camera",
        VideoType::Screen => "screen",
        VideoType::Custom => "custom",
    };
    json!({ "id": s.stream_id.as_str(), "videoType": video_type, "name": s.name, "layoutClassList": [] })
}

async fn streams(state: &AppState, id: &SessionId) -> Vec<Stream> {
    state
        .hub
        .ask(id, false, |reply| {
            Command::Rest(RestCommand::ListStreams(reply))
        })
        .await
        .unwrap_or_default()
}

/// `GET /v2/project/{key}/session/{sid}/stream`.
pub async fn list_streams(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(p): Path<SessionPath>,
) -> Result<Json<Value>, ApiError> {
    let id = session(&state, &headers, &p.key, &p.sid)?;
    let items: Vec<Value> = streams(&state, &id).await.iter().map(stream_json).collect();
    Ok(Json(json!({ "count": items.len(), "items": items })))
}

/// `GET /v2/project/{key}/session/{sid}/stream/{stream_id}`.
pub async fn get_stream(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((key, sid, stream_id)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let id = session(&state, &headers, &key, &sid)?;
    let stream_id = StreamId::new(stream_id)
        .map_err(|e| ApiError::bad_request(format!("invalid stream ID: {e}")))?;
    let all = streams(&state, &id).await;
    let stream = all
        .iter()
        .find(|s| s.stream_id == stream_id)
        .ok_or_else(|| ApiError::not_found("no such stream"))?;
    // No JSON content type here on purpose: the npm SDK's getStream JSON.parses the body itself and fails
    // on one its HTTP client already parsed. The Python SDK parses either way.
    Ok((StatusCode::OK, stream_json(stream).to_string()).into_response())
}

/// `DELETE /v2/project/{key}/session/{sid}/connection/{cid}`.
pub async fn force_disconnect(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((key, sid, cid)): Path<(String, String, String)>,
) -> Result<StatusCode, ApiError> {
    let id = session(&state, &headers, &key, &sid)?;
    let cid = ConnectionId::new(cid)
        .map_err(|e| ApiError::bad_request(format!("invalid connection ID: {e}")))?;
    state
        .hub
        .ask(&id, false, |reply| {
            Command::Rest(RestCommand::ForceDisconnect(cid, reply))
        })
        .await
        .ok_or_else(|| ApiError::not_found("no such connection in the session"))??;
    Ok(StatusCode::NO_CONTENT)
}

/// Body of a REST signal.
#[derive(Deserialize)]
pub struct SignalBody {
    #[serde(rename = "type", default)]
    signal_type: String,
    #[serde(default)]
    data: String,
}

/// `POST /v2/project/{key}/session/{sid}/signal`.
pub async fn signal_all(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(p): Path<SessionPath>,
    body: Result<Json<SignalBody>, axum::extract::rejection::JsonRejection>,
) -> Result<StatusCode, ApiError> {
    signal(state, headers, p.key, p.sid, None, body).await
}

/// `POST /v2/project/{key}/session/{sid}/connection/{cid}/signal`.
pub async fn signal_one(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((key, sid, cid)): Path<(String, String, String)>,
    body: Result<Json<SignalBody>, axum::extract::rejection::JsonRejection>,
) -> Result<StatusCode, ApiError> {
    signal(state, headers, key, sid, Some(cid), body).await
}

async fn signal(
    state: AppState,
    headers: HeaderMap,
    key: String,
    sid: String,
    to: Option<String>,
    body: Result<Json<SignalBody>, axum::extract::rejection::JsonRejection>,
) -> Result<StatusCode, ApiError> {
    let id = session(&state, &headers, &key, &sid)?;
    let Json(body) =
        body.map_err(|e| ApiError::bad_request(format!("invalid signal body: {e}")))?;
    let to = to
        .map(ConnectionId::new)
        .transpose()
        .map_err(|e| ApiError::bad_request(format!("invalid connection ID: {e}")))?;
    otter_protocol::signal::validate(&body.signal_type, &body.data)?;
    let targeted = to.is_some();
    let outcome = state
        .hub
        .ask(&id, false, |reply| {
            Command::Rest(RestCommand::Signal {
                to,
                signal_type: body.signal_type,
                data: body.data,
                reply,
            })
        })
        .await;
    match outcome {
        Some(result) => result?,
        // No one is in the session: a broadcast reaches nobody; a targeted signal has no target.
        None if targeted => return Err(ApiError::not_found("no such connection in the session")),
        None => {}
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Body of `POST …/mute`. Accepts the REST docs' `excludedStreamIds` and the Python SDK's `excludedStreams`.
#[derive(Deserialize, Default)]
pub struct MuteBody {
    #[serde(default = "yes")]
    active: bool,
    #[serde(rename = "excludedStreamIds", alias = "excludedStreams", default)]
    excluded: Vec<String>,
}

fn yes() -> bool {
    true
}

/// `POST /v2/project/{key}/session/{sid}/mute`.
pub async fn mute_all(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(p): Path<SessionPath>,
    body: Option<Json<MuteBody>>,
) -> Result<Json<Value>, ApiError> {
    let id = session(&state, &headers, &p.key, &p.sid)?;
    let body = body.map(|Json(b)| b).unwrap_or(MuteBody {
        active: true,
        excluded: Vec::new(),
    });
    let excluded = body
        .excluded
        .into_iter()
        .map(StreamId::new)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ApiError::bad_request(format!("invalid stream ID: {e}")))?;
    let active = body.active;
    if let Some(result) = state
        .hub
        .ask(&id, false, |reply| {
            Command::Rest(RestCommand::Mute {
                stream_id: None,
                excluded,
                active,
                reply,
            })
        })
        .await
    {
        result?;
    }
    Ok(Json(json!({})))
}

/// `POST /v2/project/{key}/session/{sid}/stream/{stream_id}/mute`.
pub async fn mute_stream(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((key, sid, stream_id)): Path<(String, String, String)>,
) -> Result<Json<Value>, ApiError> {
    let id = session(&state, &headers, &key, &sid)?;
    let stream_id = StreamId::new(stream_id)
        .map_err(|e| ApiError::bad_request(format!("invalid stream ID: {e}")))?;
    state
        .hub
        .ask(&id, false, |reply| {
            Command::Rest(RestCommand::Mute {
                stream_id: Some(stream_id),
                excluded: Vec::new(),
                active: true,
                reply,
            })
        })
        .await
        .ok_or_else(|| ApiError::not_found("no such stream"))??;
    Ok(Json(json!({})))
}

/// `GET /metrics`: Prometheus text.
pub async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(token) = &state.config.metrics_token {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        if !token.admits(given) {
            return ApiError::unauthorized("GET /metrics needs the metrics bearer token")
                .into_response();
        }
    }
    let sfu = state.sfu.stats();
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        format!(
            "{}# HELP otter_sfu_peers Live SFU peer connections.\n# TYPE otter_sfu_peers gauge\notter_sfu_peers {}\n\
             # HELP otter_sfu_packets_received_total RTP packets received from publishers.\n\
             # TYPE otter_sfu_packets_received_total counter\notter_sfu_packets_received_total {}\n\
             # HELP otter_sfu_packets_late_total Publisher packets after a later one: retransmissions, reordering.\n\
             # TYPE otter_sfu_packets_late_total counter\notter_sfu_packets_late_total {}\n",
            state.metrics.render(),
            sfu.peers,
            sfu.packets_received,
            sfu.packets_late,
        ),
    )
        .into_response()
}
