//! Simulcast end to end: a VP8 publisher sends three layers (640x480, 320x240, 160x120) through the
//! real SFU, and each subscriber decodes the layer its view size asks for, changing as the view does.

mod common;

use std::time::{Duration, Instant};

use common::*;
use otter_protocol::Role;
use otter_rtc::{
    AudioSourceChoice, Publisher, PublisherProperties, SessionEvent, Subscriber,
    SubscriberProperties, VideoSourceChoice,
};

/// Waits until `sub` decodes frames of `size`, or fails after 10 s.
async fn wait_size(sub: &Subscriber, size: (u32, u32), what: &str) {
    let start = Instant::now();
    loop {
        let stats = sub.stats();
        if (stats.width, stats.height) == size && stats.frames_decoded > 0 {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{what}: still {}x{} ({stats:?})",
            stats.width,
            stats.height
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A 640x480@15 test pattern published (three layers) and a viewer in the same session.
async fn vga_publisher(server: &TestServer) -> (Client, Publisher, Client) {
    let sid = server.new_session_id();
    let publisher_client = server.client(&sid, Role::Publisher, "pub").await;
    let viewer = server.client(&sid, Role::Subscriber, "viewer").await;
    let props = PublisherProperties {
        video_source: VideoSourceChoice::TestPattern,
        audio_source: AudioSourceChoice::Tone(440.0),
        resolution: (640, 480),
        frame_rate: 15,
        ..Default::default()
    };
    let publisher = publisher_client
        .session
        .publish(props)
        .await
        .expect("publishes");
    (publisher_client, publisher, viewer)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_subscriber_decodes_the_layer_its_view_asks_for() {
    let server = TestServer::start().await;
    let (_publisher_client, publisher, mut viewer) = vga_publisher(&server).await;
    let stream = viewer
        .wait("stream_created", |e| match e {
            SessionEvent::StreamCreated(s) => Some(s.stream.clone()),
            _ => None,
        })
        .await;
    let big = viewer
        .session
        .subscribe(&stream, SubscriberProperties::default())
        .await
        .expect("subscribes");
    let small_view = SubscriberProperties {
        preferred_resolution: Some((160, 120)),
        ..Default::default()
    };
    let small = viewer
        .session
        .subscribe(&stream, small_view)
        .await
        .expect("subscribes");
    wait_size(&big, (640, 480), "no preference: the full layer").await;
    wait_size(&small, (160, 120), "a 160x120 view: the quarter layer").await;

    // Views resized: the layers follow.
    small.set_preferred_resolution(None);
    big.set_preferred_resolution(Some((320, 240)));
    wait_size(&small, (640, 480), "preference lifted: the full layer").await;
    wait_size(&big, (320, 240), "a 320x240 view: the half layer").await;

    // A switch costs no freeze: the half layer keeps coming at the publisher's pace.
    let before = big.stats().frames_decoded;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let got = big.stats().frames_decoded - before;
    assert!(got >= 24, "{got} frames in 2 s of 15 fps");
    publisher.unpublish().await;
}

/// Waits until the publisher encodes exactly `layers` (bit per layer), or fails after 10 s.
async fn wait_layers_sent(publisher: &Publisher, layers: u8, what: &str) {
    let start = Instant::now();
    loop {
        let stats = publisher.stats();
        if stats.layers_sent == layers {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{what}: layers sent {:#05b}, wanted {layers:#05b}",
            stats.layers_sent
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn layers_nobody_receives_are_paused_at_the_publisher() {
    let server = TestServer::start().await;
    let (_publisher_client, publisher, mut viewer) = vga_publisher(&server).await;
    // Nobody watches: only the quarter layer goes (it keeps the stream alive and starts viewers fast).
    wait_layers_sent(&publisher, 0b100, "no subscriber").await;

    let stream = viewer
        .wait("stream_created", |e| match e {
            SessionEvent::StreamCreated(s) => Some(s.stream.clone()),
            _ => None,
        })
        .await;
    let small_view = SubscriberProperties {
        preferred_resolution: Some((320, 240)),
        ..Default::default()
    };
    let sub = viewer
        .session
        .subscribe(&stream, small_view)
        .await
        .expect("subscribes");
    wait_layers_sent(&publisher, 0b110, "a 320x240 view").await;
    wait_size(&sub, (320, 240), "the half layer, resumed on a keyframe").await;

    sub.set_preferred_resolution(None);
    wait_layers_sent(&publisher, 0b101, "a full-size view").await;
    wait_size(&sub, (640, 480), "the full layer, resumed on a keyframe").await;

    sub.unsubscribe().await;
    wait_layers_sent(&publisher, 0b100, "the viewer left").await;
    publisher.unpublish().await;
}
