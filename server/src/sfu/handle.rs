//! [`Sfu`]: the handle the rest of the server uses; starting the media task lives here too.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use str0m::net::TcpType;
use str0m::Candidate;
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::command::Command;
use super::engine::{self, Io};
use super::event::{Events, SfuEvent};
use super::router::Router;
use super::stats::Counters;
use super::transport::Transport;
use super::{crypto, SfuConfig, SfuError, SfuStats};

/// Commands queued towards the media task before callers wait.
const COMMAND_QUEUE: usize = 256;
/// ICE-TCP frames queued towards the media task before TCP readers wait.
const TCP_EVENT_QUEUE: usize = 1024;

/// Handle to the SFU's media task, which owns the socket(s) and every str0m `Rtc`. Clones share the
/// task; when the last clone is dropped (or on [`Sfu::shutdown`]) the task closes all peers and ends.
#[derive(Clone)]
pub struct Sfu {
    inner: Arc<Inner>,
}

struct Inner {
    commands: mpsc::Sender<Command>,
    counters: Arc<Counters>,
    udp_addr: SocketAddr,
    tcp_addr: Option<SocketAddr>,
    task: Mutex<Option<JoinHandle<()>>>,
    /// Handed out once, to whoever turns media endings into session news (the hub).
    events: Mutex<Option<mpsc::Receiver<SfuEvent>>>,
}

impl std::fmt::Debug for Sfu {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sfu")
            .field("udp_addr", &self.inner.udp_addr)
            .field("tcp_addr", &self.inner.tcp_addr)
            .finish()
    }
}

/// Receive and send buffer asked for on the media socket.
const SOCKET_BUFFER_BYTES: usize = 4 << 20;

impl Sfu {
    /// Bind the socket(s) and start the media task.
    pub async fn start(config: SfuConfig) -> anyhow::Result<Sfu> {
        let udp = UdpSocket::bind(config.udp_addr)
            .await
            .with_context(|| format!("binding SFU UDP {}", config.udp_addr))?;
        // One socket carries every peer: while the media loop sends a frame to hundreds of subscribers,
        // their feedback queues up here. The default (~200 KB, ~90 datagrams) overflows at a few hundred
        // subscribers (measured by `otter bench fanout`); the kernel caps this at net.core.rmem_max.
        let socket = socket2::SockRef::from(&udp);
        let _ = socket.set_recv_buffer_size(SOCKET_BUFFER_BYTES);
        let _ = socket.set_send_buffer_size(SOCKET_BUFFER_BYTES);
        let udp_addr = udp.local_addr()?;
        let public_ip = config.public_ip.unwrap_or(udp_addr.ip());
        anyhow::ensure!(
            !public_ip.is_unspecified(),
            "the SFU binds {udp_addr}: set public_ip to the address clients should reach"
        );
        let udp_public = SocketAddr::new(public_ip, udp_addr.port());
        let mut candidates = vec![Candidate::host(udp_public, "udp")?];

        let (tcp_events_tx, tcp_events) = mpsc::channel(TCP_EVENT_QUEUE);
        let mut tcp = None;
        let mut tcp_addr = None;
        let mut tcp_task = None;
        if let Some(addr) = config.tcp_addr {
            let listener = TcpListener::bind(addr)
                .await
                .with_context(|| format!("binding SFU ICE-TCP {addr}"))?;
            let bound = listener.local_addr()?;
            let tcp_public = SocketAddr::new(public_ip, bound.port());
            candidates.push(
                Candidate::builder()
                    .tcp()
                    .host(tcp_public)
                    .tcptype(TcpType::Passive)
                    .build()?,
            );
            tcp_addr = Some(bound);
            tcp = Some((tcp_events, tcp_public));
            tcp_task = Some(tokio::spawn(super::tcp::listen(listener, tcp_events_tx)));
        }

        let cert = crypto::certificate().context("generating the SFU's DTLS certificate")?;
        let counters = Arc::new(Counters::default());
        let udp = Arc::new(udp);
        let transport = Transport {
            udp: udp.clone(),
            tcp: Default::default(),
        };
        let (events, events_rx) = Events::new();
        let router = Router::new(
            counters.clone(),
            cert,
            candidates,
            (config.connect_deadline, config.media_timeout),
        );
        let (commands, commands_rx) = mpsc::channel(COMMAND_QUEUE);
        let io = Io {
            udp,
            udp_local: udp_public,
            commands: commands_rx,
            tcp,
            transport,
            events,
        };
        let task = tokio::spawn(async move {
            engine::run(router, io).await;
            if let Some(t) = tcp_task {
                t.abort();
            }
        });
        tracing::info!(%udp_addr, ?tcp_addr, "SFU started");
        Ok(Sfu {
            inner: Arc::new(Inner {
                commands,
                counters,
                udp_addr,
                tcp_addr,
                task: Mutex::new(Some(task)),
                events: Mutex::new(Some(events_rx)),
            }),
        })
    }

    /// The events of media that ended on its own; the first call gets them, later calls None.
    pub fn take_events(&self) -> Option<mpsc::Receiver<SfuEvent>> {
        self.inner.events.lock().ok()?.take()
    }

    /// The bound UDP address (the port every peer connection uses).
    pub fn udp_addr(&self) -> SocketAddr {
        self.inner.udp_addr
    }

    /// The bound ICE-TCP address, when TCP is on.
    pub fn tcp_addr(&self) -> Option<SocketAddr> {
        self.inner.tcp_addr
    }

    /// Accept a publisher's offer (send-only audio and/or video) for `stream_id`; returns the answer.
    pub async fn publish(&self, stream_id: &str, offer_sdp: &str) -> Result<String, SfuError> {
        self.request(|reply| Command::Publish {
            stream_id: stream_id.to_owned(),
            offer: offer_sdp.to_owned(),
            reply,
        })
        .await?
    }

    /// Accept a subscriber's offer (receive-only m-lines) for `stream_id`. `subscription_id` must be
    /// unique server-wide. `audio`/`video` say whether each kind is forwarded from the start.
    pub async fn subscribe(
        &self,
        subscription_id: &str,
        stream_id: &str,
        offer_sdp: &str,
        audio: bool,
        video: bool,
    ) -> Result<String, SfuError> {
        self.request(|reply| Command::Subscribe {
            subscription_id: subscription_id.to_owned(),
            stream_id: stream_id.to_owned(),
            offer: offer_sdp.to_owned(),
            audio,
            video,
            reply,
        })
        .await?
    }

    /// Switch forwarding of each kind to one subscriber. Pausing stops its RTP only; resuming video
    /// asks the publisher for a keyframe and restarts the subscriber on it.
    pub async fn set_forwarding(
        &self,
        subscription_id: &str,
        audio: bool,
        video: bool,
    ) -> Result<(), SfuError> {
        self.request(|reply| Command::SetForwarding {
            subscription_id: subscription_id.to_owned(),
            audio,
            video,
            reply,
        })
        .await?
    }

    /// The size a subscriber's view shows (`None`: no preference): with a simulcast publisher, the
    /// subscriber receives the smallest layer at least that tall its downlink allows.
    pub async fn set_preferred_size(
        &self,
        subscription_id: &str,
        size: Option<(u32, u32)>,
    ) -> Result<(), SfuError> {
        self.request(|reply| Command::SetPreferredSize {
            subscription_id: subscription_id.to_owned(),
            size,
            reply,
        })
        .await?
    }

    /// Close a subscription's peer connection. Unknown ids are ignored.
    pub async fn unsubscribe(&self, subscription_id: &str) {
        let _ = self
            .request(|reply| Command::Unsubscribe {
                subscription_id: subscription_id.to_owned(),
                reply,
            })
            .await;
    }

    /// Close a publisher's peer connection; its subscriptions stay open but receive nothing more.
    pub async fn unpublish(&self, stream_id: &str) {
        let _ = self
            .request(|reply| Command::Unpublish {
                stream_id: stream_id.to_owned(),
                reply,
            })
            .await;
    }

    /// Packet and peer counters (atomics; no round trip to the media task).
    pub fn stats(&self) -> SfuStats {
        self.inner.counters.snapshot()
    }

    /// Close every peer and stop the media task (and the TCP listener). Idempotent.
    pub async fn shutdown(&self) {
        let _ = self.request(|reply| Command::Shutdown { reply }).await;
        let task = self.inner.task.lock().ok().and_then(|mut t| t.take());
        if let Some(task) = task {
            let _ = task.await;
        }
    }

    async fn request<T>(
        &self,
        command: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> Result<T, SfuError> {
        let (reply, answer) = oneshot::channel();
        self.inner
            .commands
            .send(command(reply))
            .await
            .map_err(|_| SfuError::Stopped)?;
        answer.await.map_err(|_| SfuError::Stopped)
    }
}
