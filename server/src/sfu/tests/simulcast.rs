//! Simulcast in simulated time: each subscriber receives the layer its view size and downlink call
//! for, switched at that layer's keyframe with sequence numbers contiguous and time going forward.

use super::sim::{simulcast_layer, Sim};

/// The layers of the video packets `sub` received from index `from` on.
fn layers_received(sim: &Sim, sub: usize, from: usize) -> Vec<u8> {
    sim.peers[sub].received[from..]
        .iter()
        .filter(|p| p.len() > 14)
        .map(|p| simulcast_layer(p).0)
        .collect()
}

/// Sequence numbers go up by one per packet and timestamps never go back (loss-free link, so in order).
fn assert_continuous(sim: &Sim, sub: usize) {
    let video = &sim.peers[sub].received_video;
    for pair in video.windows(2) {
        let ((s0, t0), (s1, t1)) = (pair[0], pair[1]);
        assert_eq!(s1, s0 + 1, "a gap in the sequence numbers: {pair:?}");
        assert!(
            t1.wrapping_sub(t0) < u32::MAX / 2,
            "time went back: {pair:?}"
        );
    }
}

#[test]
fn each_subscriber_gets_the_layer_its_view_needs() {
    let mut sim = Sim::new();
    let publ = sim.publish_simulcast("stream-1", 3);
    let full = sim.subscribe("full", "stream-1");
    let small = sim.subscribe("small", "stream-1");
    let half = sim.subscribe("half", "stream-1");
    sim.connect_all();
    sim.router
        .set_preferred_size("small", Some((160, 120)), sim.now)
        .unwrap();
    sim.router
        .set_preferred_size("half", Some((300, 200)), sim.now)
        .unwrap();
    sim.send_simulcast_frames(publ, 60, 30);

    let tail = |sub| {
        let all = layers_received(&sim, sub, 0);
        all[all.len() - 30..].to_vec()
    };
    assert!(tail(full).iter().all(|&l| l == 0), "{:?}", tail(full));
    assert!(tail(small).iter().all(|&l| l == 2), "{:?}", tail(small));
    assert!(tail(half).iter().all(|&l| l == 1), "{:?}", tail(half));
    for sub in [full, small, half] {
        assert_continuous(&sim, sub);
    }
}

#[test]
fn a_new_view_size_switches_at_the_new_layers_keyframe_without_a_gap() {
    let mut sim = Sim::new();
    let publ = sim.publish_simulcast("stream-1", 3);
    let sub = sim.subscribe("sub-1", "stream-1");
    sim.connect_all();
    sim.send_simulcast_frames(publ, 20, 30);
    // (It may start on whichever layer's keyframe comes first, then move to the best.)
    assert_eq!(layers_received(&sim, sub, 0).last(), Some(&0));

    let asked = sim.peers[publ].keyframe_requests;
    let before = sim.peers[sub].received.len();
    sim.router
        .set_preferred_size("sub-1", Some((160, 120)), sim.now)
        .unwrap();
    sim.send_simulcast_frames(publ, 20, 30);
    assert!(
        sim.peers[publ].keyframe_requests > asked,
        "no keyframe asked of the new layer"
    );
    let after = &sim.peers[sub].received[before..];
    let first_small = after
        .iter()
        .position(|p| simulcast_layer(p).0 == 2)
        .expect("the small layer arrives");
    assert!(
        simulcast_layer(&after[first_small]).1,
        "the switch is not on a keyframe"
    );
    assert!(after[first_small..]
        .iter()
        .all(|p| simulcast_layer(p).0 == 2));
    assert_continuous(&sim, sub);

    // Back to no preference: the full layer again.
    sim.router
        .set_preferred_size("sub-1", None, sim.now)
        .unwrap();
    let before = sim.peers[sub].received.len();
    sim.send_simulcast_frames(publ, 20, 30);
    assert_eq!(layers_received(&sim, sub, before).last(), Some(&0));
    assert_continuous(&sim, sub);
}

#[test]
fn a_lossy_downlink_steps_its_subscriber_down_while_others_keep_the_full_layer() {
    let mut sim = Sim::new();
    let publ = sim.publish_simulcast("stream-1", 3);
    let clean = sim.subscribe("clean", "stream-1");
    let lossy = sim.subscribe("lossy", "stream-1");
    sim.connect_all();
    sim.send_simulcast_frames(publ, 30, 30);
    sim.peers[lossy].downlink_loss = 40;
    sim.send_simulcast_frames(publ, 150, 30);
    let lossy_now = *layers_received(&sim, lossy, 0).last().unwrap();
    assert!(
        lossy_now >= 1,
        "still on layer {lossy_now} after 5 s of 40 % loss"
    );
    assert_eq!(layers_received(&sim, clean, 0).last(), Some(&0));

    // Clean again: it tries the better layers back.
    sim.peers[lossy].downlink_loss = 0;
    let before = sim.peers[lossy].received.len();
    sim.send_simulcast_frames(publ, 600, 30);
    let recovered = *layers_received(&sim, lossy, before).last().unwrap();
    assert!(
        recovered < lossy_now,
        "still on layer {recovered} after 20 clean seconds"
    );
}
