//! Test peers for the SFU: str0m `Rtc`s in RTP mode on their own loopback UDP (or TCP) sockets, driven
//! by hand from the test task. A publisher writes synthetic VP8 RTP; subscribers record what arrives.

#![allow(dead_code)]

#[path = "../src/sfu/tests/vp8_payload.rs"]
mod vp8_payload;

use std::collections::HashMap;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use otter_server::sfu::{crypto, Sfu};
use str0m::change::{SdpAnswer, SdpPendingOffer};
use str0m::media::{Direction, KeyframeRequestKind, MediaKind, Mid};
use str0m::net::{Protocol, Receive};
use str0m::rtp::RtpWrite;
use str0m::{Candidate, Event, Input, Output, Rtc, RtcConfig};
use vp8_payload::vp8_test_packet;

/// Packets per synthetic video frame.
pub const PACKETS_PER_FRAME: u16 = 3;

/// One client peer.
pub struct Client {
    /// The client's str0m peer.
    pub rtc: Rtc,
    socket: UdpSocket,
    local: SocketAddr,
    pending: Option<SdpPendingOffer>,
    /// Set on str0m's `Connected` (ICE and DTLS done).
    pub connected: bool,
    /// The client's video m-line.
    pub video_mid: Option<Mid>,
    /// Received RTP payloads (subscribers), in arrival order.
    pub received: Vec<Vec<u8>>,
    /// Keyframe requests seen (publishers).
    pub keyframe_requests: u32,
    timeout: Instant,
    // Publisher state.
    seq: u64,
    frame: u32,
    force_keyframe: bool,
    /// The last datagrams this client sent (STUN, DTLS, SRTP), for replay and mutation tests.
    pub sent: std::collections::VecDeque<Vec<u8>>,
}

/// Datagrams kept in [`Client::sent`].
const KEEP_SENT: usize = 256;

fn client_rtc() -> Rtc {
    RtcConfig::new()
        .set_crypto_provider(crypto::provider())
        .set_rtp_mode(true)
        .clear_codecs()
        .enable_opus(true, false)
        .enable_vp8(true)
        .enable_h264(true)
        .build(Instant::now())
}

impl Client {
    /// A client whose offer has one m-line per `(kind, direction)`.
    pub fn offer(lines: &[(MediaKind, Direction)]) -> (Client, String) {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket.set_nonblocking(true).unwrap();
        let local = socket.local_addr().unwrap();
        let mut rtc = client_rtc();
        rtc.add_local_candidate(Candidate::host(local, "udp").unwrap());
        let mut change = rtc.sdp_api();
        let mut video_mid = None;
        for (kind, dir) in lines {
            let mid = change.add_media(*kind, *dir, None, None, None);
            if *kind == MediaKind::Video {
                video_mid = Some(mid);
            }
        }
        let (offer, pending) = change.apply().unwrap();
        let client = Client {
            rtc,
            socket,
            local,
            pending: Some(pending),
            connected: false,
            video_mid,
            received: Vec::new(),
            keyframe_requests: 0,
            timeout: Instant::now(),
            seq: 1,
            frame: 0,
            force_keyframe: true,
            sent: Default::default(),
        };
        (client, offer.to_sdp_string())
    }

    /// Apply the SFU's answer to the pending offer.
    pub fn accept_answer(&mut self, answer: &str) {
        let answer = SdpAnswer::from_sdp_string(answer).unwrap();
        let pending = self.pending.take().unwrap();
        self.rtc.sdp_api().accept_answer(pending, answer).unwrap();
        self.drain();
    }

    /// Read what has arrived, fire due timers, drain.
    pub fn step(&mut self) {
        let mut buf = [0u8; 2048];
        while let Ok((n, source)) = self.socket.recv_from(&mut buf) {
            let Ok(contents) = buf[..n].try_into() else {
                continue;
            };
            let input = Input::Receive(
                Instant::now(),
                Receive {
                    proto: Protocol::Udp,
                    source,
                    destination: self.local,
                    contents,
                },
            );
            if self.rtc.accepts(&input) {
                self.rtc.handle_input(input).unwrap();
                self.drain();
            }
        }
        let now = Instant::now();
        if now >= self.timeout {
            self.rtc.handle_input(Input::Timeout(now)).unwrap();
            self.drain();
        }
    }

    fn drain(&mut self) {
        loop {
            match self.rtc.poll_output().unwrap() {
                Output::Timeout(t) => {
                    self.timeout = t;
                    return;
                }
                Output::Transmit(t) => {
                    let _ = self.socket.send_to(&t.contents, t.destination);
                    if self.sent.len() == KEEP_SENT {
                        self.sent.pop_front();
                    }
                    self.sent.push_back(t.contents.to_vec());
                }
                Output::Event(Event::Connected) => self.connected = true,
                Output::Event(Event::RtpPacket(p)) => self.received.push(p.payload.to_vec()),
                Output::Event(Event::KeyframeRequest(_)) => {
                    self.keyframe_requests += 1;
                    self.force_keyframe = true;
                }
                Output::Event(_) => {}
            }
        }
    }

    /// Sends raw bytes from this client's own address (a replay, or garbage from a known peer).
    pub fn send_raw(&self, data: &[u8], to: SocketAddr) {
        let _ = self.socket.send_to(data, to);
    }

    /// Ask the SFU for a keyframe, as a decoder would after loss.
    pub fn send_pli(&mut self) {
        let mid = self.video_mid.unwrap();
        let mut api = self.rtc.direct_api();
        if let Some(rx) = api.stream_rx_by_mid(mid, None) {
            rx.request_keyframe(KeyframeRequestKind::Pli);
        }
        self.drain();
    }

    /// Publisher: write one synthetic VP8 frame; returns the payloads written.
    pub fn send_frame(&mut self) -> Vec<Vec<u8>> {
        let keyframe = std::mem::take(&mut self.force_keyframe) || self.frame.is_multiple_of(30);
        let mid = self.video_mid.unwrap();
        let pt = self
            .rtc
            .codec_config()
            .find(|p| p.spec().codec == str0m::format::Codec::Vp8)
            .unwrap()
            .pt();
        let mut sent = Vec::new();
        for i in 0..PACKETS_PER_FRAME {
            let payload = vp8_test_packet(self.frame, i, keyframe);
            let write = RtpWrite::new(
                pt,
                self.seq.into(),
                self.frame.wrapping_mul(3000),
                Instant::now(),
                payload.clone(),
            )
            .marker(i == PACKETS_PER_FRAME - 1)
            .nackable(true);
            self.seq += 1;
            let mut api = self.rtc.direct_api();
            api.stream_tx_by_mid(mid, None).unwrap().write_rtp(write);
            self.drain();
            sent.push(payload);
        }
        self.frame += 1;
        sent
    }
}

/// Step every client for `dur`, yielding so the SFU task runs.
pub async fn pump(clients: &mut [&mut Client], dur: Duration) {
    let end = Instant::now() + dur;
    while Instant::now() < end {
        for c in clients.iter_mut() {
            c.step();
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// Step until `done` holds or `limit` passes; returns whether it held.
pub async fn pump_until(
    clients: &mut [&mut Client],
    limit: Duration,
    mut done: impl FnMut(&[&mut Client]) -> bool,
) -> bool {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        for c in clients.iter_mut() {
            c.step();
        }
        if done(clients) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    false
}

/// Publish a video+audio stream as `stream_id`.
pub async fn publisher(sfu: &Sfu, stream_id: &str) -> (Client, String) {
    let (mut c, offer) = Client::offer(&[
        (MediaKind::Audio, Direction::SendOnly),
        (MediaKind::Video, Direction::SendOnly),
    ]);
    let answer = sfu.publish(stream_id, &offer).await.unwrap();
    c.accept_answer(&answer);
    (c, answer)
}

/// Subscribe to `stream_id` with both kinds forwarded.
pub async fn subscriber(sfu: &Sfu, id: &str, stream_id: &str) -> (Client, String) {
    let (mut c, offer) = Client::offer(&[
        (MediaKind::Audio, Direction::RecvOnly),
        (MediaKind::Video, Direction::RecvOnly),
    ]);
    let answer = sfu
        .subscribe(id, stream_id, &offer, true, true)
        .await
        .unwrap();
    c.accept_answer(&answer);
    (c, answer)
}

/// How many of `sent` arrived intact in `received`.
pub fn delivered(sent: &[Vec<u8>], received: &[Vec<u8>]) -> usize {
    let mut counts: HashMap<&[u8], usize> = HashMap::new();
    for r in received {
        *counts.entry(r.as_slice()).or_default() += 1;
    }
    sent.iter()
        .filter(|s| counts.get(s.as_slice()).is_some_and(|n| *n > 0))
        .count()
}
