//! One WebRTC peer connection to the server's media router, with the codecs Otter speaks and the
//! signalling steps it needs: offer (after ICE gathering, no trickle), answer, wait until connected,
//! close. Publishers and subscribers each own one.

use std::sync::atomic::AtomicU32;
use std::sync::Arc;
use std::time::Duration;

use rtc::ice::mdns::MulticastDnsMode;
use rtc::ice::network_type::NetworkType;
use rtc::interceptor::{CongestionControlBuilder, Slot};
use rtc::peer_connection::configuration::interceptor_registry::{
    configure_nack, configure_rtcp_reports, configure_simulcast_extension_headers, configure_twcc,
};
use rtc::peer_connection::configuration::media_engine::{
    MIME_TYPE_H264, MIME_TYPE_OPUS, MIME_TYPE_RTX, MIME_TYPE_VP8,
};
use rtc::rtp_transceiver::rtp_sender::{
    RTCPFeedback, RTCRtpCodec, RTCRtpCodecParameters, RtpCodecKind,
};
use tokio::sync::{mpsc, watch};
use webrtc::media_stream::track_remote::TrackRemote;
use webrtc::peer_connection::{
    MediaEngine, PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler,
    RTCIceCandidateInit, RTCIceGatheringState, RTCPeerConnectionState, RTCSessionDescription,
    Registry, SettingEngineBuilder,
};

use super::estimator::Estimator;
use super::feedback_tap::{self, FeedbackTap};
use super::ice;
use super::pacer::{self, VideoPacer};
use super::retransmission_budget::{self, RetransmissionBudget};
use crate::options::{IceConfig, IceServer};

/// How long ICE and DTLS may take before publishing (1553) or subscribing (1554) fails. DTLS resends a
/// lost flight after a second, seven times at most, and a handshake is three flights with the cookie
/// exchange: at 5 % loss and a 100 ms round trip, one publish in ten of the network bench took longer
/// than the 10 s this was. Under the server's own deadline for a peer to connect (20 s).
pub(crate) const MEDIA_TIMEOUT: Duration = Duration::from_secs(15);

/// Payload types, the same on every Otter peer and in the server's router.
pub(crate) const PT_VP8: u8 = 96;
/// H.264 constrained baseline, packetization mode 1.
pub(crate) const PT_H264: u8 = 102;
/// Opus.
pub(crate) const PT_OPUS: u8 = 111;
/// Retransmissions (RFC 4588) of VP8 and of H.264. Without an RTX stream in the offer, str0m never
/// NACKs a publisher's losses (it suppresses NACK for a stream with no repair SSRC), so lost video
/// packets were simply gone: measured, 0 retransmissions reached the SFU at 5 % uplink loss.
pub(crate) const PT_VP8_RTX: u8 = 97;
pub(crate) const PT_H264_RTX: u8 = 103;
/// The `fmtp` of our H.264.
pub(crate) const H264_FMTP: &str =
    "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f";

/// Why a peer connection step failed.
pub(crate) type PeerError = String;

fn media_engine() -> Result<MediaEngine, PeerError> {
    let feedback = |t: &str, p: &str| RTCPFeedback {
        typ: t.into(),
        parameter: p.into(),
    };
    let video_feedback = vec![
        feedback("nack", ""),
        feedback("nack", "pli"),
        feedback("ccm", "fir"),
    ];
    let codec = |mime: &str, clock_rate, channels, fmtp: &str, rtcp_feedback, payload_type| {
        RTCRtpCodecParameters {
            rtp_codec: RTCRtpCodec {
                mime_type: mime.into(),
                clock_rate,
                channels,
                sdp_fmtp_line: fmtp.into(),
                rtcp_feedback,
            },
            payload_type,
        }
    };
    let mut engine = MediaEngine::default();
    let codecs = [
        (
            codec(MIME_TYPE_VP8, 90_000, 0, "", video_feedback.clone(), PT_VP8),
            RtpCodecKind::Video,
        ),
        (
            codec(
                MIME_TYPE_H264,
                90_000,
                0,
                H264_FMTP,
                video_feedback,
                PT_H264,
            ),
            RtpCodecKind::Video,
        ),
        (
            codec(
                MIME_TYPE_RTX,
                90_000,
                0,
                &format!("apt={PT_VP8}"),
                vec![],
                PT_VP8_RTX,
            ),
            RtpCodecKind::Video,
        ),
        (
            codec(
                MIME_TYPE_RTX,
                90_000,
                0,
                &format!("apt={PT_H264}"),
                vec![],
                PT_H264_RTX,
            ),
            RtpCodecKind::Video,
        ),
        (
            codec(
                MIME_TYPE_OPUS,
                48_000,
                2,
                "minptime=10;useinbandfec=1",
                vec![],
                PT_OPUS,
            ),
            RtpCodecKind::Audio,
        ),
    ];
    for (c, kind) in codecs {
        engine.register_codec(c, kind).map_err(|e| e.to_string())?;
    }
    Ok(engine)
}

/// State the handler reports, read by the owner.
struct Events {
    gathered: watch::Sender<bool>,
    state: watch::Sender<RTCPeerConnectionState>,
    tracks: mpsc::UnboundedSender<Arc<dyn TrackRemote>>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Events {
    // These run on the connection's driver task: they only hand values over.
    async fn on_ice_gathering_state_change(&self, s: RTCIceGatheringState) {
        if s == RTCIceGatheringState::Complete {
            self.gathered.send_replace(true);
        }
    }

    async fn on_connection_state_change(&self, s: RTCPeerConnectionState) {
        self.state.send_replace(s);
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        let _ = self.tracks.send(track);
    }
}

/// A peer connection and what its handler reports.
/// Peer connections created and not yet closed, in this process.
static OPEN: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// How many WebRTC peer connections this process holds open (each publisher and subscriber has one
/// until it is unpublished, unsubscribed or dropped). For leak checks and diagnostics.
pub fn open_peer_connections() -> usize {
    OPEN.load(std::sync::atomic::Ordering::Relaxed)
}

pub(crate) struct Peer {
    pub pc: Arc<dyn PeerConnection>,
    /// Set by the first `close()`, so the count of open connections drops once.
    closed: std::sync::atomic::AtomicBool,
    gathered: watch::Receiver<bool>,
    pub state: watch::Receiver<RTCPeerConnectionState>,
    /// Gathers TCP candidates only.
    tcp_only: bool,
    /// Leave LAN host candidates out of the offer (`IceConfig::filter_out_lan_candidates`).
    filter_out_lan_candidates: bool,
    /// Remote tracks as their first packet arrives (subscribers).
    pub tracks: mpsc::UnboundedReceiver<Arc<dyn TrackRemote>>,
    /// What the congestion controller says this connection may send, bits per second (0 = no estimate
    /// yet).
    pub send_estimate: Arc<AtomicU32>,
}

/// Where the congestion controller starts, before any feedback: a modest rate that every link worth a
/// video call carries, so the first seconds do not flood a thin uplink. GCC ramps up from here.
pub(crate) const INITIAL_ESTIMATE_BPS: f64 = 500_000.0;
/// Its floor: audio plus a thumbnail of video still fit.
const MIN_ESTIMATE_BPS: f64 = 40_000.0;
/// Its ceiling: more than any layer we send.
const MAX_ESTIMATE_BPS: f64 = 10_000_000.0;

/// The interceptors: NACK, RTCP reports, transport-wide sequence numbers and feedback, the congestion
/// controller over that feedback (GCC with a queue guard, `estimator.rs`), retransmissions kept to a
/// share of its estimate (`retransmission_budget.rs`), video paced at 2.5× it (`pacer.rs`: webrtc-rs's
/// own pacer sends at 1× and holds audio behind video), and Otter's application tap (keyframe requests
/// and the send estimate, `feedback_tap.rs`). The encoder follows the estimate on average; the pacer
/// only smooths its bursts.
fn interceptors(engine: &mut MediaEngine, estimate: Arc<AtomicU32>) -> Result<Registry, PeerError> {
    let registry = configure_nack(Registry::new(), engine);
    configure_simulcast_extension_headers(engine).map_err(|e| e.to_string())?;
    let registry = configure_twcc(registry, engine).map_err(|e| e.to_string())?;
    let estimator = Estimator::new(INITIAL_ESTIMATE_BPS, MIN_ESTIMATE_BPS, MAX_ESTIMATE_BPS);
    Ok(configure_rtcp_reports(registry)
        .with(
            Slot::CongestionControl,
            CongestionControlBuilder::new(estimator).build(),
        )
        .with(Slot::from(pacer::SLOT), VideoPacer::new(estimate.clone()))
        .with(
            Slot::from(retransmission_budget::SLOT),
            RetransmissionBudget::new(estimate.clone()),
        )
        .with(Slot::from(feedback_tap::SLOT), FeedbackTap::new(estimate)))
}

/// The `candidate:…` values of the passive TCP candidates in an SDP.
fn passive_tcp_candidates(sdp: &str) -> Vec<String> {
    sdp.lines()
        .filter_map(|l| l.trim().strip_prefix("a="))
        .filter(|c| c.starts_with("candidate:"))
        .filter(|c| {
            let fields: Vec<&str> = c.split_whitespace().collect();
            fields.get(2).is_some_and(|p| p.eq_ignore_ascii_case("tcp"))
                && fields.windows(2).any(|w| w == ["tcptype", "passive"])
        })
        .map(str::to_owned)
        .collect()
}

/// Local addresses ICE gathers on: every interface, and loopback explicitly (webrtc-rs skips loopback
/// when expanding the wildcard, and a server on this machine is reached through it).
fn bind_addresses() -> Vec<String> {
    vec!["0.0.0.0:0".to_owned(), "127.0.0.1:0".to_owned()]
}

impl Peer {
    /// A new peer connection with Otter's codecs and interceptors (see `interceptors`), finding its
    /// way as `ice` says, through `advertised` (the session server's STUN/TURN servers) too unless
    /// `ice` says otherwise.
    pub async fn new(ice: &IceConfig, advertised: &[IceServer]) -> Result<Self, PeerError> {
        let configuration = ice::configuration(ice, advertised)?;
        let mut engine = media_engine()?;
        let send_estimate = Arc::new(AtomicU32::new(0));
        let registry = interceptors(&mut engine, send_estimate.clone())?;
        // No multicast DNS: candidates are plain addresses, and no socket on 5353 per connection.
        let mut settings = SettingEngineBuilder::new()
            .with_multicast_dns_mode(MulticastDnsMode::Disabled)
            // Checks every 25 ms instead of 200: a pair is found in a few round trips, not a few
            // hundred milliseconds (time to first frame). 56 attempts keep the 1.4 s budget.
            .with_ice_connection_attempts(Some(Duration::from_millis(25)), Some(56));
        if ice.tcp_only {
            settings = settings.with_network_types(vec![NetworkType::Tcp4]);
        }
        let settings = settings.build();
        let (gathered_tx, gathered) = watch::channel(false);
        let (state_tx, state) = watch::channel(RTCPeerConnectionState::New);
        let (tracks_tx, tracks) = mpsc::unbounded_channel();
        let events = Events {
            gathered: gathered_tx,
            state: state_tx,
            tracks: tracks_tx,
        };
        let pc = PeerConnectionBuilder::new()
            .with_configuration(configuration)
            .with_media_engine(engine)
            .with_interceptor_registry(registry)
            .with_setting_engine(settings)
            .with_handler(Arc::new(events))
            .with_udp_addrs(if ice.tcp_only {
                Vec::new()
            } else {
                bind_addresses()
            })
            // TCP always: a network that blocks UDP still reaches a server with an ICE-TCP port,
            // while UDP pairs (preferred by ICE's priorities) carry media wherever they work.
            .with_tcp_addrs(bind_addresses())
            .build()
            .await
            .map_err(|e| e.to_string())?;
        OPEN.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(Self {
            closed: Default::default(),
            tcp_only: ice.tcp_only,
            filter_out_lan_candidates: ice.filter_out_lan_candidates,
            pc: Arc::new(pc),
            gathered,
            state,
            tracks,
            send_estimate,
        })
    }

    /// Creates the offer and returns it once every candidate is gathered (no trickle: one round trip).
    pub async fn offer(&mut self, timeout: Duration) -> Result<String, PeerError> {
        let offer = self
            .pc
            .create_offer(None)
            .await
            .map_err(|e| e.to_string())?;
        self.pc
            .set_local_description(offer)
            .await
            .map_err(|e| e.to_string())?;
        tokio::time::timeout(timeout, self.gathered.wait_for(|g| *g))
            .await
            .map_err(|_| "ICE gathering did not finish".to_owned())?
            .map_err(|_| "the peer connection went away".to_owned())?;
        let local = self
            .pc
            .local_description()
            .await
            .ok_or("no local description")?;
        Ok(if self.filter_out_lan_candidates {
            ice::without_lan_candidates(&local.sdp)
        } else {
            local.sdp
        })
    }

    /// Applies the server's answer.
    pub async fn accept_answer(&self, sdp: String) -> Result<(), PeerError> {
        let passive_tcp = passive_tcp_candidates(&sdp);
        if self.tcp_only && passive_tcp.is_empty() {
            // No pair can form; fail now rather than at the media timeout.
            return Err(
                "the server offers no ICE-TCP candidate and this client uses TCP only".into(),
            );
        }
        let answer = RTCSessionDescription::answer(sdp).map_err(|e| e.to_string())?;
        self.pc
            .set_remote_description(answer)
            .await
            .map_err(|e| e.to_string())?;
        // webrtc-rs 0.21 dials a remote passive TCP candidate only when it is added explicitly; in the
        // SDP alone it is never tried.
        for candidate in passive_tcp {
            let init = RTCIceCandidateInit {
                candidate,
                sdp_mid: Some("0".into()),
                sdp_mline_index: Some(0),
                ..Default::default()
            };
            self.pc
                .add_ice_candidate(init)
                .await
                .map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    /// Waits until connected; an error when the connection fails or `timeout` passes.
    pub async fn connected(&mut self, timeout: Duration) -> Result<(), PeerError> {
        let reached = tokio::time::timeout(
            timeout,
            self.state.wait_for(|s| {
                matches!(
                    s,
                    RTCPeerConnectionState::Connected
                        | RTCPeerConnectionState::Failed
                        | RTCPeerConnectionState::Closed
                )
            }),
        )
        .await
        .map_err(|_| "the media connection was not established in time".to_owned())?
        .map(|s| *s)
        .map_err(|_| "the peer connection went away".to_owned())?;
        match reached {
            RTCPeerConnectionState::Connected => Ok(()),
            other => Err(format!("the media connection {other}")),
        }
    }

    /// Closes the connection (which also frees it: webrtc-rs keeps a connection alive until closed).
    pub async fn close(&self) {
        if !self.closed.swap(true, std::sync::atomic::Ordering::Relaxed) {
            OPEN.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
        }
        let _ = self.pc.close().await;
    }
}
