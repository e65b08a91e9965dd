//! The packet path: feed input to the right `Rtc`, drain it, and propagate what came out.
//!
//! str0m's contract is "one mutation, then drain `poll_output` to `Timeout`". Draining a publisher
//! yields RTP packets; those are queued as [`Propagate`] items and applied to each subscriber (write,
//! then drain that subscriber) only after the publisher's drain finished, so at most one `Rtc` is
//! borrowed at a time. Subscribers' keyframe requests travel back to the publisher the same way.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use str0m::format::{Codec, PayloadParams};
use str0m::media::{KeyframeRequestKind, MediaKind};
use str0m::net::{Protocol, Receive};
use str0m::rtp::{ExtensionValues, RtpPacket, RtpWrite};
use str0m::{Event, IceConnectionState, Input, Output};

use super::layers::vp8_keyframe_size;
use super::peer::{Peer, PeerId, Role};
use super::router::Router;
use super::stats::Counters;
use super::track::{Admit, Incoming, TrackOut};

/// Minimum spacing of keyframe requests to one publisher.
const KEYFRAME_REQUEST_INTERVAL: Duration = Duration::from_millis(100);

/// Work for other peers, produced while draining one.
// Boxing the packet would cost an allocation per packet; the queue is short-lived and drained at once.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Propagate {
    /// A publisher's packet, to be written to each of its subscribers.
    Rtp {
        from: PeerId,
        kind: MediaKind,
        /// The publisher's simulcast layer it belongs to (audio: 0).
        layer: u8,
        params: PayloadParams,
        packet: RtpPacket,
    },
    /// Ask a publisher for a keyframe of one video layer.
    Keyframe { publisher: PeerId, layer: u8 },
}

impl Router {
    /// A datagram (UDP) or RFC 4571 frame (TCP) from `source`, received on our `local` address.
    pub(crate) fn handle_receive(
        &mut self,
        proto: Protocol,
        source: SocketAddr,
        local: SocketAddr,
        data: &[u8],
        now: Instant,
    ) {
        // Classifies STUN/DTLS/RTP by first byte; anything else is garbage and rejected here.
        let Ok(contents) = data.try_into() else {
            Counters::bump(&self.counters.unrouted);
            return;
        };
        let input = Input::Receive(
            now,
            Receive {
                proto,
                source,
                destination: local,
                contents,
            },
        );
        // A known address, or a STUN request naming one of our ufrags (the only way to open a route):
        // one lookup either way, never a scan over the peers.
        let cached = self.routes.get(&(proto, source)).copied();
        let candidate = cached.or_else(|| {
            super::demux::local_ufrag(data).and_then(|ufrag| self.by_ufrag.get(ufrag).copied())
        });
        let Some(id) =
            candidate.filter(|id| self.peers.get(id).is_some_and(|p| p.rtc.accepts(&input)))
        else {
            Counters::bump(&self.counters.unrouted);
            return;
        };
        if cached.is_none() {
            self.routes.insert((proto, source), id);
        }
        if let Some(peer) = self.peers.get_mut(&id) {
            peer.last_input = now;
            if let Err(e) = peer.rtc.handle_input(input) {
                tracing::debug!(peer = id.0, error = %e, "input rejected");
            }
        }
        self.drain(id, now);
        self.process_queue(now);
    }

    /// Advance every peer whose timer is due.
    pub(crate) fn handle_timeouts(&mut self, now: Instant) {
        let mut due = std::mem::take(&mut self.scratch);
        due.clear();
        due.extend(
            self.peers
                .iter()
                .filter(|(_, p)| p.timeout <= now)
                .map(|(id, _)| *id),
        );
        for id in due.drain(..) {
            if let Some(peer) = self.peers.get_mut(&id) {
                if let Err(e) = peer.rtc.handle_input(Input::Timeout(now)) {
                    tracing::debug!(peer = id.0, error = %e, "timeout handling failed");
                    peer.rtc.disconnect();
                }
            }
            self.drain(id, now);
        }
        self.scratch = due;
        self.process_queue(now);
        self.retarget_all(now);
        self.sweep(now);
    }

    /// The earliest timer over all peers, at most `cap` from now.
    pub(crate) fn next_timeout(&self, now: Instant, cap: Duration) -> Instant {
        self.peers
            .values()
            .map(|p| p.timeout)
            .fold(now + cap, Instant::min)
    }

    /// Poll one peer to `Timeout`, sending its transmits and turning its events into state changes or
    /// queued work.
    pub(crate) fn drain(&mut self, id: PeerId, now: Instant) {
        let Router {
            peers,
            outbox,
            queue,
            counters,
            ..
        } = self;
        let Some(peer) = peers.get_mut(&id) else {
            return;
        };
        loop {
            if !peer.rtc.is_alive() {
                // Swept on the next timer pass.
                peer.timeout = now;
                return;
            }
            match peer.rtc.poll_output() {
                Ok(Output::Timeout(t)) => {
                    peer.timeout = t;
                    return;
                }
                Ok(Output::Transmit(t)) => outbox.push_back(t),
                Ok(Output::Event(event)) => on_event(id, peer, event, queue, counters, now),
                Err(e) => {
                    tracing::warn!(peer = id.0, error = %e, "peer failed; disconnecting");
                    peer.rtc.disconnect();
                }
            }
        }
    }

    /// Apply queued work until none is left (forwarding can queue keyframe requests and vice versa).
    pub(crate) fn process_queue(&mut self, now: Instant) {
        while let Some(item) = self.queue.pop_front() {
            match item {
                Propagate::Rtp {
                    from,
                    kind,
                    layer,
                    params,
                    packet,
                } => self.fan_out(from, (kind, layer), &params, &packet, now),
                Propagate::Keyframe { publisher, layer } => {
                    self.request_keyframe(publisher, layer, now)
                }
            }
        }
    }

    /// Write one publisher packet to each of its subscribers.
    fn fan_out(
        &mut self,
        from: PeerId,
        (kind, layer): (MediaKind, u8),
        params: &PayloadParams,
        packet: &RtpPacket,
        now: Instant,
    ) {
        // Borrow the list out of the publisher (no copy) so subscribers can be mutated meanwhile.
        let subscribers = match self.peers.get_mut(&from) {
            Some(Peer {
                role: Role::Publisher(p),
                ..
            }) => std::mem::take(&mut p.subscribers),
            _ => return,
        };
        // Layers some subscriber waits for a keyframe of, as bits.
        let mut want_keyframe = 0u8;
        for &sub in &subscribers {
            match self.write_to(sub, (kind, layer), params, packet, now) {
                Some(Admit::Forward(..)) => {
                    Counters::bump(&self.counters.forwarded);
                    self.drain(sub, now);
                }
                Some(Admit::NeedKeyframe(wanted)) => {
                    Counters::bump(&self.counters.dropped);
                    want_keyframe |= 1 << wanted.min(7);
                }
                Some(Admit::Drop) | None => Counters::bump(&self.counters.dropped),
            }
        }
        if let Some(Peer {
            role: Role::Publisher(p),
            ..
        }) = self.peers.get_mut(&from)
        {
            // Subscribers added meanwhile (none can be: we hold the task) would be in `p.subscribers`.
            let added = std::mem::replace(&mut p.subscribers, subscribers);
            p.subscribers.extend(added);
        }
        for wanted in (0..8).filter(|l| want_keyframe & (1 << l) != 0) {
            self.request_keyframe(from, wanted, now);
        }
    }

    /// Rewrite and write `packet` to one subscriber. `None` when it cannot take it at all.
    fn write_to(
        &mut self,
        sub: PeerId,
        (kind, layer): (MediaKind, u8),
        params: &PayloadParams,
        packet: &RtpPacket,
        now: Instant,
    ) -> Option<Admit> {
        let Peer { rtc, role, .. } = self.peers.get_mut(&sub)?;
        let Role::Subscriber(s) = role else {
            return None;
        };
        if !s.connected {
            return None;
        }
        let track: &mut TrackOut = s.track_mut(kind)?;
        let incoming = Incoming {
            seq: *packet.seq_no,
            layer,
            timestamp: packet.header.timestamp,
            codec: params.spec().codec,
            payload: &packet.payload,
        };
        let verdict = track.admit(incoming, now);
        let Admit::Forward(seq, timestamp) = verdict else {
            return Some(verdict);
        };
        let mid = track.mid;
        let pt = track.out_pt(params, || {
            let pts = rtc.media(mid)?.remote_pts().to_vec();
            let config = rtc.codec_config();
            config
                .match_params(*params)
                .filter(|p| pts.contains(&p.pt()))
                .or_else(|| {
                    config.find(|p| pts.contains(&p.pt()) && p.spec().codec == params.spec().codec)
                })
                .map(|p| p.pt())
        })?;
        let ext = ExtensionValues {
            audio_level: packet.header.ext_vals.audio_level,
            voice_activity: packet.header.ext_vals.voice_activity,
            video_orientation: packet.header.ext_vals.video_orientation,
            ..Default::default()
        };
        let write = RtpWrite::new(
            pt,
            seq.into(),
            timestamp,
            packet.timestamp,
            packet.payload.clone(),
        )
        .marker(packet.header.marker)
        .ext_vals(ext)
        // Video is NACKable: str0m answers the subscriber's NACKs from its send buffer.
        .nackable(kind == MediaKind::Video);
        let mut api = rtc.direct_api();
        let tx = api.stream_tx_by_mid(mid, None)?;
        tx.write_rtp(write);
        Some(verdict)
    }

    /// Send a PLI to a publisher's video layer, at most once per [`KEYFRAME_REQUEST_INTERVAL`].
    fn request_keyframe(&mut self, publisher: PeerId, layer: u8, now: Instant) {
        let Some(Peer {
            rtc,
            role: Role::Publisher(p),
            ..
        }) = self.peers.get_mut(&publisher)
        else {
            return;
        };
        let Some(mid) = p.video_mid(layer) else {
            return;
        };
        let Some(last) = p.last_keyframe_request.get_mut(usize::from(layer)) else {
            return;
        };
        if last.is_some_and(|t| now.duration_since(t) < KEYFRAME_REQUEST_INTERVAL) {
            return;
        }
        let mut api = rtc.direct_api();
        let Some(rx) = api.stream_rx_by_mid(mid, None) else {
            return; // no video received yet: the first frame will be a keyframe anyway
        };
        rx.request_keyframe(KeyframeRequestKind::Pli);
        *last = Some(now);
        tracing::debug!(peer = publisher.0, layer, "keyframe requested");
        self.drain(publisher, now);
    }
}

/// One event from one peer's drain.
fn on_event(
    id: PeerId,
    peer: &mut Peer,
    event: Event,
    queue: &mut std::collections::VecDeque<Propagate>,
    counters: &Counters,
    now: Instant,
) {
    match (&mut peer.role, event) {
        (Role::Publisher(p), Event::RtpPacket(packet)) => {
            Counters::bump(&counters.received);
            let ssrc = packet.header.ssrc;
            let known = p.tracks.iter().find(|t| t.ssrc == Some(ssrc));
            let kind = match known {
                Some(t) => t.kind,
                None => {
                    // First packet of this SSRC: ask str0m which m-line it belongs to, then remember.
                    let Some(mid) = peer.rtc.direct_api().stream_rx(&ssrc).map(|s| s.mid()) else {
                        Counters::bump(&counters.dropped);
                        return;
                    };
                    let Some(track) = p.tracks.iter_mut().find(|t| t.mid == mid) else {
                        Counters::bump(&counters.dropped);
                        return;
                    };
                    track.ssrc = Some(ssrc);
                    track.kind
                }
            };
            let Some(track) = p.tracks.iter_mut().find(|t| t.ssrc == Some(ssrc)) else {
                return;
            };
            let seq = *packet.seq_no;
            match track.highest_seq {
                Some(highest) if seq < highest => Counters::bump(&counters.late),
                _ => track.highest_seq = Some(seq),
            }
            let pt = packet.header.payload_type;
            let Some(params) = peer.rtc.codec_config().find(|p| p.pt() == pt).copied() else {
                Counters::bump(&counters.dropped);
                return;
            };
            track.info.last_packet = Some(now);
            if kind == MediaKind::Video && params.spec().codec == Codec::Vp8 {
                if let Some(size) = vp8_keyframe_size(&packet.payload) {
                    track.info.size = Some(size);
                }
            }
            queue.push_back(Propagate::Rtp {
                from: id,
                kind,
                layer: track.layer,
                params,
                packet,
            });
        }
        (Role::Publisher(_), Event::Connected) => peer.connected = true,
        (Role::Subscriber(s), Event::Connected) => {
            peer.connected = true;
            s.connected = true;
            tracing::debug!(peer = id.0, "subscriber connected");
            let layer = s.track_mut(MediaKind::Video).map(|t| t.target());
            if let (Some(publisher), true, Some(layer)) = (s.publisher, s.want_video, layer) {
                queue.push_back(Propagate::Keyframe { publisher, layer });
            }
        }
        (Role::Subscriber(s), Event::KeyframeRequest(req)) => {
            let layer = s
                .tracks
                .iter()
                .find(|t| t.mid == req.mid && t.kind == MediaKind::Video)
                .map(|t| t.layer());
            if let (Some(publisher), Some(layer)) = (s.publisher, layer) {
                queue.push_back(Propagate::Keyframe { publisher, layer });
            }
        }
        (Role::Subscriber(s), Event::MediaEgressStats(stats)) => {
            let video = s
                .tracks
                .iter()
                .any(|t| t.mid == stats.mid && t.kind == MediaKind::Video);
            // `loss` is only there when a receiver report came since the last stats: judge fresh
            // reports only (`rtt` is the last one's, however old).
            if let (true, Some(loss)) = (video, stats.loss) {
                s.layers.on_report(now, loss, stats.rtt);
            }
        }
        (_, Event::IceConnectionStateChange(IceConnectionState::Disconnected)) => {
            tracing::info!(peer = id.0, "ICE disconnected");
            peer.rtc.disconnect();
        }
        _ => {}
    }
}
