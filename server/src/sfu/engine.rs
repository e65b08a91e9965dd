//! The media task: the driver of the sans-IO [`Router`]. One loop owns the sockets and waits for the
//! next command, datagram, TCP frame or str0m timer, whichever comes first, hands it to the router
//! with the time, then sends what the router queued and reports what ended.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use str0m::net::Protocol;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

use super::command::Command;
use super::event::Events;
use super::router::Router;
use super::tcp::TcpEvent;
use super::transport::Transport;

/// Upper bound on how long the loop sleeps with no timer due, so dead peers are swept regularly.
const MAX_IDLE: Duration = Duration::from_millis(500);

/// Largest datagram we read; str0m's MTU is far below, anything longer is truncated garbage.
const RECV_BUF: usize = 2048;

/// Where the loop reads from and writes to.
pub(crate) struct Io {
    pub(crate) udp: Arc<UdpSocket>,
    /// The UDP address advertised in candidates; str0m matches received packets against it.
    pub(crate) udp_local: SocketAddr,
    pub(crate) commands: mpsc::Receiver<Command>,
    /// ICE-TCP events and the TCP address advertised, when TCP is on.
    pub(crate) tcp: Option<(mpsc::Receiver<TcpEvent>, SocketAddr)>,
    pub(crate) transport: Transport,
    pub(crate) events: Events,
}

/// Run until shutdown or until every handle is dropped.
pub(crate) async fn run(mut router: Router, mut io: Io) {
    let mut buf = vec![0u8; RECV_BUF];
    loop {
        let now = Instant::now();
        let deadline = router.next_timeout(now, MAX_IDLE);
        tokio::select! {
            command = io.commands.recv() => match command {
                Some(Command::Shutdown { reply }) => {
                    close(&mut router, &mut io);
                    let _ = reply.send(());
                    break;
                }
                Some(command) => apply(&mut router, command, Instant::now()),
                None => {
                    close(&mut router, &mut io);
                    break;
                }
            },
            received = io.udp.recv_from(&mut buf) => match received {
                Ok((n, source)) => {
                    router.handle_receive(Protocol::Udp, source, io.udp_local, &buf[..n], Instant::now());
                }
                // E.g. ICMP errors surfacing on some platforms; the socket itself stays usable.
                Err(e) => tracing::debug!(error = %e, "UDP receive failed"),
            },
            Some(event) = next_tcp(&mut io.tcp) => on_tcp(&mut router, event, &mut io),
            _ = tokio::time::sleep_until(deadline.into()) => router.handle_timeouts(Instant::now()),
        }
        // Under steady traffic the timer branch may lose the race repeatedly; do not let timers starve.
        let now = Instant::now();
        if router.next_timeout(now, MAX_IDLE) <= now {
            router.handle_timeouts(now);
        }
        flush(&mut router, &io);
    }
    tracing::info!("SFU media task stopped");
}

/// Send what the router queued and report what ended.
fn flush(router: &mut Router, io: &Io) {
    while let Some(transmit) = router.poll_transmit() {
        io.transport.send(&transmit);
    }
    while let Some(event) = router.poll_event() {
        io.events.send(event);
    }
}

/// Close every peer; shutting down, nobody is told.
fn close(router: &mut Router, io: &mut Io) {
    router.close_all();
    flush(router, io);
    io.transport.tcp.clear();
}

/// One request from the handle, answered on its reply channel.
fn apply(router: &mut Router, command: Command, now: Instant) {
    match command {
        Command::Publish {
            stream_id,
            offer,
            reply,
        } => {
            let _ = reply.send(router.publish(stream_id, &offer, now));
        }
        Command::Subscribe {
            subscription_id,
            stream_id,
            offer,
            audio,
            video,
            reply,
        } => {
            let result = router.subscribe(subscription_id, &stream_id, &offer, (audio, video), now);
            let _ = reply.send(result);
        }
        Command::SetForwarding {
            subscription_id,
            audio,
            video,
            reply,
        } => {
            let _ = reply.send(router.set_forwarding(&subscription_id, (audio, video), now));
        }
        Command::SetPreferredSize {
            subscription_id,
            size,
            reply,
        } => {
            let _ = reply.send(router.set_preferred_size(&subscription_id, size, now));
        }
        Command::Unsubscribe {
            subscription_id,
            reply,
        } => {
            router.unsubscribe(&subscription_id);
            let _ = reply.send(());
        }
        Command::Unpublish { stream_id, reply } => {
            router.unpublish(&stream_id);
            let _ = reply.send(());
        }
        Command::Shutdown { reply } => {
            router.close_all();
            let _ = reply.send(());
        }
    }
}

async fn next_tcp(tcp: &mut Option<(mpsc::Receiver<TcpEvent>, SocketAddr)>) -> Option<TcpEvent> {
    match tcp {
        Some((rx, _)) => rx.recv().await,
        None => std::future::pending().await,
    }
}

fn on_tcp(router: &mut Router, event: TcpEvent, io: &mut Io) {
    let Some((_, local)) = &io.tcp else {
        return;
    };
    match event {
        TcpEvent::Opened { remote, outbound } => {
            io.transport.tcp.insert(remote, outbound);
        }
        TcpEvent::Frame { remote, data } => {
            router.handle_receive(Protocol::Tcp, remote, *local, &data, Instant::now());
        }
        TcpEvent::Closed { remote } => {
            io.transport.tcp.remove(&remote);
            router.forget_route(Protocol::Tcp, remote);
        }
    }
}
