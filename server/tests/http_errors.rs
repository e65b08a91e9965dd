//! The HTTP error shapes of the REST API and WHIP/WHEP, driven through [`otter_server::app`] with
//! `oneshot` (no port, no client): one error type, statuses from one table.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use otter_server::sfu::{Sfu, SfuConfig};
use otter_server::{app, AppState, ServerConfig, ServerState};
use tower::ServiceExt;

async fn state() -> AppState {
    let sfu = Sfu::start(SfuConfig::udp("127.0.0.1:0".parse().unwrap()))
        .await
        .unwrap();
    ServerState::new(ServerConfig::with_project("4711", "secret"), sfu)
}

async fn call(state: &AppState, request: Request<Body>) -> (StatusCode, Option<String>, String) {
    let response = app(state.clone()).oneshot(request).await.unwrap();
    let status = response.status();
    let cors = response
        .headers()
        .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
        .map(|v| v.to_str().unwrap().to_owned());
    let body = axum::body::to_bytes(response.into_body(), 1 << 16)
        .await
        .unwrap();
    (status, cors, String::from_utf8(body.to_vec()).unwrap())
}

#[tokio::test]
async fn rest_errors_are_json_in_the_opentok_shape() {
    let state = state().await;
    let request = Request::post("/v2/project/4711/session/1_abc/signal")
        .header("X-OPENTOK-AUTH", "not a jwt")
        .body(Body::empty())
        .unwrap();
    let (status, cors, body) = call(&state, request).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(cors, None);
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["code"], 403, "{body}");
    assert!(
        json["message"]
            .as_str()
            .unwrap()
            .starts_with("invalid credentials"),
        "{body}"
    );

    let request = Request::get("/metrics").body(Body::empty()).unwrap();
    assert_eq!(call(&state, request).await.0, StatusCode::OK);
}

#[tokio::test]
async fn whip_errors_are_plain_text_readable_from_any_origin() {
    let state = state().await;
    let session = otter_server::session_ids::new_session_id(&state.config.projects[0], "");
    let url = format!("/v1/whip/{}", session.as_str());
    let cases = [
        (
            "text/plain",
            "v=0",
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "the offer must be application/sdp",
        ),
        (
            "application/sdp",
            "v=0",
            StatusCode::UNAUTHORIZED,
            "invalid token",
        ),
    ];
    for (content_type, offer, want, says) in cases {
        let request = Request::post(&url)
            .header(header::CONTENT_TYPE, content_type)
            .header(header::AUTHORIZATION, "Bearer nonsense")
            .body(Body::from(offer))
            .unwrap();
        let (status, cors, body) = call(&state, request).await;
        assert_eq!(status, want, "{body}");
        assert_eq!(cors.as_deref(), Some("*"));
        assert!(body.starts_with(says), "{body}");
    }
    let request = Request::delete("/v1/whip/resource/unknown")
        .body(Body::empty())
        .unwrap();
    let (status, cors, body) = call(&state, request).await;
    assert_eq!(
        (status, cors.as_deref(), body.as_str()),
        (StatusCode::NOT_FOUND, Some("*"), "no such resource")
    );
}

#[tokio::test]
async fn an_answer_given_before_the_body_was_read_closes_the_connection() {
    let state = state().await;
    let session = otter_server::session_ids::new_session_id(&state.config.projects[0], "");
    let connection_header = |request: Request<Body>| {
        let state = state.clone();
        async move {
            let response = app(state).oneshot(request).await.unwrap();
            let close = response.headers().get(header::CONNECTION).cloned();
            (response.status(), close)
        }
    };
    // Refused from its headers (no credentials): the body is still on the wire.
    let refused = Request::post(format!(
        "/v2/project/4711/session/{}/signal",
        session.as_str()
    ))
    .header(header::CONTENT_TYPE, "text/plain")
    .body(Body::from("x".repeat(10_000)))
    .unwrap();
    let (status, close) = connection_header(refused).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(close.as_ref().map(|v| v.as_bytes()), Some(&b"close"[..]));

    // Read to its end and refused for what it said: the connection can carry the next request.
    let read = Request::post("/session/create")
        .header("X-OPENTOK-AUTH", "not a jwt")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("archiveMode=manual"))
        .unwrap();
    let (status, close) = connection_header(read).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(close, None);
}
