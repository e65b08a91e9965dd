//! ICE-TCP (RFC 6544, passive host candidates) with RFC 4571 framing: each STUN/DTLS/SRTP packet is
//! preceded by a 16-bit big-endian length.
//!
//! The listener task accepts connections; each connection gets a reader (frames → the media task) and
//! a writer (a bounded queue of frames from the media task). All of them live in one `JoinSet` owned by
//! the listener, so aborting the listener ends every connection.

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

/// Frames queued towards one TCP peer before new ones are dropped.
const OUTBOUND_QUEUE: usize = 256;

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

async fn connection(stream: TcpStream, remote: SocketAddr, events: mpsc::Sender<TcpEvent>) {
    let (mut read, mut write) = stream.into_split();
    let (outbound, mut queue) = mpsc::channel::<Vec<u8>>(OUTBOUND_QUEUE);
    if events
        .send(TcpEvent::Opened { remote, outbound })
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
        let mut len = [0u8; 2];
        loop {
            if read.read_exact(&mut len).await.is_err() {
                break;
            }
            let mut data = vec![0u8; usize::from(u16::from_be_bytes(len))];
            if read.read_exact(&mut data).await.is_err() {
                break;
            }
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
