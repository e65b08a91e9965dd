//! The SFU's state: every peer connection, which stream each publishes or receives, and the demux
//! table. It is sans-IO, like str0m under it: every method takes `now`, nothing here reads the clock,
//! owns a socket or spawns. What it has to send waits in [`Router::poll_transmit`] and what it has to
//! report in [`Router::poll_event`]; the media task (`engine.rs`) does the I/O, and the tests in
//! `tests/` drive it in simulated time. Packets and timers go through the pump (`pump.rs`), the other
//! half of this type's `impl`.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use str0m::change::SdpOffer;
use str0m::config::DtlsCert;
use str0m::media::{MediaKind, Mid};
use str0m::net::{Protocol, Transmit};
use str0m::Candidate;

use super::event::SfuEvent;
use super::layers::{LayerChoice, LayerInfo, MAX_LAYERS};
use super::peer::{new_rtc, Peer, PeerId, Publisher, Role, Subscriber, TrackIn};
use super::pump::Propagate;
use super::stats::Counters;
use super::track::TrackOut;
use super::SfuError;

/// All peers and the indexes over them. Owned by the media task; never shared.
pub(crate) struct Router {
    pub(crate) peers: HashMap<PeerId, Peer>,
    next_id: u64,
    streams: HashMap<String, PeerId>,
    subscriptions: HashMap<String, PeerId>,
    /// (protocol, remote address) → peer, learnt from a STUN request the peer accepted.
    pub(crate) routes: HashMap<(Protocol, SocketAddr), PeerId>,
    /// Our ICE ufrag → peer: where a STUN request from a new address goes (see `demux.rs`).
    pub(crate) by_ufrag: HashMap<String, PeerId>,
    /// How long a peer may take to connect.
    connect_deadline: Duration,
    /// How long a connected peer may stay silent.
    media_timeout: Duration,
    /// Media that ended on its own, for the hub; `None` once shutting down (nobody is told then).
    events: Option<VecDeque<SfuEvent>>,
    /// Work produced while draining one peer that must be applied to others (forwarding, keyframe
    /// requests); kept outside the peers so no two `Rtc`s are borrowed at once.
    pub(crate) queue: VecDeque<Propagate>,
    /// What str0m emitted, until the driver sends it. Moving a `Transmit` in and out reuses the
    /// deque's buffer: no allocation per packet beyond str0m's own.
    pub(crate) outbox: VecDeque<Transmit>,
    pub(crate) counters: Arc<Counters>,
    cert: DtlsCert,
    candidates: Vec<Candidate>,
    /// Reused list of peer ids for sweeps and timer passes.
    pub(crate) scratch: Vec<PeerId>,
    /// When subscribers' simulcast layers are next reconsidered (`simulcast.rs`).
    pub(crate) next_retarget: Option<Instant>,
}

impl Router {
    /// `timers` are the connect deadline and the media timeout.
    pub(crate) fn new(
        counters: Arc<Counters>,
        cert: DtlsCert,
        candidates: Vec<Candidate>,
        timers: (Duration, Duration),
    ) -> Router {
        Router {
            by_ufrag: HashMap::new(),
            connect_deadline: timers.0,
            media_timeout: timers.1,
            events: Some(VecDeque::new()),
            outbox: VecDeque::new(),
            peers: HashMap::new(),
            next_id: 1,
            streams: HashMap::new(),
            subscriptions: HashMap::new(),
            routes: HashMap::new(),
            queue: VecDeque::new(),
            counters,
            cert,
            candidates,
            scratch: Vec::new(),
            next_retarget: None,
        }
    }

    /// The next datagram or TCP frame to send.
    pub(crate) fn poll_transmit(&mut self) -> Option<Transmit> {
        self.outbox.pop_front()
    }

    /// The next media ending to report.
    pub(crate) fn poll_event(&mut self) -> Option<SfuEvent> {
        self.events.as_mut()?.pop_front()
    }

    pub(crate) fn report(&mut self, event: SfuEvent) {
        if let Some(events) = &mut self.events {
            events.push_back(event);
        }
    }

    /// A connection the address came over is gone (ICE-TCP): forget its route.
    pub(crate) fn forget_route(&mut self, proto: Protocol, remote: std::net::SocketAddr) {
        self.routes.remove(&(proto, remote));
    }

    /// Close the subscription's peer connection. Unknown ids are ignored.
    pub(crate) fn unsubscribe(&mut self, subscription_id: &str) {
        if let Some(id) = self.subscriptions.get(subscription_id).copied() {
            self.remove_peer(id);
        }
    }

    /// Close the stream's publisher peer (its subscribers go with it). Unknown ids are ignored.
    pub(crate) fn unpublish(&mut self, stream_id: &str) {
        if let Some(id) = self.streams.get(stream_id).copied() {
            self.remove_peer(id);
        }
    }

    /// Accept a publisher's offer for `stream_id`; returns the SDP answer.
    pub(crate) fn publish(
        &mut self,
        stream_id: String,
        offer: &str,
        now: Instant,
    ) -> Result<String, SfuError> {
        if self.streams.contains_key(&stream_id) {
            return Err(SfuError::StreamExists);
        }
        let role = Role::Publisher(Publisher {
            stream_id: stream_id.clone(),
            tracks: Vec::new(),
            subscribers: Vec::new(),
            last_keyframe_request: [None; MAX_LAYERS],
            wanted_reported: None,
        });
        let (id, answer) = self.accept(offer, role, now)?;
        let has_tracks =
            matches!(&self.peers[&id].role, Role::Publisher(p) if !p.tracks.is_empty());
        if !has_tracks {
            self.remove_peer(id);
            return Err(SfuError::Unsupported(
                "the offer sends no audio or video".into(),
            ));
        }
        tracing::info!(peer = id.0, stream = %stream_id, "publisher added");
        self.streams.insert(stream_id, id);
        Ok(answer)
    }

    /// Accept a subscriber's offer for `stream_id`; `audio`/`video` say what is forwarded from the start.
    pub(crate) fn subscribe(
        &mut self,
        subscription_id: String,
        stream_id: &str,
        offer: &str,
        (audio, video): (bool, bool),
        now: Instant,
    ) -> Result<String, SfuError> {
        if self.subscriptions.contains_key(&subscription_id) {
            return Err(SfuError::SubscriptionExists);
        }
        let publisher = *self.streams.get(stream_id).ok_or(SfuError::UnknownStream)?;
        let layers = match self.peers.get(&publisher) {
            Some(Peer {
                role: Role::Publisher(p),
                ..
            }) => p.layers().1,
            _ => 1,
        };
        let role = Role::Subscriber(Subscriber {
            subscription_id: subscription_id.clone(),
            publisher: Some(publisher),
            connected: false,
            want_audio: audio,
            want_video: video,
            tracks: Vec::new(),
            layers: LayerChoice::new(layers),
        });
        let (id, answer) = self.accept(offer, role, now)?;
        let has_tracks =
            matches!(&self.peers[&id].role, Role::Subscriber(s) if !s.tracks.is_empty());
        if !has_tracks {
            self.remove_peer(id);
            return Err(SfuError::Unsupported(
                "the offer receives no audio or video".into(),
            ));
        }
        if let Some(Peer {
            role: Role::Publisher(p),
            ..
        }) = self.peers.get_mut(&publisher)
        {
            p.subscribers.push(id);
        }
        tracing::info!(peer = id.0, subscription = %subscription_id, stream = %stream_id, "subscriber added");
        self.subscriptions.insert(subscription_id, id);
        Ok(answer)
    }

    /// Negotiate `offer_text` on a new `Rtc`, record its m-lines, register it and drain it.
    fn accept(
        &mut self,
        offer_text: &str,
        role: Role,
        now: Instant,
    ) -> Result<(PeerId, String), SfuError> {
        let offer =
            SdpOffer::from_sdp_string(offer_text).map_err(|e| SfuError::BadSdp(e.to_string()))?;
        let mut rtc = new_rtc(&self.cert, now);
        for candidate in &self.candidates {
            rtc.add_local_candidate(candidate.clone());
        }
        let answer = rtc
            .sdp_api()
            .accept_offer(offer)
            .map_err(|e| SfuError::BadSdp(e.to_string()))?;
        // The answer carries ICE credentials and the DTLS fingerprint: debug level only.
        let answer = answer.to_sdp_string();
        tracing::debug!(%answer, "SDP answer");
        let mut role = role;
        record_tracks(&rtc, offer_text, &mut role);
        let id = PeerId(self.next_id);
        self.next_id += 1;
        let ufrag = rtc.direct_api().local_ice_credentials().ufrag;
        self.by_ufrag.insert(ufrag.clone(), id);
        self.peers.insert(
            id,
            Peer {
                rtc,
                timeout: now,
                role,
                created: now,
                connected: false,
                last_input: now,
                ufrag,
            },
        );
        self.counters
            .peers
            .store(self.peers.len() as u64, Ordering::Relaxed);
        self.drain(id, now);
        self.process_queue(now);
        Ok((id, answer))
    }

    /// A subscription's peer id and subscriber state.
    pub(crate) fn subscriber_mut(
        &mut self,
        subscription_id: &str,
    ) -> Result<(PeerId, &mut Subscriber), SfuError> {
        let id = *self
            .subscriptions
            .get(subscription_id)
            .ok_or(SfuError::UnknownSubscription)?;
        match self.peers.get_mut(&id) {
            Some(Peer {
                role: Role::Subscriber(sub),
                ..
            }) => Ok((id, sub)),
            _ => Err(SfuError::UnknownSubscription),
        }
    }

    /// Switch forwarding of each kind to one subscriber; resuming video asks for a keyframe.
    pub(crate) fn set_forwarding(
        &mut self,
        subscription_id: &str,
        (audio, video): (bool, bool),
        now: Instant,
    ) -> Result<(), SfuError> {
        let (_, sub) = self.subscriber_mut(subscription_id)?;
        sub.want_audio = audio;
        sub.want_video = video;
        let mut video_resumed = None;
        for track in &mut sub.tracks {
            let on = match track.kind {
                MediaKind::Audio => audio,
                MediaKind::Video => video,
            };
            if track.set_enabled(on) && track.kind == MediaKind::Video {
                video_resumed = Some(track.target());
            }
        }
        if let (Some(layer), true, Some(publisher)) = (video_resumed, sub.connected, sub.publisher)
        {
            self.queue
                .push_back(Propagate::Keyframe { publisher, layer });
            self.process_queue(now);
        }
        Ok(())
    }

    /// Forget a peer and unlink it; a publisher takes its subscribers' peers with it. Dropping the
    /// `Rtc` frees it. Every peer removed is reported to the hub, which ignores what it already knows.
    pub(crate) fn remove_peer(&mut self, id: PeerId) {
        let Some(mut peer) = self.peers.remove(&id) else {
            return;
        };
        self.by_ufrag.remove(&peer.ufrag);
        peer.rtc.disconnect();
        match peer.role {
            Role::Publisher(p) => {
                tracing::info!(peer = id.0, stream = %p.stream_id, "publisher removed");
                if self.streams.get(&p.stream_id) == Some(&id) {
                    self.streams.remove(&p.stream_id);
                }
                self.report(SfuEvent::PublisherGone(p.stream_id));
                for sub in p.subscribers {
                    self.remove_peer(sub);
                }
            }
            Role::Subscriber(s) => {
                tracing::info!(peer = id.0, subscription = %s.subscription_id, "subscriber removed");
                if self.subscriptions.get(&s.subscription_id) == Some(&id) {
                    self.subscriptions.remove(&s.subscription_id);
                }
                if let Some(Peer {
                    role: Role::Publisher(p),
                    ..
                }) = s.publisher.and_then(|p| self.peers.get_mut(&p))
                {
                    p.subscribers.retain(|x| *x != id);
                }
                self.report(SfuEvent::SubscriberGone(s.subscription_id));
            }
        }
        self.routes.retain(|_, peer| *peer != id);
        self.counters
            .peers
            .store(self.peers.len() as u64, Ordering::Relaxed);
    }

    /// Drop peers str0m has given up on (ICE timeout, DTLS failure, fatal errors).
    pub(crate) fn sweep(&mut self, now: Instant) {
        let mut dead = std::mem::take(&mut self.scratch);
        dead.clear();
        let (deadline, silence) = (self.connect_deadline, self.media_timeout);
        let gone = |p: &Peer| {
            !p.rtc.is_alive()
                || (!p.connected && now.saturating_duration_since(p.created) > deadline)
                || (p.connected && now.saturating_duration_since(p.last_input) > silence)
        };
        dead.extend(
            self.peers
                .iter()
                .filter(|(_, p)| gone(p))
                .map(|(id, _)| *id),
        );
        for id in dead.drain(..) {
            tracing::info!(peer = id.0, "peer connection ended");
            self.remove_peer(id);
        }
        self.scratch = dead;
    }

    /// Close every peer (shutdown: nobody is told).
    pub(crate) fn close_all(&mut self) {
        self.events = None;
        let ids: Vec<PeerId> = self.peers.keys().copied().collect();
        for id in ids {
            self.remove_peer(id);
        }
        self.queue.clear();
    }
}

/// Record the negotiated m-lines as the role's tracks. str0m only emits `MediaAdded` once DTLS is up,
/// but the answer (and so the track layout) is needed now, so read the mids from the offer and ask the
/// `Rtc` what each became.
fn record_tracks(rtc: &str0m::Rtc, offer: &str, role: &mut Role) {
    let mids = offer
        .lines()
        .filter_map(|l| l.trim_end().strip_prefix("a=mid:"))
        .map(Mid::from);
    for mid in mids {
        let Some(media) = rtc.media(mid) else {
            continue;
        };
        let (kind, direction) = (media.kind(), media.direction());
        match role {
            Role::Publisher(p) if direction.is_receiving() => {
                // Video m-lines are simulcast layers, best first; beyond the last one they are
                // received and never forwarded.
                let earlier = p.tracks.iter().filter(|t| t.kind == kind).count();
                let layer = match kind {
                    MediaKind::Audio => 0,
                    MediaKind::Video => earlier.min(usize::from(u8::MAX)) as u8,
                };
                p.tracks.push(TrackIn {
                    mid,
                    kind,
                    ssrc: None,
                    highest_seq: None,
                    layer,
                    info: LayerInfo::default(),
                })
            }
            Role::Subscriber(s) if direction.is_sending() => {
                let on = match kind {
                    MediaKind::Audio => s.want_audio,
                    MediaKind::Video => s.want_video,
                };
                s.tracks.push(TrackOut::new(mid, kind, on));
            }
            _ => {}
        }
    }
}
