//! Fan-out: one publisher's packets reach every subscriber, pausing and leaving are per subscriber, and
//! junk on the port disturbs nothing.

use std::time::Duration;

use str0m::media::{Direction, MediaKind};

use super::sim::{delivered, Sim};
use crate::sfu::{SfuError, SfuEvent};

/// A publisher and two connected subscribers of `stream-1`.
fn call() -> (Sim, usize, usize, usize) {
    let mut sim = Sim::new();
    let publ = sim.publish("stream-1");
    let a = sim.subscribe("sub-1", "stream-1");
    let b = sim.subscribe("sub-2", "stream-1");
    sim.connect_all();
    (sim, publ, a, b)
}

#[test]
fn every_packet_reaches_every_subscriber() {
    let (mut sim, publ, a, b) = call();
    let sent = sim.send_frames(publ, 90, 30);
    sim.run(Duration::from_millis(100));
    // No loss in the simulation, so nothing may be missing, and nothing may arrive twice.
    for sub in [a, b] {
        assert_eq!(delivered(&sent, &sim.peers[sub].received), sent.len());
        assert_eq!(sim.peers[sub].received.len(), sent.len());
    }
    let stats = sim.counters.snapshot();
    assert_eq!(stats.packets_forwarded, 2 * sent.len() as u64, "{stats:?}");
}

#[test]
fn pausing_video_stops_one_subscriber_only() {
    let (mut sim, publ, a, b) = call();
    sim.send_frames(publ, 10, 30);
    sim.router
        .set_forwarding("sub-1", (true, false), sim.now)
        .unwrap();
    let (before_a, before_b) = (sim.peers[a].received.len(), sim.peers[b].received.len());
    let sent = sim.send_frames(publ, 30, 30);
    assert_eq!(
        sim.peers[a].received.len(),
        before_a,
        "paused video still arrives"
    );
    assert_eq!(
        delivered(&sent, &sim.peers[b].received[before_b..]),
        sent.len()
    );
    assert!(matches!(
        sim.router.set_forwarding("nope", (true, true), sim.now),
        Err(SfuError::UnknownSubscription)
    ));
}

#[test]
fn unsubscribe_and_unpublish_stop_forwarding_and_are_reported() {
    let (mut sim, publ, a, b) = call();
    sim.send_frames(publ, 10, 30);
    sim.router.unsubscribe("sub-2");
    let (before_a, before_b) = (sim.peers[a].received.len(), sim.peers[b].received.len());
    let sent = sim.send_frames(publ, 30, 30);
    assert_eq!(sim.peers[b].received.len(), before_b);
    assert_eq!(
        delivered(&sent, &sim.peers[a].received[before_a..]),
        sent.len()
    );

    // Unpublishing takes the remaining subscriber with it; both endings are reported, in order.
    sim.router.unpublish("stream-1");
    sim.run(Duration::from_millis(10));
    assert_eq!(sim.counters.snapshot().peers, 0);
    assert_eq!(
        sim.events,
        [
            SfuEvent::SubscriberGone("sub-2".into()),
            SfuEvent::PublisherGone("stream-1".into()),
            SfuEvent::SubscriberGone("sub-1".into()),
        ]
    );
    let (_, offer) = sim.offer(&[(MediaKind::Video, Direction::RecvOnly)]);
    let late = sim
        .router
        .subscribe("sub-3".into(), "stream-1", &offer, (true, true), sim.now);
    assert!(matches!(late, Err(SfuError::UnknownStream)));
}

#[test]
fn junk_and_bad_offers_disturb_nothing() {
    let mut sim = Sim::new();
    for bad in ["v=0 garbage", ""] {
        let refused = sim.router.publish("x".into(), bad, sim.now);
        assert!(matches!(refused, Err(SfuError::BadSdp(_))), "{refused:?}");
    }
    let (_, receive_only) = sim.offer(&[(MediaKind::Video, Direction::RecvOnly)]);
    let refused = sim.router.publish("x".into(), &receive_only, sim.now);
    assert!(
        matches!(refused, Err(SfuError::Unsupported(_))),
        "{refused:?}"
    );
    sim.peers.pop();
    let publ = sim.publish("stream-1");
    let sub = sim.subscribe("sub-1", "stream-1");
    sim.connect_all();

    let stranger = "10.9.9.9:9999".parse().unwrap();
    let shapes: [&[u8]; 7] = [
        &[],
        &[0x00],
        &[0x00, 0x01, 0x00, 0x08, 0x21, 0x12, 0xa4, 0x42, 1, 2, 3], // truncated STUN
        &[0x16, 0xfe, 0xfd, 0, 0, 0, 0],                            // truncated DTLS
        &[0x80, 0x60, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 1, 9, 9],    // RTP from a stranger
        &[0x81, 0xc9, 0x00, 0x01],                                  // RTCP fragment
        &[0xff; 1500],
    ];
    let before = sim.counters.snapshot().datagrams_unrouted;
    let mut sent = Vec::new();
    for _ in 0..30 {
        for shape in shapes {
            sim.inject(stranger, shape);
        }
        // Junk from the publisher's own address reaches its `Rtc`, which must reject it, not fail.
        let own = sim.peers[publ].addr;
        sim.inject(own, &[0x80, 0x00]);
        sent.extend(sim.send_frames(publ, 1, 30));
    }
    assert_eq!(delivered(&sent, &sim.peers[sub].received), sent.len());
    let unrouted = sim.counters.snapshot().datagrams_unrouted - before;
    assert!(unrouted >= 30 * 7, "{unrouted} junk datagrams counted");
}

/// F8: STUN naming ufrags we never issued opens no route, however many idle peers there are.
#[test]
fn a_spray_of_unknown_ufrags_opens_no_route() {
    let mut sim = Sim::new();
    for i in 0..60 {
        let (_, offer) = sim.offer(&[(MediaKind::Video, Direction::SendOnly)]);
        sim.router
            .publish(format!("idle-{i}"), &offer, sim.now)
            .unwrap();
    }
    let mut stun = vec![0x00, 0x01, 0x00, 0x0c, 0x21, 0x12, 0xa4, 0x42];
    stun.extend_from_slice(&[9; 12]);
    stun.extend_from_slice(&[0x00, 0x06, 0x00, 0x08]);
    stun.extend_from_slice(b"nope:who");
    for port in 0..1000 {
        sim.inject(format!("10.8.0.1:{}", 20000 + port).parse().unwrap(), &stun);
    }
    assert!(
        sim.router.routes.is_empty(),
        "{} routes",
        sim.router.routes.len()
    );
    assert_eq!(sim.counters.snapshot().datagrams_unrouted, 1000);
}
