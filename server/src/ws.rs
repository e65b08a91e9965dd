//! One task per client socket: the handshake (token check, join or resume), heartbeats, the signal rate
//! limit, and shuttling frames between the socket and the session actor.

use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response;
use futures_util::{SinkExt, StreamExt};
use otter_protocol::messages::close_code;
use otter_protocol::roster;
use otter_protocol::{
    ClientMessage, ConnectionId, DecodeError, Envelope, ErrorCode, OtError, Request, ServerMessage,
    SessionId, MAX_FRAME_BYTES, PROTOCOL_VERSION,
};
use tokio::sync::mpsc;
use tokio::time::{interval, Instant, MissedTickBehavior};
use tracing::{debug, Instrument};

use crate::hub::{Command, Epoch, OUTBOX_CAPACITY};
use crate::ice_servers;
use crate::rate_limit::TokenBucket;
use crate::state::AppState;
use crate::tokens;

/// `GET /v1/signal`: upgrades to a WebSocket with small buffers (idle connections must stay cheap) and
/// the protocol's frame limit.
pub async fn upgrade(ws: WebSocketUpgrade, State(state): State<AppState>) -> Response {
    ws.read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .max_message_size(MAX_FRAME_BYTES)
        .max_frame_size(MAX_FRAME_BYTES)
        .on_upgrade(move |socket| run(socket, state))
}

/// A joined connection's link.
struct SocketLink {
    session_id: SessionId,
    connection_id: ConnectionId,
    epoch: Epoch,
    outbox: mpsc::Receiver<Utf8Bytes>,
}

async fn run(mut socket: WebSocket, state: AppState) {
    let link = match handshake(&mut socket, &state).await {
        Ok(link) => link,
        Err(Refusal { error, close: code }) => {
            state.metrics.error(error.code);
            debug!(code = error.code, message = %error.message, "handshake refused");
            let _ = socket.send(frame(&ServerMessage::Error { error })).await;
            let _ = socket
                .send(Message::Close(Some(CloseFrame {
                    code,
                    reason: Utf8Bytes::from_static(""),
                })))
                .await;
            return;
        }
    };
    let span =
        tracing::info_span!("connection", session = %link.session_id, id = %link.connection_id);
    serve(socket, state, link).instrument(span).await;
}

fn frame(message: &ServerMessage) -> Message {
    Message::Text(message.encode().into())
}

/// Why a socket is refused or closed: the error sent as its last message, and the close code after it.
struct Refusal {
    error: OtError,
    close: u16,
}

impl Refusal {
    fn new(error: OtError, close: u16) -> Self {
        Self { error, close }
    }
}

/// Reads the first message and joins or resumes.
async fn handshake(socket: &mut WebSocket, state: &AppState) -> Result<SocketLink, Refusal> {
    let protocol = |m: &str| {
        Refusal::new(
            ErrorCode::BadRequest.with_message(m),
            close_code::PROTOCOL_ERROR,
        )
    };
    let first = tokio::time::timeout(state.config.limits.hello_timeout, socket.recv())
        .await
        .map_err(|_| protocol("no connect message in time"))?;
    let text = match first {
        Some(Ok(Message::Text(t))) => t,
        Some(Ok(_)) => return Err(protocol("the first message must be a text frame")),
        Some(Err(_)) | None => return Err(protocol("the socket closed before connecting")),
    };
    let message = ClientMessage::decode(&text).map_err(|e| decode_refusal(&e))?;
    let (tx, rx) = mpsc::channel(OUTBOX_CAPACITY);
    let auth = |e: ErrorCode, m: &str| Refusal::new(e.with_message(m), close_code::POLICY);
    match message {
        ClientMessage::Connect {
            version,
            application_id,
            session_id,
            token,
        } => {
            check_version(version)?;
            if state.config.project(session_id.api_key()).is_none() {
                return Err(auth(
                    ErrorCode::InvalidSessionId,
                    "the session ID is not of a project on this server",
                ));
            }
            if application_id != session_id.api_key() {
                return Err(auth(
                    ErrorCode::AuthenticationError,
                    "the application ID does not match the session",
                ));
            }
            let claims = tokens::verify(
                &token,
                &state.config,
                &session_id,
                crate::clock::unix_secs(),
            )
            .map_err(|e| auth(ErrorCode::AuthenticationError, &e.to_string()))?;
            let joined = state
                .hub
                .ask(&session_id, true, |reply| Command::Join {
                    socketless: false,
                    data: claims.connection_data,
                    role: claims.role,
                    outbox: tx,
                    reply,
                })
                .await
                .ok_or_else(unavailable)?
                .map_err(|e| Refusal::new(e, close_code::POLICY))?;
            let limits = &state.config.limits;
            let connected = roster::frames(joined.connections, joined.streams, |page, more| {
                ServerMessage::Connected {
                    version: PROTOCOL_VERSION,
                    session_id: session_id.clone(),
                    connection: joined.connection.clone(),
                    role: claims.role,
                    connections: page.connections,
                    streams: page.streams,
                    resume_key: joined.resume_key,
                    heartbeat_interval_ms: limits.heartbeat_interval.as_millis() as u64,
                    heartbeat_timeout_ms: limits.heartbeat_timeout.as_millis() as u64,
                    reconnect_window_ms: limits.reconnect_window.as_millis() as u64,
                    ice_servers: ice_servers::advertised(
                        &state.config.ice_servers,
                        &joined.connection.connection_id,
                        crate::clock::unix_secs(),
                    ),
                    more,
                }
            });
            let link = SocketLink {
                session_id,
                connection_id: joined.connection.connection_id,
                epoch: joined.epoch,
                outbox: rx,
            };
            send_or_lose(socket, state, &link, &connected).await?;
            Ok(link)
        }
        ClientMessage::Resume {
            version,
            session_id,
            connection_id,
            resume_key,
        } => {
            check_version(version)?;
            let resumed = state
                .hub
                .ask(&session_id, false, |reply| Command::Resume {
                    connection_id: connection_id.clone(),
                    resume_key,
                    outbox: tx,
                    reply,
                })
                .await
                .unwrap_or_else(|| {
                    Err(ErrorCode::NotConnected.with_message("the session has ended"))
                })
                .map_err(|e| Refusal::new(e, close_code::POLICY))?;
            let link = SocketLink {
                session_id,
                connection_id,
                epoch: resumed.epoch,
                outbox: rx,
            };
            let snapshot = roster::frames(resumed.connections, resumed.streams, |page, more| {
                ServerMessage::Resumed {
                    connections: page.connections,
                    streams: page.streams,
                    ice_servers: ice_servers::advertised(
                        &state.config.ice_servers,
                        &link.connection_id,
                        crate::clock::unix_secs(),
                    ),
                    more,
                }
            });
            send_or_lose(socket, state, &link, &snapshot).await?;
            Ok(link)
        }
        _ => Err(protocol("the first message must be connect or resume")),
    }
}

/// Sends the handshake answer (a snapshot in one or more frames); if the socket is already gone, the
/// actor hears the link is lost.
async fn send_or_lose(
    socket: &mut WebSocket,
    state: &AppState,
    link: &SocketLink,
    messages: &[ServerMessage],
) -> Result<(), Refusal> {
    for message in messages {
        if socket.send(frame(message)).await.is_err() {
            lost(state, link).await;
            return Err(Refusal::new(
                ErrorCode::ConnectFailed.with_message("socket closed"),
                close_code::NORMAL,
            ));
        }
    }
    Ok(())
}

fn unavailable() -> Refusal {
    Refusal::new(
        ErrorCode::ConnectFailed.with_message("the session is unavailable"),
        close_code::GOING_AWAY,
    )
}

fn check_version(version: u32) -> Result<(), Refusal> {
    if version == PROTOCOL_VERSION {
        Ok(())
    } else {
        Err(Refusal::new(
            ErrorCode::InvalidParameter
                .with_message(format!("protocol version {version} is not supported; this server speaks {PROTOCOL_VERSION}")),
            close_code::PROTOCOL_ERROR,
        ))
    }
}

fn decode_refusal(e: &DecodeError) -> Refusal {
    match e {
        DecodeError::TooLarge(_) => Refusal::new(
            ErrorCode::PayloadTooLarge.with_message(e.to_string()),
            close_code::TOO_BIG,
        ),
        DecodeError::Malformed(_) => Refusal::new(
            ErrorCode::BadRequest.with_message(e.to_string()),
            close_code::PROTOCOL_ERROR,
        ),
    }
}

async fn lost(state: &AppState, link: &SocketLink) {
    let command = Command::LinkLost {
        connection_id: link.connection_id.clone(),
        epoch: link.epoch,
    };
    state.hub.send(&link.session_id, command, false).await;
}

/// Why the loop of a joined connection ended.
enum End {
    /// The client said goodbye.
    Left,
    /// The socket failed or went silent.
    Lost,
    /// The actor closed our outbox (force-disconnect, overflow, replaced by a resume).
    ClosedByActor,
    /// The server is shutting down.
    Shutdown,
}

async fn serve(socket: WebSocket, state: AppState, mut link: SocketLink) {
    let limits = state.config.limits.clone();
    let (mut tx, mut rx) = socket.split();
    let mut ping = interval(limits.heartbeat_interval);
    ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut last_heard = Instant::now();
    let mut buckets = Buckets {
        signals: TokenBucket::new(
            limits.signal_burst,
            limits.signals_per_second,
            std::time::Instant::now(),
        ),
        requests: TokenBucket::new(
            limits.request_burst,
            limits.requests_per_second,
            std::time::Instant::now(),
        ),
    };
    let mut shutdown = state.shutdown_signal();
    let send_timeout = limits.heartbeat_timeout;
    let end = loop {
        tokio::select! {
            inbound = rx.next() => {
                let text = match inbound {
                    Some(Ok(Message::Text(t))) => t,
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break End::Lost,
                    Some(Ok(Message::Binary(_))) => {
                        let e = ErrorCode::BadRequest.with_message("binary frames are not part of the protocol");
                        if send(&mut tx, frame(&ServerMessage::Error { error: e }), send_timeout).await.is_err() {
                            break End::Lost;
                        }
                        continue;
                    }
                    Some(Ok(_)) => { last_heard = Instant::now(); continue; }
                };
                last_heard = Instant::now();
                let reply = match ClientMessage::decode(&text) {
                    Ok(ClientMessage::Leave) => break End::Left,
                    Ok(ClientMessage::Ping { ts }) => Some(ServerMessage::Pong { ts }),
                    Ok(ClientMessage::Pong { .. }) => None,
                    Ok(ClientMessage::Connect { .. } | ClientMessage::Resume { .. }) => Some(ServerMessage::Error {
                        error: ErrorCode::BadRequest.with_message("already connected"),
                    }),
                    Ok(ClientMessage::Request(request)) => match admit(&request, &mut buckets) {
                        Ok(()) => {
                            let command = Command::FromClient {
                                connection_id: link.connection_id.clone(),
                                epoch: link.epoch,
                                request,
                            };
                            if !state.hub.send(&link.session_id, command, false).await {
                                break End::ClosedByActor;
                            }
                            None
                        }
                        Err((id, error)) => {
                            state.metrics.error(error.code);
                            Some(ServerMessage::Reply { id, stream: None, sdp_answer: None, error: Some(error) })
                        }
                    },
                    Ok(_) => Some(ServerMessage::Error {
                        error: ErrorCode::BadRequest.with_message("a message this server does not know"),
                    }),
                    Err(e) => {
                        state.metrics.error(ErrorCode::BadRequest.code());
                        Some(ServerMessage::Error { error: decode_refusal(&e).error })
                    }
                };
                if let Some(reply) = reply {
                    if send(&mut tx, frame(&reply), send_timeout).await.is_err() {
                        break End::Lost;
                    }
                }
            }
            outbound = link.outbox.recv() => match outbound {
                Some(text) => {
                    if send(&mut tx, Message::Text(text), send_timeout).await.is_err() {
                        break End::Lost;
                    }
                }
                None => break End::ClosedByActor,
            },
            _ = ping.tick() => {
                if last_heard.elapsed() > limits.heartbeat_timeout {
                    debug!("heartbeat timeout");
                    break End::Lost;
                }
                let ts = crate::clock::unix_secs();
                if send(&mut tx, frame(&ServerMessage::Ping { ts }), send_timeout).await.is_err() {
                    break End::Lost;
                }
            }
            _ = shutting_down(&mut shutdown) => break End::Shutdown,
        }
    };
    // A send can fail because the client has just closed after saying goodbye; its `leave` may still be
    // unread. A clean leave must not be mistaken for a dropped link.
    let end = match end {
        End::Lost if said_goodbye(&mut rx).await => End::Left,
        other => other,
    };
    let (close, reason) = match end {
        End::Left => {
            let command = Command::Leave {
                connection_id: link.connection_id.clone(),
                epoch: link.epoch,
            };
            state.hub.send(&link.session_id, command, false).await;
            (close_code::NORMAL, "left")
        }
        End::Lost => {
            lost(&state, &link).await;
            return;
        }
        End::ClosedByActor => {
            // Deliver what the actor queued before it let go (e.g. a force-disconnect notice).
            while let Ok(text) = link.outbox.try_recv() {
                let _ = send(&mut tx, Message::Text(text), send_timeout).await;
            }
            (close_code::NORMAL, "closed")
        }
        End::Shutdown => {
            let bye = ServerMessage::Disconnected {
                reason: otter_protocol::DisconnectReason::NetworkDisconnected,
            };
            let _ = send(&mut tx, frame(&bye), send_timeout).await;
            (close_code::GOING_AWAY, "server shutting down")
        }
    };
    debug!(reason, "closing");
    let _ = send(
        &mut tx,
        Message::Close(Some(CloseFrame {
            code: close,
            reason: Utf8Bytes::from_static(reason),
        })),
        send_timeout,
    )
    .await;
}

/// Reads what is already buffered from a closing socket, looking for a `leave`.
async fn said_goodbye<S>(rx: &mut S) -> bool
where
    S: futures_util::Stream<Item = Result<Message, axum::Error>> + Unpin,
{
    const UNREAD_FRAMES: usize = 16;
    for _ in 0..UNREAD_FRAMES {
        match tokio::time::timeout(Duration::from_millis(50), rx.next()).await {
            Ok(Some(Ok(Message::Text(t))))
                if matches!(ClientMessage::decode(&t), Ok(ClientMessage::Leave)) =>
            {
                return true
            }
            Ok(Some(Ok(_))) => continue,
            _ => return false,
        }
    }
    false
}

async fn send<S>(tx: &mut S, message: Message, timeout: Duration) -> Result<(), ()>
where
    S: futures_util::Sink<Message> + Unpin,
{
    match tokio::time::timeout(timeout, tx.send(message)).await {
        Ok(Ok(())) => Ok(()),
        _ => Err(()),
    }
}

/// A connection's rate limits: one for every request, a tighter one for signals (each is broadcast).
struct Buckets {
    signals: TokenBucket,
    requests: TokenBucket,
}

/// Checks what the socket task can check alone: sizes and the connection's rate limits.
fn admit(envelope: &Envelope, buckets: &mut Buckets) -> Result<(), (u64, OtError)> {
    let id = envelope.id;
    let now = std::time::Instant::now();
    let slow_down = |what: &str| {
        (
            id,
            ErrorCode::RateLimited.with_message(format!("too many {what}; slow down")),
        )
    };
    if let Request::Signal {
        signal_type, data, ..
    } = &envelope.request
    {
        otter_protocol::signal::validate(signal_type, data).map_err(|e| (id, e))?;
        if !buckets.signals.try_take(now) {
            return Err(slow_down("signals"));
        }
    }
    if !buckets.requests.try_take(now) {
        return Err(slow_down("requests"));
    }
    Ok(())
}

/// Resolves once shutdown begins (the watch guard is dropped inside, so the future stays `Send`).
async fn shutting_down(rx: &mut tokio::sync::watch::Receiver<bool>) {
    let _ = rx.wait_for(|down| *down).await.map(|_| ());
}
