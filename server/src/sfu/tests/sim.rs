//! A simulated network around the sans-IO [`Router`]: str0m client peers exchange datagrams with it in
//! memory, and time moves only when the test advances it (the shape of str0m's `tests/common.rs`).
//! ICE, DTLS, SRTP, NACK and every timer are real; only the sockets and the clock are not, so a call of
//! simulated seconds runs in milliseconds and a seeded loss pattern repeats exactly.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use str0m::change::{SdpAnswer, SdpPendingOffer};
use str0m::config::DtlsCert;
use str0m::format::Codec;
use str0m::media::{Direction, KeyframeRequestKind, MediaKind, Mid, Pt};
use str0m::net::{Protocol, Receive};
use str0m::rtp::RtpWrite;
use str0m::{Candidate, Event, Input, Output, Rtc, RtcConfig};

use super::vp8_payload::vp8_test_packet;
use crate::sfu::crypto;
use crate::sfu::router::Router;
use crate::sfu::stats::Counters;
use crate::sfu::{SfuEvent, CONNECT_DEADLINE, MEDIA_TIMEOUT};

/// Where the SFU listens in the simulation.
pub(super) const SFU: SocketAddr = SocketAddr::new(
    std::net::IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1)),
    5000,
);

/// Packets per synthetic video frame.
pub(super) const PACKETS_PER_FRAME: u16 = 3;

/// Longest step of simulated time between two looks at the timers.
const MAX_STEP: Duration = Duration::from_millis(10);

/// The router, its peers and the simulated clock.
pub(super) struct Sim {
    pub now: Instant,
    pub router: Router,
    pub peers: Vec<SimPeer>,
    /// What the router reported, in order.
    pub events: Vec<SfuEvent>,
    pub counters: Arc<Counters>,
    rng: StdRng,
    /// The simulated clients' one DTLS certificate: a key pair per client cost most of the run time
    /// in a debug build (60 clients: 6 s).
    client_cert: DtlsCert,
}

/// One client peer: a str0m `Rtc` and what it saw.
pub(super) struct SimPeer {
    pub rtc: Rtc,
    pub addr: SocketAddr,
    pending: Option<SdpPendingOffer>,
    pub connected: bool,
    video_mid: Option<Mid>,
    /// Every video m-line, in the offer's order: simulcast layers, best first (publishers).
    video_mids: Vec<Mid>,
    /// RTP payloads received (subscribers), in arrival order.
    pub received: Vec<Vec<u8>>,
    /// Sequence number and timestamp of each video packet received, in arrival order.
    pub received_video: Vec<(u64, u32)>,
    /// Keyframe requests received (publishers).
    pub keyframe_requests: u32,
    /// Percent of the SFU's datagrams to this peer that are lost (seeded).
    pub downlink_loss: u32,
    /// Percent of this peer's datagrams to the SFU that are lost (seeded).
    pub uplink_loss: u32,
    /// A silent peer sends nothing and receives nothing, like a laptop whose lid closed.
    pub silent: bool,
    outbox: Vec<Vec<u8>>,
    timeout: Instant,
    seq: u64,
    frame: u32,
    force_keyframe: bool,
    /// Per simulcast layer: the next sequence number, and whether a keyframe was asked for.
    layer_seq: Vec<u64>,
    layer_keyframe: Vec<bool>,
}

impl Sim {
    /// A router with the production timers.
    pub fn new() -> Sim {
        Sim::with_timers(CONNECT_DEADLINE, MEDIA_TIMEOUT)
    }

    /// A router with a given connect deadline and media timeout.
    pub fn with_timers(connect_deadline: Duration, media_timeout: Duration) -> Sim {
        let counters = Arc::new(Counters::default());
        let cert = crypto::certificate().expect("a DTLS certificate");
        let candidates = vec![Candidate::host(SFU, "udp").expect("a host candidate")];
        Sim {
            now: Instant::now(),
            router: Router::new(
                counters.clone(),
                cert,
                candidates,
                (connect_deadline, media_timeout),
            ),
            peers: Vec::new(),
            events: Vec::new(),
            counters,
            rng: StdRng::seed_from_u64(42),
            client_cert: crypto::certificate().expect("a DTLS certificate"),
        }
    }

    /// A new peer whose offer has one m-line per `(kind, direction)`; returns its index and offer.
    pub fn offer(&mut self, lines: &[(MediaKind, Direction)]) -> (usize, String) {
        let n = self.peers.len();
        let ip = [10, 0, (n / 250) as u8 + 1, (n % 250) as u8 + 1];
        let addr = SocketAddr::new(std::net::IpAddr::V4(ip.into()), 40000);
        let mut rtc = RtcConfig::new()
            .set_crypto_provider(crypto::provider())
            .set_dtls_cert(self.client_cert.clone())
            .set_rtp_mode(true)
            .clear_codecs()
            .enable_opus(true, false)
            .enable_vp8(true)
            .build(self.now);
        rtc.add_local_candidate(Candidate::host(addr, "udp").expect("a host candidate"));
        let mut change = rtc.sdp_api();
        let mut video_mids = Vec::new();
        for (kind, dir) in lines {
            let mid = change.add_media(*kind, *dir, None, None, None);
            if *kind == MediaKind::Video {
                video_mids.push(mid);
            }
        }
        let video_mid = video_mids.first().copied();
        let layers = video_mids.len();
        let (offer, pending) = change.apply().expect("an offer");
        self.peers.push(SimPeer {
            rtc,
            addr,
            pending: Some(pending),
            connected: false,
            video_mid,
            video_mids,
            received: Vec::new(),
            received_video: Vec::new(),
            keyframe_requests: 0,
            downlink_loss: 0,
            uplink_loss: 0,
            silent: false,
            outbox: Vec::new(),
            timeout: self.now,
            seq: 1,
            frame: 0,
            force_keyframe: true,
            layer_seq: vec![1; layers],
            layer_keyframe: vec![true; layers],
        });
        (self.peers.len() - 1, offer.to_sdp_string())
    }

    /// Apply the router's answer to peer `i`'s offer.
    pub fn answer(&mut self, i: usize, answer: &str) {
        let now = self.now;
        let peer = &mut self.peers[i];
        let answer = SdpAnswer::from_sdp_string(answer).expect("a valid answer");
        let pending = peer.pending.take().expect("an offer to answer");
        peer.rtc
            .sdp_api()
            .accept_answer(pending, answer)
            .expect("the answer fits the offer");
        peer.drain(now);
    }

    /// Publish audio and video as `stream_id`; returns the publisher's index.
    pub fn publish(&mut self, stream_id: &str) -> usize {
        let (i, offer) = self.offer(&[
            (MediaKind::Audio, Direction::SendOnly),
            (MediaKind::Video, Direction::SendOnly),
        ]);
        let answer = self
            .router
            .publish(stream_id.into(), &offer, self.now)
            .expect("publish");
        self.answer(i, &answer);
        i
    }

    /// Publish audio and `layers` video m-lines (simulcast, best first) as `stream_id`.
    pub fn publish_simulcast(&mut self, stream_id: &str, layers: usize) -> usize {
        let mut lines = vec![(MediaKind::Audio, Direction::SendOnly)];
        lines.extend((0..layers).map(|_| (MediaKind::Video, Direction::SendOnly)));
        let (i, offer) = self.offer(&lines);
        let answer = self
            .router
            .publish(stream_id.into(), &offer, self.now)
            .expect("publish");
        self.answer(i, &answer);
        i
    }

    /// Simulcast publisher `i` writes `frames` frames on every layer at `fps` (layer `l` is
    /// 640x480 halved `l` times).
    pub fn send_simulcast_frames(&mut self, i: usize, frames: u32, fps: u32) {
        for _ in 0..frames {
            let now = self.now;
            self.peers[i].write_simulcast_frame(now);
            self.run(Duration::from_secs(1) / fps);
        }
    }

    /// Subscribe to `stream_id` as `id`, forwarding both kinds; returns the subscriber's index.
    pub fn subscribe(&mut self, id: &str, stream_id: &str) -> usize {
        let (i, offer) = self.offer(&[
            (MediaKind::Audio, Direction::RecvOnly),
            (MediaKind::Video, Direction::RecvOnly),
        ]);
        let answer = self
            .router
            .subscribe(id.into(), stream_id, &offer, (true, true), self.now)
            .expect("subscribe");
        self.answer(i, &answer);
        i
    }

    /// Run until every answered, non-silent peer is connected on both sides (ICE and DTLS); panics
    /// after 5 simulated seconds.
    pub fn connect_all(&mut self) {
        let done = self.run_until(Duration::from_secs(5), |sim| {
            let live = sim
                .peers
                .iter()
                .filter(|p| !p.silent && p.pending.is_none());
            let router_side = sim.router.peers.values().filter(|p| p.connected).count();
            live.clone().all(|p| p.connected) && router_side >= live.count()
        });
        assert!(done, "ICE/DTLS did not complete in 5 simulated seconds");
    }

    /// Advance simulated time by `duration`, delivering everything on the way.
    pub fn run(&mut self, duration: Duration) {
        self.run_until(duration, |_| false);
    }

    /// Advance until `done` holds or `limit` passes; returns whether it held.
    pub fn run_until(&mut self, limit: Duration, mut done: impl FnMut(&Sim) -> bool) -> bool {
        let end = self.now + limit;
        loop {
            self.exchange();
            if done(self) {
                return true;
            }
            if self.now >= end {
                return false;
            }
            let next = self
                .peers
                .iter()
                .filter(|p| !p.silent)
                .map(|p| p.timeout)
                .fold(self.router.next_timeout(self.now, MAX_STEP), Instant::min);
            let soonest = (self.now + Duration::from_millis(1)).min(end);
            self.advance_to(next.clamp(soonest, end));
        }
    }

    /// Publisher `i` writes `frames` video frames at `fps`, time running between them.
    pub fn send_frames(&mut self, i: usize, frames: u32, fps: u32) -> Vec<Vec<u8>> {
        let mut sent = Vec::new();
        for _ in 0..frames {
            let now = self.now;
            sent.extend(self.peers[i].write_frame(now));
            self.run(Duration::from_secs(1) / fps);
        }
        sent
    }

    /// Peer `i` asks for a keyframe, as a decoder would after loss.
    pub fn send_pli(&mut self, i: usize) {
        let now = self.now;
        let peer = &mut self.peers[i];
        let mid = peer.video_mid.expect("a video m-line");
        if let Some(rx) = peer.rtc.direct_api().stream_rx_by_mid(mid, None) {
            rx.request_keyframe(KeyframeRequestKind::Pli);
        }
        peer.drain(now);
    }

    /// A datagram from anywhere, straight to the router.
    pub fn inject(&mut self, from: SocketAddr, data: &[u8]) {
        self.router
            .handle_receive(Protocol::Udp, from, SFU, data, self.now);
        self.exchange();
    }

    fn advance_to(&mut self, now: Instant) {
        self.now = now;
        self.router.handle_timeouts(now);
        for peer in self.peers.iter_mut().filter(|p| !p.silent) {
            if peer.timeout <= now {
                // A peer whose remote went away errors here; it stays unconnected and quiet.
                let _ = peer.rtc.handle_input(Input::Timeout(now));
                peer.drain(now);
            }
        }
    }

    /// Carry datagrams both ways until nobody has anything left to send.
    fn exchange(&mut self) {
        let now = self.now;
        loop {
            let mut moved = false;
            while let Some(t) = self.router.poll_transmit() {
                moved = true;
                let Some(peer) = self.peers.iter_mut().find(|p| p.addr == t.destination) else {
                    continue;
                };
                let lost =
                    peer.downlink_loss > 0 && self.rng.gen_range(0..100) < peer.downlink_loss;
                if !peer.silent && !lost {
                    peer.receive(now, &t.contents);
                }
            }
            for i in 0..self.peers.len() {
                let sent = std::mem::take(&mut self.peers[i].outbox);
                if self.peers[i].silent {
                    continue;
                }
                let (from, loss) = (self.peers[i].addr, self.peers[i].uplink_loss);
                for datagram in sent {
                    moved = true;
                    if loss > 0 && self.rng.gen_range(0..100) < loss {
                        continue;
                    }
                    self.router
                        .handle_receive(Protocol::Udp, from, SFU, &datagram, now);
                }
            }
            while let Some(e) = self.router.poll_event() {
                self.events.push(e);
            }
            if !moved {
                return;
            }
        }
    }
}

impl SimPeer {
    fn receive(&mut self, now: Instant, data: &[u8]) {
        let Ok(contents) = data.try_into() else {
            return;
        };
        let input = Input::Receive(
            now,
            Receive {
                proto: Protocol::Udp,
                source: SFU,
                destination: self.addr,
                contents,
            },
        );
        if self.rtc.accepts(&input) && self.rtc.handle_input(input).is_ok() {
            self.drain(now);
        }
    }

    fn drain(&mut self, now: Instant) {
        while self.rtc.is_alive() {
            match self.rtc.poll_output() {
                Ok(Output::Timeout(t)) => {
                    self.timeout = t;
                    return;
                }
                Ok(Output::Transmit(t)) => self.outbox.push(t.contents.to_vec()),
                Ok(Output::Event(Event::Connected)) => self.connected = true,
                Ok(Output::Event(Event::RtpPacket(p))) => {
                    if Some(p.header.payload_type) == self.vp8_pt() {
                        self.received_video.push((*p.seq_no, p.header.timestamp));
                    }
                    self.received.push(p.payload.to_vec());
                }
                Ok(Output::Event(Event::KeyframeRequest(req))) => {
                    self.keyframe_requests += 1;
                    self.force_keyframe = true;
                    if let Some(l) = self.video_mids.iter().position(|m| *m == req.mid) {
                        self.layer_keyframe[l] = true;
                    }
                }
                Ok(Output::Event(_)) => {}
                Err(_) => break,
            }
        }
        self.timeout = now + Duration::from_secs(3600);
    }

    /// Write one synthetic VP8 frame (a key frame when asked for one, and every 30th); returns the
    /// payloads written, each unique.
    fn write_frame(&mut self, now: Instant) -> Vec<Vec<u8>> {
        let keyframe = std::mem::take(&mut self.force_keyframe) || self.frame.is_multiple_of(30);
        let mid = self.video_mid.expect("a video m-line");
        let pt = self.vp8_pt().expect("VP8 negotiated");
        let mut sent = Vec::new();
        for i in 0..PACKETS_PER_FRAME {
            let payload = vp8_test_packet(self.frame, i, keyframe);
            let write = RtpWrite::new(
                pt,
                self.seq.into(),
                self.frame.wrapping_mul(3000),
                now,
                payload.clone(),
            )
            .marker(i == PACKETS_PER_FRAME - 1)
            .nackable(true);
            self.seq += 1;
            if let Some(tx) = self.rtc.direct_api().stream_tx_by_mid(mid, None) {
                tx.write_rtp(write);
            }
            sent.push(payload);
        }
        self.drain(now);
        self.frame += 1;
        sent
    }

    /// The payload type VP8 was negotiated with.
    fn vp8_pt(&self) -> Option<Pt> {
        self.rtc
            .codec_config()
            .find(|p| p.spec().codec == Codec::Vp8)
            .map(|p| p.pt())
    }

    /// One synthetic frame on every simulcast layer, each layer's keyframes when asked and every 30th.
    fn write_simulcast_frame(&mut self, now: Instant) {
        let pt = self.vp8_pt().expect("VP8 negotiated");
        for layer in 0..self.video_mids.len() {
            let keyframe =
                std::mem::take(&mut self.layer_keyframe[layer]) || self.frame.is_multiple_of(30);
            let size = (640u16 >> layer, 480u16 >> layer);
            for i in 0..PACKETS_PER_FRAME {
                let payload =
                    vp8_layer_packet(layer as u8, self.frame, i, keyframe.then_some(size));
                let seq = self.layer_seq[layer];
                self.layer_seq[layer] += 1;
                // Each layer has its own clock origin, as separate encoders' would.
                let timestamp = self
                    .frame
                    .wrapping_mul(3000)
                    .wrapping_add(layer as u32 * 1_000_000);
                let write = RtpWrite::new(pt, seq.into(), timestamp, now, payload)
                    .marker(i == PACKETS_PER_FRAME - 1)
                    .nackable(true);
                let mid = self.video_mids[layer];
                if let Some(tx) = self.rtc.direct_api().stream_tx_by_mid(mid, None) {
                    tx.write_rtp(write);
                }
            }
        }
        self.drain(now);
        self.frame += 1;
    }
}

/// The layer a packet written by [`SimPeer::write_simulcast_frame`] belongs to, and whether it starts
/// a keyframe.
pub(super) fn simulcast_layer(payload: &[u8]) -> (u8, bool) {
    (
        payload[14],
        payload[0] & 0x10 != 0 && payload[4] & 0x01 == 0,
    )
}

/// A VP8 packet of one layer: descriptor, then on a keyframe's first packet the frame tag, start
/// code and size RFC 6386 puts there; then the layer, frame and index.
fn vp8_layer_packet(layer: u8, frame: u32, index: u16, key_size: Option<(u16, u16)>) -> Vec<u8> {
    let picture_id = (frame & 0x7fff) as u16 | 0x8000;
    let mut payload = vec![if index == 0 { 0x90 } else { 0x80 }, 0x80];
    payload.extend_from_slice(&picture_id.to_be_bytes());
    let (w, h) = key_size.unwrap_or((0, 0));
    payload.push(if key_size.is_some() { 0x00 } else { 0x01 });
    payload.extend_from_slice(&[0, 0, 0x9d, 0x01, 0x2a]);
    payload.extend_from_slice(&w.to_le_bytes());
    payload.extend_from_slice(&h.to_le_bytes());
    payload.push(layer);
    payload.extend_from_slice(&frame.to_be_bytes());
    payload.extend_from_slice(&index.to_be_bytes());
    payload.extend((0..200u16).map(|b| (b as u8) ^ (frame as u8)));
    payload
}

/// How many of `sent` arrived in `received` (each payload is unique).
pub(super) fn delivered(sent: &[Vec<u8>], received: &[Vec<u8>]) -> usize {
    let got: std::collections::HashSet<&[u8]> = received.iter().map(Vec::as_slice).collect();
    sent.iter().filter(|s| got.contains(s.as_slice())).count()
}
