//! Real media end to end: a publisher's test pattern and tone go through real codecs, real WebRTC
//! (webrtc-rs) and the server's SFU to a subscriber that decodes them and reads the content back.

mod common;

use std::time::{Duration, Instant};

use common::*;
use otter_media::VideoCodec;
use otter_protocol::Role;
use otter_rtc::{
    AudioSourceChoice, ErrorCode, PreferredCodecs, PublisherEvent, PublisherProperties,
    SessionEvent, Subscriber, SubscriberProperties, VideoSourceChoice,
};

fn pattern_props(codec: VideoCodec) -> PublisherProperties {
    PublisherProperties {
        name: "pattern".into(),
        video_source: VideoSourceChoice::TestPattern,
        audio_source: AudioSourceChoice::Tone(440.0),
        resolution: (320, 240),
        frame_rate: 15,
        preferred_video_codecs: PreferredCodecs::List(vec![codec]),
        ..Default::default()
    }
}

/// Waits until `done` holds for the subscriber's stats, or fails after `limit`.
async fn wait_stats(
    sub: &Subscriber,
    what: &str,
    limit: Duration,
    done: impl Fn(&otter_rtc::SubscriberStats) -> bool,
) -> otter_rtc::SubscriberStats {
    let start = Instant::now();
    loop {
        let stats = sub.stats();
        if done(&stats) {
            return stats;
        }
        assert!(
            start.elapsed() < limit,
            "timed out waiting for {what}: {stats:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn pattern_through_the_sfu(codec: VideoCodec) {
    let server = TestServer::start().await;
    let sid = server.new_session_id();
    let publisher_client = server.client(&sid, Role::Publisher, "pub").await;
    let mut viewer = server.client(&sid, Role::Publisher, "sub").await;
    let publisher = publisher_client
        .session
        .publish(pattern_props(codec))
        .await
        .expect("publishes");
    let stream = viewer
        .wait("stream_created", |e| match e {
            SessionEvent::StreamCreated(s) => Some(s.stream.clone()),
            _ => None,
        })
        .await;
    assert_eq!(&stream, publisher.stream());
    assert_eq!(stream.video_dimensions, (320, 240));
    let subscriber = viewer
        .session
        .subscribe(&stream, SubscriberProperties::default())
        .await
        .expect("subscribes");
    // Measure over 5 s of steady state.
    wait_stats(&subscriber, "a first frame", WAIT, |s| s.frames_decoded > 0).await;
    let sent_before = publisher.stats().frames_encoded;
    let got_before = subscriber.stats().frames_decoded;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let sent = publisher.stats().frames_encoded - sent_before;
    let stats = subscriber.stats();
    let got = stats.frames_decoded - got_before;
    assert!(
        sent >= 60,
        "{codec:?}: only {sent} frames sent in 5 s at 15 fps"
    );
    assert!(got * 10 >= sent * 9, "{codec:?}: decoded {got} of {sent}");
    assert_eq!((stats.width, stats.height), (320, 240));
    assert!(
        stats.pattern_frames_verified * 10 >= stats.frames_decoded * 9,
        "{stats:?}"
    );
    // Counters increase: two reads a moment apart see a later stamp.
    let frames = subscriber.video_frames();
    let first = otter_media::pattern::read_stamp(&frames.latest().unwrap())
        .unwrap()
        .counter;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let later = otter_media::pattern::read_stamp(&frames.latest().unwrap())
        .unwrap()
        .counter;
    assert!(later > first, "{first} → {later}");
    // The tone arrives at its frequency.
    let audio = wait_stats(&subscriber, "the tone", WAIT, |s| s.audio_freq_hz.is_some()).await;
    let hz = audio.audio_freq_hz.unwrap();
    assert!((hz - 440.0).abs() <= 5.0, "{hz}");
    publisher.unpublish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vp8_test_pattern_and_tone_through_the_sfu() {
    pattern_through_the_sfu(VideoCodec::Vp8).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h264_test_pattern_through_the_sfu() {
    pattern_through_the_sfu(VideoCodec::H264).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_devices_are_errors_not_panics() {
    let server = TestServer::start().await;
    let sid = server.new_session_id();
    let client = server.client(&sid, Role::Publisher, "").await;
    // No camera and no microphone on this machine: nothing can be published.
    let e = client
        .session
        .publish(PublisherProperties::default())
        .await
        .unwrap_err();
    assert_eq!(
        (e.code, e.name),
        (1500, ErrorCode::HardwareUnavailable.name())
    );
    // With a working audio source, the missing camera is reported and audio is published alone.
    let props = PublisherProperties {
        audio_source: AudioSourceChoice::Tone(300.0),
        ..Default::default()
    };
    let publisher = client
        .session
        .publish(props)
        .await
        .expect("audio alone publishes");
    assert!(!publisher.stream().has_video);
    assert!(publisher.stream().has_audio);
    let mut events = publisher.events();
    let mut missing_camera = false;
    while let Some(event) = events.try_recv() {
        if let PublisherEvent::Error(e) = event {
            missing_camera |= e.code == 1500 && e.name == "OT_HARDWARE_UNAVAILABLE";
        }
    }
    assert!(missing_camera, "the missing camera was not reported");
    let subscriber_only = server.client(&sid, Role::Subscriber, "").await;
    let e = subscriber_only
        .session
        .publish(pattern_props(VideoCodec::Vp8))
        .await
        .unwrap_err();
    assert_eq!(e.code, 1500);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_limited_to_tcp_gets_media_through_ice_tcp() {
    let tcp_only = |server: &TestServer| otter_rtc::SessionOptions {
        ice_config: otter_rtc::IceConfig {
            tcp_only: true,
            ..Default::default()
        },
        ..server.options()
    };
    let server = TestServer::with_ice_tcp().await;
    let sid = server.new_session_id();
    let publisher_client = server
        .client_with(&sid, Role::Publisher, "", tcp_only(&server))
        .await;
    let viewer = server
        .client_with(&sid, Role::Subscriber, "", tcp_only(&server))
        .await;
    let publisher = publisher_client
        .session
        .publish(pattern_props(VideoCodec::Vp8))
        .await
        .expect("publishes over TCP");
    let sub = viewer
        .session
        .subscribe(publisher.stream(), SubscriberProperties::default())
        .await
        .expect("subscribes over TCP");
    let stats = wait_stats(&sub, "frames over TCP", WAIT, |s| {
        s.frames_decoded >= 10 && s.audio_freq_hz.is_some()
    })
    .await;
    assert!(stats.pattern_frames_verified >= 10, "{stats:?}");

    // Control: without the server's ICE-TCP port, a TCP-only client has no media path (1553).
    let udp_only = TestServer::start().await;
    let sid = udp_only.new_session_id();
    let client = udp_only
        .client_with(&sid, Role::Publisher, "", tcp_only(&udp_only))
        .await;
    let e = client
        .session
        .publish(pattern_props(VideoCodec::Vp8))
        .await
        .unwrap_err();
    assert_eq!((e.code, e.name), (1553, "OT_ICE_WORKFLOW_FAILED"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn media_binds_its_own_address_apart_from_http() {
    // HTTP on loopback (as behind a reverse proxy), media on every interface, announced at one.
    let mut config = otter_server::ServerConfig::with_project(API_KEY, API_SECRET);
    config.media.bind_ip = Some([0, 0, 0, 0].into());
    config.media.public_ip = Some([127, 0, 0, 1].into());
    let server = TestServer::with_config(config).await;
    let bound = server.server.state().sfu.udp_addr();
    assert!(bound.ip().is_unspecified(), "{bound}");
    let sid = server.new_session_id();
    let sender = server.client(&sid, Role::Publisher, "pub").await;
    let viewer = server.client(&sid, Role::Subscriber, "sub").await;
    let publisher = sender
        .session
        .publish(pattern_props(VideoCodec::Vp8))
        .await
        .expect("publishes");
    let sub = viewer
        .session
        .subscribe(publisher.stream(), SubscriberProperties::default())
        .await
        .expect("subscribes");
    let stats = wait_stats(&sub, "frames", WAIT, |s| s.pattern_frames_verified >= 5).await;
    assert!(stats.frames_decoded >= 5, "{stats:?}");
    publisher.unpublish().await;
}
