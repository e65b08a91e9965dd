//! Loss on a subscriber's downlink: str0m's send buffer answers its NACKs, so a seeded 5 % loss (the
//! shape of str0m's `tests/nack.rs`) leaves no gap once the call settles.

use std::time::Duration;

use super::sim::{delivered, Sim};

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

    assert_eq!(delivered(&sent, &sim.peers[clean].received), sent.len());
    let got = delivered(&sent, &sim.peers[lossy].received);
    assert_eq!(
        got,
        sent.len(),
        "{} of {} packets never arrived",
        sent.len() - got,
        sent.len()
    );
}
