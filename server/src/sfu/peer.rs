//! One peer connection: a str0m `Rtc` plus what the SFU knows about it (publisher or subscriber).

use std::time::{Duration, Instant};

use str0m::config::DtlsCert;
use str0m::media::{MediaKind, Mid};
use str0m::rtp::Ssrc;
use str0m::{Rtc, RtcConfig};

use super::crypto;
use super::layers::{LayerChoice, LayerInfo, MAX_LAYERS};
use super::track::TrackOut;

/// The router's key for a peer; never reused within one SFU.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct PeerId(pub(crate) u64);

/// A peer connection and its role.
pub(crate) struct Peer {
    pub(crate) rtc: Rtc,
    /// When str0m next wants `Input::Timeout`; refreshed by every drain.
    pub(crate) timeout: Instant,
    pub(crate) role: Role,
    /// When the offer arrived: a peer not connected by the deadline is removed.
    pub(crate) created: Instant,
    /// ICE and DTLS completed (str0m's `Connected`).
    pub(crate) connected: bool,
    /// When anything last arrived from the peer.
    pub(crate) last_input: Instant,
    /// Our ICE ufrag: the key of [`super::router::Router::by_ufrag`].
    pub(crate) ufrag: String,
}

/// What the peer does.
pub(crate) enum Role {
    Publisher(Publisher),
    Subscriber(Subscriber),
}

/// A publisher: its incoming tracks and who receives them.
pub(crate) struct Publisher {
    pub(crate) stream_id: String,
    pub(crate) tracks: Vec<TrackIn>,
    pub(crate) subscribers: Vec<PeerId>,
    /// Throttles keyframe requests, per layer: many subscribers asking at once should cost the
    /// encoder one.
    pub(crate) last_keyframe_request: [Option<Instant>; MAX_LAYERS],
    /// The wanted-layers mask last reported for it (simulcast), and when.
    pub(crate) wanted_reported: Option<(u8, Instant)>,
}

/// One of a publisher's incoming m-lines.
pub(crate) struct TrackIn {
    pub(crate) mid: Mid,
    pub(crate) kind: MediaKind,
    /// Learnt from the first packet, so later packets find their track without asking str0m.
    pub(crate) ssrc: Option<Ssrc>,
    /// The highest sequence number received, to count packets that come after it.
    pub(crate) highest_seq: Option<u64>,
    /// The simulcast layer (video m-lines in the offer's order: 0 = full size); audio is 0.
    pub(crate) layer: u8,
    /// Its size and when it last arrived (video).
    pub(crate) info: LayerInfo,
}

/// A subscriber: the publisher it receives and its outgoing tracks.
pub(crate) struct Subscriber {
    pub(crate) subscription_id: String,
    /// `None` once the publisher is gone.
    pub(crate) publisher: Option<PeerId>,
    /// Set on str0m's `Connected` (DTLS done); nothing is written before.
    pub(crate) connected: bool,
    pub(crate) want_audio: bool,
    pub(crate) want_video: bool,
    pub(crate) tracks: Vec<TrackOut>,
    /// Which of the publisher's video layers suits this subscriber.
    pub(crate) layers: LayerChoice,
}

/// A fresh server-side `Rtc`: ICE-lite (we only have host candidates, the client does the checks),
/// RTP mode (forward packets, never depacketize), and exactly the codecs our clients offer.
pub(crate) fn new_rtc(cert: &DtlsCert, now: Instant) -> Rtc {
    RtcConfig::new()
        .set_crypto_provider(crypto::provider())
        // One certificate for all peers: generating a key pair per peer would cost milliseconds on the
        // media task; WebRTC only pins the fingerprint, which the SDP carries.
        .set_dtls_cert(cert.clone())
        .set_ice_lite(true)
        .set_rtp_mode(true)
        .clear_codecs()
        .enable_opus(true, false)
        .enable_vp8(true)
        .enable_h264(true)
        // Video NACKs are answered from this per-stream buffer (about 1-2 s of 1 Mbit/s video).
        .set_send_buffer_video(1000)
        // Receiver reports' loss, once a second, steers each subscriber's simulcast layer.
        .set_stats_interval(Some(Duration::from_secs(1)))
        .build(now)
}

impl Subscriber {
    /// The outgoing track of `kind` (the first, if a subscriber offered several).
    pub(crate) fn track_mut(&mut self, kind: MediaKind) -> Option<&mut TrackOut> {
        self.tracks.iter_mut().find(|t| t.kind == kind)
    }
}

impl Publisher {
    /// The mid of video layer `layer`.
    pub(crate) fn video_mid(&self, layer: u8) -> Option<Mid> {
        self.tracks
            .iter()
            .find(|t| t.kind == MediaKind::Video && t.layer == layer)
            .map(|t| t.mid)
    }

    /// What is known of each video layer (as many as the offer had, up to [`MAX_LAYERS`]).
    pub(crate) fn layers(&self) -> ([LayerInfo; MAX_LAYERS], usize) {
        let mut layers = [LayerInfo::default(); MAX_LAYERS];
        let mut n = 0;
        for t in self.tracks.iter().filter(|t| t.kind == MediaKind::Video) {
            if let Some(slot) = layers.get_mut(usize::from(t.layer)) {
                *slot = t.info;
                n = n.max(usize::from(t.layer) + 1);
            }
        }
        (layers, n)
    }
}
