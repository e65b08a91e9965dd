//! Sending str0m's `Transmit`s: on the shared UDP socket, or framed on the ICE-TCP connection the
//! destination came in on.
//!
//! Sends never block the media task: a full socket buffer or TCP queue drops the datagram, as the
//! network would (RTP and ICE both cope with loss).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use str0m::net::{Protocol, Transmit};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

/// The media task's outbound side.
pub(crate) struct Transport {
    pub(crate) udp: Arc<UdpSocket>,
    /// Outbound frame queues of open ICE-TCP connections, by remote address.
    pub(crate) tcp: HashMap<SocketAddr, mpsc::Sender<Vec<u8>>>,
}

impl Transport {
    pub(crate) fn send(&self, transmit: &Transmit) {
        match transmit.proto {
            Protocol::Udp => {
                if let Err(e) = self
                    .udp
                    .try_send_to(&transmit.contents, transmit.destination)
                {
                    tracing::trace!(error = %e, dest = %transmit.destination, "UDP send dropped");
                }
            }
            Protocol::Tcp => {
                let Some(conn) = self.tcp.get(&transmit.destination) else {
                    tracing::trace!(dest = %transmit.destination, "no TCP connection for transmit");
                    return;
                };
                // TCP is the fallback path; one copy per frame there is fine.
                if conn.try_send(transmit.contents.to_vec()).is_err() {
                    tracing::trace!(dest = %transmit.destination, "TCP send queue full, dropped");
                }
            }
            other => tracing::trace!(proto = ?other, "unsupported transmit protocol"),
        }
    }
}
