//! Loss on a subscriber's downlink: str0m's send buffer answers its NACKs, so a seeded 5 % loss (the
//! shape of str0m's `tests/nack.rs`) leaves no gap once the call settles.

use std::time::Duration;

use super::sim::{delivered, Sim};

/// Every packet of `sent` is in `received`, or says how many are missing.
fn assert_all_arrived(sent: &[Vec<u8>], received: &[Vec<u8>]) {
    let got = delivered(sent, received);
    assert_eq!(
        got,
        sent.len(),
        "{} of {} packets never arrived",
        sent.len() - got,
        sent.len()
    );
}

#[test]
fn nacks_recover_five_percent_downlink_loss() {
    let mut sim = Sim::new();
    let publ = sim.publish("stream-1");
    let lossy = sim.subscribe("lossy", "stream-1");
    let clean = sim.subscribe("clean", "stream-1");
    sim.connect_all();
    sim.peers[lossy].downlink_loss = 5;
    let sent = sim.send_frames(publ, 300, 30);
    sim.peers[lossy].downlink_loss = 0;
    sim.run(Duration::from_secs(1));

    assert_all_arrived(&sent, &sim.peers[clean].received);
    assert_all_arrived(&sent, &sim.peers[lossy].received);
}

/// Loss on the publisher's uplink: the SFU's NACKs bring the missing packets back from the publisher's
/// send buffer, late; they are counted as such and forwarded, so the subscriber misses nothing.
#[test]
fn nacks_to_the_publisher_recover_five_percent_uplink_loss() {
    let mut sim = Sim::new();
    let publ = sim.publish("stream-1");
    let sub = sim.subscribe("sub", "stream-1");
    sim.connect_all();
    sim.peers[publ].uplink_loss = 5;
    let sent = sim.send_frames(publ, 300, 30);
    sim.peers[publ].uplink_loss = 0;
    sim.run(Duration::from_secs(1));

    let late = sim.counters.snapshot().packets_late;
    assert!(late > 0, "no retransmission reached the SFU");
    assert_all_arrived(&sent, &sim.peers[sub].received);
}
