//! Media under control: fan-out to several subscribers, leaving, turning video off and on at either end,
//! and a signalling reconnect that media rides through.

mod common;

use std::time::{Duration, Instant};

use common::proxy::FaultProxy;
use common::*;
use otter_protocol::Role;
use otter_rtc::{
    AudioSourceChoice, PublisherProperties, SessionEvent, SessionOptions, StreamChange,
    StreamDestroyedReason, Subscriber, SubscriberEvent, SubscriberProperties, VideoReason,
    VideoSourceChoice,
};

fn pattern() -> PublisherProperties {
    PublisherProperties {
        video_source: VideoSourceChoice::TestPattern,
        audio_source: AudioSourceChoice::Tone(440.0),
        resolution: (320, 240),
        frame_rate: 15,
        ..Default::default()
    }
}

/// A publisher of the pattern and one viewer subscribed to it, on a server of their own.
struct Call {
    server: TestServer,
    sid: otter_rtc::SessionId,
    _publisher_client: Client,
    publisher: otter_rtc::Publisher,
    viewer: Client,
    sub: Subscriber,
}

async fn call() -> Call {
    let server = TestServer::start().await;
    let sid = server.new_session_id();
    let publisher_client = server.client(&sid, Role::Publisher, "").await;
    let publisher = publisher_client.session.publish(pattern()).await.unwrap();
    let viewer = server.client(&sid, Role::Subscriber, "").await;
    let sub = viewer
        .session
        .subscribe(publisher.stream(), SubscriberProperties::default())
        .await
        .unwrap();
    Call {
        server,
        sid,
        _publisher_client: publisher_client,
        publisher,
        viewer,
        sub,
    }
}

/// Waits until the subscriber has decoded more than `than` frames.
async fn frames_beyond(sub: &Subscriber, than: u64) -> u64 {
    let start = Instant::now();
    loop {
        let n = sub.stats().frames_decoded;
        if n > than {
            return n;
        }
        assert!(start.elapsed() < WAIT, "no new frames beyond {than}");
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
}

/// Asserts the subscriber decodes nothing new for `quiet` (after `settle` for frames in flight).
async fn no_frames_for(sub: &Subscriber, settle: Duration, quiet: Duration) {
    tokio::time::sleep(settle).await;
    let before = sub.stats().frames_decoded;
    tokio::time::sleep(quiet).await;
    assert_eq!(sub.stats().frames_decoded, before, "frames kept arriving");
}

async fn next_subscriber_event(
    events: &mut otter_rtc::EventStream<SubscriberEvent>,
    want: SubscriberEvent,
) {
    let found = first(events, |e| (e == want).then_some(())).await;
    assert!(found.is_some(), "no {want:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_publisher_three_subscribers_then_each_leaves() {
    let server = TestServer::start().await;
    let sid = server.new_session_id();
    let publisher_client = server.client(&sid, Role::Publisher, "").await;
    let publisher = publisher_client.session.publish(pattern()).await.unwrap();
    let stream = publisher.stream().clone();
    let mut viewers = Vec::new();
    for _ in 0..3 {
        let client = server.client(&sid, Role::Subscriber, "").await;
        let sub = client
            .session
            .subscribe(&stream, SubscriberProperties::default())
            .await
            .unwrap();
        viewers.push((client, sub));
    }
    for (_, sub) in &viewers {
        frames_beyond(sub, 3).await;
    }
    let sfu = server.server.state().sfu.clone();
    assert_eq!(sfu.stats().peers, 4);

    // One subscriber leaves: the SFU drops its peer; the others keep receiving.
    let (_, leaving) = viewers.pop().unwrap();
    leaving.unsubscribe().await;
    let start = Instant::now();
    while sfu.stats().peers != 3 {
        assert!(
            start.elapsed() < WAIT,
            "the SFU still has {} peers",
            sfu.stats().peers
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for (_, sub) in &viewers {
        let n = sub.stats().frames_decoded;
        frames_beyond(sub, n).await;
    }

    // The publisher leaves: every viewer hears stream_destroyed (ClientDisconnected) within a second.
    let left_at = Instant::now();
    publisher_client.session.disconnect().await;
    for (client, _) in &mut viewers {
        let reason = client
            .wait("stream_destroyed", |e| match e {
                SessionEvent::StreamDestroyed(d) if d.stream.stream_id == stream.stream_id => {
                    Some(d.reason)
                }
                _ => None,
            })
            .await;
        assert_eq!(reason, StreamDestroyedReason::ClientDisconnected);
    }
    assert!(
        left_at.elapsed() < Duration::from_secs(1),
        "{:?}",
        left_at.elapsed()
    );
    drop(publisher);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn video_off_and_on_at_the_publisher_and_at_one_subscriber() {
    let server = TestServer::start().await;
    let sid = server.new_session_id();
    let publisher_client = server.client(&sid, Role::Publisher, "").await;
    let publisher = publisher_client.session.publish(pattern()).await.unwrap();
    let stream = publisher.stream().clone();
    let mut a = server.client(&sid, Role::Subscriber, "").await;
    let b = server.client(&sid, Role::Subscriber, "").await;
    let sub_a = a
        .session
        .subscribe(&stream, SubscriberProperties::default())
        .await
        .unwrap();
    let sub_b = b
        .session
        .subscribe(&stream, SubscriberProperties::default())
        .await
        .unwrap();
    let mut events_a = sub_a.events();
    let mut events_b = sub_b.events();
    frames_beyond(&sub_a, 3).await;
    frames_beyond(&sub_b, 3).await;

    // The publisher turns video off: property change at each subscriber, video_disabled, no frames.
    publisher.set_publish_video(false).await.unwrap();
    let changed = a
        .wait("has_video change", |e| match e {
            SessionEvent::StreamPropertyChanged(p) => match p.change {
                StreamChange::HasVideo { new_value, .. } => Some(new_value),
                _ => None,
            },
            _ => None,
        })
        .await;
    assert!(!changed);
    next_subscriber_event(
        &mut events_a,
        SubscriberEvent::VideoDisabled(VideoReason::PublishVideo),
    )
    .await;
    next_subscriber_event(
        &mut events_b,
        SubscriberEvent::VideoDisabled(VideoReason::PublishVideo),
    )
    .await;
    no_frames_for(
        &sub_a,
        Duration::from_millis(400),
        Duration::from_millis(600),
    )
    .await;

    // Back on: video_enabled and frames resume.
    publisher.set_publish_video(true).await.unwrap();
    next_subscriber_event(
        &mut events_a,
        SubscriberEvent::VideoEnabled(VideoReason::PublishVideo),
    )
    .await;
    let n = sub_a.stats().frames_decoded;
    frames_beyond(&sub_a, n + 3).await;

    // Subscriber A stops receiving video; B goes on.
    sub_a.set_subscribe(None, Some(false)).await.unwrap();
    next_subscriber_event(
        &mut events_a,
        SubscriberEvent::VideoDisabled(VideoReason::SubscribeToVideo),
    )
    .await;
    no_frames_for(
        &sub_a,
        Duration::from_millis(400),
        Duration::from_millis(600),
    )
    .await;
    let n = sub_b.stats().frames_decoded;
    frames_beyond(&sub_b, n + 3).await;
    sub_a.set_subscribe(None, Some(true)).await.unwrap();
    let n = sub_a.stats().frames_decoded;
    frames_beyond(&sub_a, n + 3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn media_rides_through_a_signalling_reconnect() {
    let server = TestServer::start().await;
    let proxy = FaultProxy::start(server.server.addr).await;
    let sid = server.new_session_id();
    let through_proxy = || SessionOptions::with_api_url(proxy.url());
    let mut publisher_client = server
        .client_with(&sid, Role::Publisher, "", through_proxy())
        .await;
    let mut viewer = server
        .client_with(&sid, Role::Subscriber, "", through_proxy())
        .await;
    let publisher = publisher_client.session.publish(pattern()).await.unwrap();
    let sub = viewer
        .session
        .subscribe(publisher.stream(), SubscriberProperties::default())
        .await
        .unwrap();
    frames_beyond(&sub, 3).await;

    proxy.cut();
    for client in [&mut publisher_client, &mut viewer] {
        client
            .wait("reconnecting", |e| {
                matches!(e, SessionEvent::SessionReconnecting(_)).then_some(())
            })
            .await;
    }
    // Media does not go through the signalling link: it keeps flowing while signalling is down.
    let n = sub.stats().frames_decoded;
    frames_beyond(&sub, n + 3).await;
    proxy.restore();
    for client in [&mut publisher_client, &mut viewer] {
        client
            .wait("reconnected", |e| {
                matches!(e, SessionEvent::SessionReconnected(_)).then_some(())
            })
            .await;
    }
    // Same publisher and subscriber objects, still flowing, still controllable.
    let n = sub.stats().frames_decoded;
    frames_beyond(&sub, n + 3).await;
    publisher.set_publish_audio(false).await.unwrap();
    let changed = viewer
        .wait("has_audio change", |e| match e {
            SessionEvent::StreamPropertyChanged(p) => match p.change {
                StreamChange::HasAudio { new_value, .. } => Some(new_value),
                _ => None,
            },
            _ => None,
        })
        .await;
    assert!(!changed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn size_rate_and_bitrate_change_on_a_live_publisher() {
    let server = TestServer::start().await;
    let sid = server.new_session_id();
    let publisher_client = server.client(&sid, Role::Publisher, "").await;
    let publisher = publisher_client.session.publish(pattern()).await.unwrap();
    let mut viewer = server.client(&sid, Role::Subscriber, "").await;
    let sub = viewer
        .session
        .subscribe(publisher.stream(), SubscriberProperties::default())
        .await
        .unwrap();
    frames_beyond(&sub, 3).await;

    publisher.set_resolution(160, 120).await.unwrap();
    let dims = viewer
        .wait("video_dimensions change", |e| match e {
            SessionEvent::StreamPropertyChanged(p) => match p.change {
                StreamChange::VideoDimensions { new_value, .. } => Some(new_value),
                _ => None,
            },
            _ => None,
        })
        .await;
    assert_eq!(dims, (160, 120));
    let start = Instant::now();
    while (sub.stats().width, sub.stats().height) != (160, 120) {
        assert!(
            start.elapsed() < WAIT,
            "still {}x{}",
            sub.stats().width,
            sub.stats().height
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // 15 → 5 fps: about a third of the frames.
    publisher.set_frame_rate(5).unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = sub.stats().frames_decoded;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let got = sub.stats().frames_decoded - before;
    assert!((5..=14).contains(&got), "{got} frames in 2 s at 5 fps");
    publisher.set_max_video_bitrate(Some(50_000));
    let n = sub.stats().frames_decoded;
    frames_beyond(&sub, n + 2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interrupted_media_is_reported_and_its_return_too() {
    let call = call().await;
    let (server, sid, viewer, sub) = (&call.server, &call.sid, &call.viewer, &call.sub);
    let mut events = sub.events();
    frames_beyond(sub, 3).await;
    // The server stops forwarding behind the subscriber's back, as a broken network path would.
    let sfu = server.server.state().sfu.clone();
    // The hub's SFU key for a subscription: session, connection, subscription.
    let key = format!("{}|{}/{}", sid.as_str(), viewer.id(), sub.subscription_id());
    sfu.set_forwarding(&key, false, false).await.unwrap();
    next_subscriber_event(&mut events, SubscriberEvent::Disconnected).await;
    sfu.set_forwarding(&key, true, true).await.unwrap();
    next_subscriber_event(&mut events, SubscriberEvent::Reconnected).await;
    let n = sub.stats().frames_decoded;
    frames_beyond(sub, n + 3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn network_stats_arrive_every_second_on_both_ends() {
    let call = call().await;
    let (publisher, sub) = (&call.publisher, &call.sub);
    // The first `events()` of a publisher also gets what it sent before.
    let mut publisher_events = publisher.events();
    let mut subscriber_events = sub.events();
    let sent = first(&mut publisher_events, |e| match e {
        otter_rtc::PublisherEvent::VideoNetworkStats(s) if s.packets > 0 => Some(s),
        _ => None,
    })
    .await
    .expect("publisher video_network_stats");
    let received = first(&mut subscriber_events, |e| match e {
        SubscriberEvent::VideoNetworkStats(s) if s.packets > 0 => Some(s),
        _ => None,
    })
    .await
    .expect("subscriber video_network_stats");
    assert!(
        sent.bytes > 0 && received.bytes > 0,
        "{sent:?} {received:?}"
    );
    assert!(received.timestamp > 1_600_000_000_000, "{received:?}");
    assert_eq!(received.packets_lost, 0, "loss on loopback: {received:?}");

    // The W3C report on request, returned and sent as an event.
    let sent_report = publisher.get_rtc_stats_report().await;
    assert!(
        sent_report.to_string().contains("\"outbound-rtp\""),
        "the publisher's report has outbound RTP: {sent_report}"
    );
    let received_report = sub.get_rtc_stats_report().await;
    assert!(
        received_report.to_string().contains("\"inbound-rtp\""),
        "the subscriber's report has inbound RTP"
    );
    let evented = first(&mut subscriber_events, |e| match e {
        SubscriberEvent::RtcStatsReport(r) => Some(r),
        _ => None,
    })
    .await
    .expect("rtc_stats_report event");
    assert!(evented.as_array().is_some_and(|a| !a.is_empty()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forced_mute_stops_the_publishers_audio() {
    let server = TestServer::start().await;
    let sid = server.new_session_id();
    let publisher_client = server.client(&sid, Role::Publisher, "").await;
    let publisher = publisher_client.session.publish(pattern()).await.unwrap();
    let mut publisher_events = publisher.events();
    let mut moderator = server.client(&sid, Role::Moderator, "").await;
    let stream_id = publisher.stream().stream_id.clone();
    moderator
        .wait("the stream", |e| {
            matches!(e, SessionEvent::StreamCreated(_)).then_some(())
        })
        .await;
    moderator
        .session
        .force_mute_stream(stream_id.clone())
        .await
        .unwrap();
    let forced = first(&mut publisher_events, |e| {
        (e == otter_rtc::PublisherEvent::MuteForced).then_some(())
    })
    .await;
    assert!(forced.is_some(), "the publisher heard of the forced mute");
    moderator
        .wait("has_audio off", |e| match e {
            SessionEvent::StreamPropertyChanged(c) => {
                (c.stream.stream_id == stream_id && !c.stream.has_audio).then_some(())
            }
            _ => None,
        })
        .await;
    // Audio frames stop being encoded (a frame in flight may still land).
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = publisher.stats().audio_frames;
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(
        publisher.stats().audio_frames <= before + 1,
        "audio kept being sent after the forced mute"
    );
    // The app may unmute again.
    publisher.set_publish_audio(true).await.unwrap();
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(
        publisher.stats().audio_frames > before + 10,
        "audio is back"
    );
}

/// The hub's SFU work runs in order (security review L8, issue 11): a hundred quick forwarding toggles,
/// sent at once, end in the state of the last one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_quick_toggles_end_in_the_last_state() {
    let call = call().await;
    let sub = &call.sub;
    frames_beyond(sub, 3).await;
    // 0: on, 1: off, …, 99: off.
    let toggles = (0..100).map(|i| sub.set_subscribe(None, Some(i % 2 == 0)));
    for result in futures_util::future::join_all(toggles).await {
        result.unwrap();
    }
    no_frames_for(sub, Duration::from_millis(700), Duration::from_millis(1500)).await;
    sub.set_subscribe(None, Some(true)).await.unwrap();
    let n = sub.stats().frames_decoded;
    frames_beyond(sub, n + 3).await;
}
