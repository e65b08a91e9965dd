//! The media task: one loop that owns the sockets' receive side and the [`Router`], and waits for the
//! next command, datagram, TCP frame or str0m timer, whichever comes first.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use str0m::net::Protocol;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

use super::command::Command;
use super::router::Router;
use super::tcp::TcpEvent;

/// Upper bound on how long the loop sleeps with no timer due, so dead peers are swept regularly.
const MAX_IDLE: Duration = Duration::from_millis(500);

/// Largest datagram we read; str0m's MTU is far below, anything longer is truncated garbage.
const RECV_BUF: usize = 2048;

/// Where the loop reads from.
pub(crate) struct Inputs {
    pub(crate) udp: Arc<UdpSocket>,
    /// The UDP address advertised in candidates; str0m matches received packets against it.
    pub(crate) udp_local: SocketAddr,
    pub(crate) commands: mpsc::Receiver<Command>,
    /// ICE-TCP events and the TCP address advertised, when TCP is on.
    pub(crate) tcp: Option<(mpsc::Receiver<TcpEvent>, SocketAddr)>,
}

/// Run until shutdown or until every handle is dropped.
pub(crate) async fn run(mut router: Router, mut inputs: Inputs) {
    let mut buf = vec![0u8; RECV_BUF];
    loop {
        let now = Instant::now();
        let deadline = router.next_timeout(now, MAX_IDLE);
        tokio::select! {
            command = inputs.commands.recv() => match command {
                Some(Command::Shutdown { reply }) => {
                    router.close_all();
                    let _ = reply.send(());
                    break;
                }
                Some(command) => router.command(command),
                None => {
                    router.close_all();
                    break;
                }
            },
            received = inputs.udp.recv_from(&mut buf) => match received {
                Ok((n, source)) => {
                    router.handle_receive(Protocol::Udp, source, inputs.udp_local, &buf[..n], Instant::now());
                }
                // E.g. ICMP errors surfacing on some platforms; the socket itself stays usable.
                Err(e) => tracing::debug!(error = %e, "UDP receive failed"),
            },
            Some(event) = next_tcp(&mut inputs.tcp) => on_tcp(&mut router, event, &inputs),
            _ = tokio::time::sleep_until(deadline.into()) => router.handle_timeouts(Instant::now()),
        }
        // Under steady traffic the timer branch may lose the race repeatedly; do not let timers starve.
        let now = Instant::now();
        if router.next_timeout(now, MAX_IDLE) <= now {
            router.handle_timeouts(now);
        }
    }
    tracing::info!("SFU media task stopped");
}

async fn next_tcp(tcp: &mut Option<(mpsc::Receiver<TcpEvent>, SocketAddr)>) -> Option<TcpEvent> {
    match tcp {
        Some((rx, _)) => rx.recv().await,
        None => std::future::pending().await,
    }
}

fn on_tcp(router: &mut Router, event: TcpEvent, inputs: &Inputs) {
    let Some((_, local)) = &inputs.tcp else {
        return;
    };
    match event {
        TcpEvent::Opened { remote, outbound } => {
            router.transport.tcp.insert(remote, outbound);
        }
        TcpEvent::Frame { remote, data } => {
            router.handle_receive(Protocol::Tcp, remote, *local, &data, Instant::now());
        }
        TcpEvent::Closed { remote } => {
            router.transport.tcp.remove(&remote);
            router.routes.remove(&(Protocol::Tcp, remote));
        }
    }
}
