//! ICE-TCP (RFC 6544, passive host candidates) with RFC 4571 framing: each STUN/DTLS/SRTP packet is
//! preceded by a 16-bit big-endian length.
//!
//! The listener task accepts connections; each connection gets a reader (frames → the media task) and
//! a writer (a bounded queue of frames from the media task). All of them live in one `JoinSet` owned by
//! the listener, so aborting the listener ends every connection.
//!
//! Nobody is authenticated before ICE, so a connection costs little until it proves itself: at most
//! [`MAX_CONNECTIONS`] at once, its first frame must be STUN and come within [`FIRST_FRAME_DEADLINE`]
//! (only then does the media task hear of it), frames are at most [`MAX_FRAME`] bytes, and a connection
//! silent for [`IDLE_TIMEOUT`] is closed.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

/// Frames queued towards one TCP peer before new ones are dropped.
const OUTBOUND_QUEUE: usize = 256;
/// ICE-TCP connections open at once; beyond, new ones are closed.
pub(crate) const MAX_CONNECTIONS: usize = 1024;
/// How long a new connection has to send its first (STUN) frame.
pub(crate) const FIRST_FRAME_DEADLINE: Duration = Duration::from_secs(5);
/// Silence after which a connection is closed (ICE consent checks come every few seconds).
pub(crate) const IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// The largest frame accepted: media packets fit an MTU; DTLS flights are fragmented to one.
pub(crate) const MAX_FRAME: usize = 8 * 1024;

/// What the TCP side tells the media task.
pub(crate) enum TcpEvent {
    /// A connection opened; transmits to `remote` go to `outbound`.
    Opened {
        remote: SocketAddr,
        outbound: mpsc::Sender<Vec<u8>>,
    },
    /// One framed packet from `remote`.
    Frame { remote: SocketAddr, data: Vec<u8> },
    /// The connection closed.
    Closed { remote: SocketAddr },
}

/// Accept connections until aborted.
pub(crate) async fn listen(listener: TcpListener, events: mpsc::Sender<TcpEvent>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, remote)) => {
                    if connections.len() >= MAX_CONNECTIONS {
                        tracing::debug!(%remote, "ICE-TCP connection cap reached; closing");
                        continue;
                    }
                    let _ = stream.set_nodelay(true);
                    connections.spawn(connection(stream, remote, events.clone()));
                }
                Err(e) => {
                    tracing::debug!(error = %e, "ICE-TCP accept failed");
                    // Typically EMFILE; back off instead of spinning.
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            },
            Some(_) = connections.join_next() => {}
        }
    }
}

/// Reads one RFC 4571 frame within `deadline`; None when the peer is silent, gone, or breaks a limit.
async fn read_frame<R: AsyncReadExt + Unpin>(read: &mut R, deadline: Duration) -> Option<Vec<u8>> {
    let frame = async {
        let mut len = [0u8; 2];
        read.read_exact(&mut len).await.ok()?;
        let len = usize::from(u16::from_be_bytes(len));
        if len == 0 || len > MAX_FRAME {
            return None;
        }
        let mut data = vec![0u8; len];
        read.read_exact(&mut data).await.ok()?;
        Some(data)
    };
    tokio::time::timeout(deadline, frame).await.ok().flatten()
}

async fn connection(stream: TcpStream, remote: SocketAddr, events: mpsc::Sender<TcpEvent>) {
    let (mut read, mut write) = stream.into_split();
    // ICE-TCP starts with a STUN binding request (first two bits zero); anything else is not ICE.
    let Some(first) = read_frame(&mut read, FIRST_FRAME_DEADLINE).await else {
        return;
    };
    if first[0] > 1 {
        return;
    }
    let (outbound, mut queue) = mpsc::channel::<Vec<u8>>(OUTBOUND_QUEUE);
    if events
        .send(TcpEvent::Opened { remote, outbound })
        .await
        .is_err()
        || events
            .send(TcpEvent::Frame {
                remote,
                data: first,
            })
            .await
            .is_err()
    {
        return;
    }
    let writer = async move {
        while let Some(frame) = queue.recv().await {
            // A frame longer than 65535 bytes cannot be framed; str0m's MTU keeps them far smaller.
            let Ok(len) = u16::try_from(frame.len()) else {
                continue;
            };
            if write.write_all(&len.to_be_bytes()).await.is_err()
                || write.write_all(&frame).await.is_err()
            {
                break;
            }
        }
    };
    let reader = async {
        while let Some(data) = read_frame(&mut read, IDLE_TIMEOUT).await {
            // Back-pressure: a slow media task slows this connection, not the others.
            if events.send(TcpEvent::Frame { remote, data }).await.is_err() {
                break;
            }
        }
    };
    tokio::select! {
        _ = writer => {}
        _ = reader => {}
    }
    let _ = events.send(TcpEvent::Closed { remote }).await;
}
