//! The frame socket: a WebSocket server on loopback that hands each surface's page script the newest
//! frame in one message.
//!
//! Why not only the asset handler: WebKitGTK reads a custom-scheme response in 8 KiB pieces, each a
//! main-loop turn in the app and an IPC message to the page, so a 640x480 I420 frame costs ~57 round
//! trips (measured: a quarter of a core per 30 fps tile just to move bytes). A WebSocket message crosses
//! whole. The server listens on 127.0.0.1 only and every URL carries a per-process random key, so no
//! other local program can watch the video. Flow control is the page's: it asks for the next frame
//! after drawing one, and gets the newest, so a slow page skips frames and nothing queues.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use otter_rtc::media::VideoSink;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::StatusCode;
use tokio_tungstenite::tungstenite::Message;

use super::frames::{next_frame, FrameRequest};
use super::record_drawn;

/// How long the server waits for a frame before telling the page it is still alive (an empty message).
const IDLE: Duration = Duration::from_secs(2);

/// How long a connection may take to complete its WebSocket handshake.
const HANDSHAKE: Duration = Duration::from_secs(5);

/// Connections at once: far more than surfaces on one screen, few enough that a local process
/// opening sockets cannot use up the app's descriptors.
const MAX_CONNECTIONS: usize = 64;

struct Server {
    addr: SocketAddr,
    key: String,
    /// Open connections (pages hold one per surface); beyond the cap new ones are dropped.
    connections: Arc<Semaphore>,
    /// Mounted surfaces by ID; weak, so an unmounted surface's sink is not kept alive.
    sinks: Mutex<HashMap<u64, Weak<VideoSink>>>,
}

static SERVER: OnceLock<Option<Arc<Server>>> = OnceLock::new();

/// The server, started on first use on a thread and runtime of its own (so it outlives whichever
/// runtime first asked for it); None if it could not listen.
fn server() -> Option<Arc<Server>> {
    SERVER
        .get_or_init(|| match start() {
            Ok(server) => Some(server),
            Err(e) => {
                tracing::warn!(error = %e, "no frame socket; surfaces use the asset handler");
                None
            }
        })
        .clone()
}

fn start() -> std::io::Result<Arc<Server>> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    listener.set_nonblocking(true)?;
    let server = Arc::new(Server {
        addr: listener.local_addr()?,
        key: format!("{:032x}", rand::random::<u128>()),
        sinks: Mutex::default(),
        connections: Arc::new(Semaphore::new(MAX_CONNECTIONS)),
    });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let served = server.clone();
    std::thread::Builder::new()
        .name("otter-frame-socket".into())
        .spawn(move || {
            runtime.block_on(async move {
                match TcpListener::from_std(listener) {
                    Ok(listener) => accept(listener, served).await,
                    Err(e) => tracing::warn!(error = %e, "frame socket stopped"),
                }
            })
        })?;
    Ok(server)
}

/// Registers a surface's sink; returns the URL its page script connects to.
pub fn register(id: u64, sink: &Arc<VideoSink>) -> Option<String> {
    let server = server()?;
    lock(&server.sinks).insert(id, Arc::downgrade(sink));
    Some(format!("ws://{}/{id}?key={}", server.addr, server.key))
}

/// Forgets a surface (its connection ends at its next frame).
pub fn unregister(id: u64) {
    if let Some(Some(server)) = SERVER.get() {
        lock(&server.sinks).remove(&id);
    }
}

/// Compares in time that does not depend on where the first difference is.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    subtle::ConstantTimeEq::ct_eq(a, b).into()
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

async fn accept(listener: TcpListener, server: Arc<Server>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            // Out of descriptors, say: wait rather than spin; pages retry.
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let Ok(permit) = server.connections.clone().try_acquire_owned() else {
            continue; // full: dropped
        };
        let _ = stream.set_nodelay(true);
        let server = server.clone();
        tokio::spawn(async move {
            serve(stream, server).await;
            drop(permit);
        });
    }
}

/// One page connection: checks the key, then answers each request message with the newest frame.
async fn serve(stream: TcpStream, server: Arc<Server>) {
    let mut id = None;
    // The error type is tungstenite's (an HTTP response), not ours to shrink.
    #[allow(clippy::result_large_err)]
    let check = |request: &Request, response: Response| -> Result<Response, ErrorResponse> {
        let uri = request.uri();
        let key_ok = uri
            .query()
            .and_then(|q| q.split('&').find_map(|p| p.strip_prefix("key=")))
            .is_some_and(|k| same_secret(k.as_bytes(), server.key.as_bytes()));
        let surface = uri.path().trim_start_matches('/').parse::<u64>().ok();
        match surface {
            Some(s) if key_ok && lock(&server.sinks).contains_key(&s) => {
                id = Some(s);
                Ok(response)
            }
            _ => {
                let mut refused = ErrorResponse::new(None);
                *refused.status_mut() = StatusCode::FORBIDDEN;
                Err(refused)
            }
        }
    };
    let handshake = tokio_tungstenite::accept_hdr_async(stream, check);
    let Ok(Ok(mut socket)) = tokio::time::timeout(HANDSHAKE, handshake).await else {
        return;
    };
    let Some(id) = id else { return };
    while let Some(Ok(message)) = socket.next().await {
        let Message::Text(text) = message else {
            continue;
        };
        let request = FrameRequest::parse(Some(text.as_str()));
        let Some(sink) = lock(&server.sinks).get(&id).and_then(Weak::upgrade) else {
            break;
        };
        record_drawn(id, request.drawn);
        // Empty = nothing new yet; the page asks again.
        let body = next_frame(&sink, request, IDLE).await.unwrap_or_default();
        drop(sink);
        if socket.send(Message::binary(body)).await.is_err() {
            break;
        }
    }
    let _ = socket.close(None).await;
}
