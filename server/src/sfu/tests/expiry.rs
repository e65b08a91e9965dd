//! Peers that never connect, and publishers that go silent, are removed on simulated deadlines, and
//! the hub is told.

use std::time::Duration;

use str0m::media::{Direction, MediaKind};

use super::sim::{delivered, Sim};
use crate::sfu::SfuEvent;

/// str0m itself gives up on an ICE-lite peer that never sends a check after about 15 s (measured
/// here); the deadline is what bounds the others (ICE up, DTLS never finishing), so it is tested
/// below str0m's own limit.
#[test]
fn peers_that_never_connect_expire_at_the_deadline() {
    let mut sim = Sim::with_timers(Duration::from_secs(5), Duration::from_secs(8));
    for i in 0..3 {
        let (_, offer) = sim.offer(&[(MediaKind::Video, Direction::SendOnly)]);
        sim.router
            .publish(format!("silent-{i}"), &offer, sim.now)
            .unwrap();
        sim.peers.last_mut().unwrap().silent = true;
    }
    let good = sim.publish("good");
    sim.connect_all();
    assert_eq!(sim.counters.snapshot().peers, 4);

    // Kept until the deadline, gone right after it (the sweep runs at least every 500 ms); the
    // connected publisher stays.
    sim.run(Duration::from_millis(4800));
    assert_eq!(sim.counters.snapshot().peers, 4);
    sim.send_frames(good, 15, 30); // keeps "good" from the media timeout meanwhile
    assert_eq!(sim.counters.snapshot().peers, 1);
    let gone: Vec<&SfuEvent> = sim.events.iter().collect();
    assert_eq!(gone.len(), 3, "{gone:?}");

    let sub = sim.subscribe("sub", "good");
    sim.connect_all();
    // The keyframe the new subscriber needs is asked for with the next RTCP report.
    sim.run(Duration::from_millis(100));
    let sent = sim.send_frames(good, 30, 30);
    assert_eq!(delivered(&sent, &sim.peers[sub].received), sent.len());
}

#[test]
fn a_silent_publisher_goes_with_its_subscribers_after_the_media_timeout() {
    let mut sim = Sim::with_timers(Duration::from_secs(20), Duration::from_secs(8));
    let publ = sim.publish("stream-1");
    let subs = [
        sim.subscribe("sub-1", "stream-1"),
        sim.subscribe("sub-2", "stream-1"),
    ];
    sim.connect_all();
    sim.send_frames(publ, 30, 30);
    for s in subs {
        assert!(!sim.peers[s].received.is_empty());
    }
    sim.peers[publ].silent = true;
    sim.run(Duration::from_secs(7));
    assert_eq!(
        sim.counters.snapshot().peers,
        3,
        "removed before the timeout"
    );
    sim.run(Duration::from_secs(2));
    assert_eq!(sim.counters.snapshot().peers, 0);
    assert_eq!(sim.events[0], SfuEvent::PublisherGone("stream-1".into()));
    for sub in ["sub-1", "sub-2"] {
        assert!(sim.events.contains(&SfuEvent::SubscriberGone(sub.into())));
    }
}
