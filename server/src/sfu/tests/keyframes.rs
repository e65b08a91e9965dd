//! Keyframe requests: a subscriber that starts or resumes video gets one, subscribers' PLIs reach the
//! publisher, and many at once cost the encoder one (the 100 ms throttle).

use std::time::Duration;

use super::sim::{delivered, Sim};

#[test]
fn resuming_video_requests_a_keyframe_and_restarts_on_it() {
    let mut sim = Sim::new();
    let publ = sim.publish("stream-1");
    let sub = sim.subscribe("sub-1", "stream-1");
    sim.connect_all();
    sim.send_frames(publ, 10, 30);
    sim.router
        .set_forwarding("sub-1", (true, false), sim.now)
        .unwrap();
    sim.send_frames(publ, 10, 30);

    let asked = sim.peers[publ].keyframe_requests;
    sim.router
        .set_forwarding("sub-1", (true, true), sim.now)
        .unwrap();
    sim.run(Duration::from_millis(50));
    assert_eq!(sim.peers[publ].keyframe_requests, asked + 1);
    let resumed_at = sim.peers[sub].received.len();
    let sent = sim.send_frames(publ, 10, 30);
    let got = &sim.peers[sub].received[resumed_at..];
    // The first frame after the request is the key frame (P bit clear), and all of it arrives.
    assert_eq!(
        got.first().map(|p| p[4] & 0x01),
        Some(0),
        "restart not on a key frame"
    );
    assert_eq!(delivered(&sent, got), sent.len());
}

#[test]
fn keyframe_requests_are_throttled_to_one_per_100_ms() {
    let mut sim = Sim::new();
    let publ = sim.publish("stream-1");
    let subs: Vec<usize> = (0..20)
        .map(|i| sim.subscribe(&format!("sub-{i}"), "stream-1"))
        .collect();
    sim.connect_all();
    sim.send_frames(publ, 5, 30);
    sim.run(Duration::from_millis(200));

    // Twenty requests spread over 200 ms: at most one per 100 ms reaches the encoder.
    let before = sim.peers[publ].keyframe_requests;
    for &s in &subs {
        sim.send_pli(s);
        sim.run(Duration::from_millis(10));
    }
    sim.run(Duration::from_millis(100));
    let asked = sim.peers[publ].keyframe_requests - before;
    assert!(
        (1..=3).contains(&asked),
        "{asked} keyframe requests for 20 PLIs in 200 ms"
    );
}

#[test]
fn a_late_subscriber_gets_a_keyframe_and_starts_on_it() {
    let mut sim = Sim::new();
    let publ = sim.publish("stream-1");
    sim.connect_all();
    sim.send_frames(publ, 5, 30);
    let asked = sim.peers[publ].keyframe_requests;
    let late = sim.subscribe("late", "stream-1");
    sim.connect_all();
    sim.send_frames(publ, 10, 30);
    assert!(sim.peers[publ].keyframe_requests > asked);
    let first = sim.peers[late].received.first().expect("video arrives");
    assert_eq!(
        first[4] & 0x01,
        0,
        "the first frame forwarded is not a key frame"
    );
}
