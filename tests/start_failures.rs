//! A publish or subscribe that fails after it started undoes itself (issue 11): whichever phase fails —
//! the server refusing the stream during negotiation, or an encoder that cannot open once media was
//! negotiated — no stream stays announced, and no peer connection, thread or task is left. Its own test
//! binary, so the thread count is this test's alone.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use otter_protocol::{ErrorCode, Role, VideoType};
use otter_rtc::media::{CustomVideoSource, VideoSource};
use otter_rtc::session_core::Request;
use otter_rtc::{open_peer_connections, AudioSourceChoice, PublisherProperties, VideoSourceChoice};
use otter_server::Limits;

fn threads() -> usize {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap()
}

/// Waits (a little) for background threads and tasks to wind down to `want` threads at most.
async fn threads_back_to(want: usize) {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while threads() > want {
        assert!(
            std::time::Instant::now() < deadline,
            "{} threads, {want} before",
            threads()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_publish_or_subscribe_leaves_nothing_behind() {
    let server = TestServer::with_limits(Limits {
        max_streams_per_connection: 1,
        ..Limits::default()
    })
    .await;
    let sid = server.new_session_id();
    let publisher_client = server.client(&sid, Role::Publisher, "").await;
    let observer = server.client(&sid, Role::Subscriber, "").await;
    // Warm up the runtime's threads and one full publish, so later counts compare like with like.
    let warm = publisher_client
        .session
        .publish(small_pattern())
        .await
        .unwrap();
    warm.unpublish().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = threads();
    assert_eq!(open_peer_connections(), 0);

    // Negotiation fails: the server refuses the stream (the connection's one stream is taken).
    let placeholder = Request::Publish {
        name: "placeholder".into(),
        has_audio: false,
        has_video: false,
        video_type: VideoType::Camera,
        video_dimensions: (0, 0),
        sdp_offer: None,
    };
    let taken = publisher_client
        .session
        .send_request(placeholder)
        .await
        .unwrap();
    let refused = publisher_client
        .session
        .publish(small_pattern())
        .await
        .unwrap_err();
    assert_eq!(
        refused.code,
        ErrorCode::StreamLimitExceeded.code(),
        "{refused:?}"
    );
    assert_eq!(
        open_peer_connections(),
        0,
        "the refused publish left its peer open"
    );
    threads_back_to(before).await;
    let unpublish = Request::Unpublish {
        stream_id: taken.stream.unwrap().stream_id,
    };
    publisher_client
        .session
        .send_request(unpublish)
        .await
        .unwrap();

    // The pipelines fail after negotiation: VP8 cannot open at 16384x16384 (a custom source renders
    // nothing, so nothing that size is ever allocated).
    let source: Arc<dyn VideoSource> = CustomVideoSource::new();
    let failed = publisher_client
        .session
        .publish(PublisherProperties {
            video_source: VideoSourceChoice::Custom(source),
            audio_source: AudioSourceChoice::Tone(440.0),
            resolution: (16384, 16384),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(failed.code, ErrorCode::UnableToPublish.code(), "{failed:?}");
    assert_eq!(
        open_peer_connections(),
        0,
        "the failed publish left its peer open"
    );
    threads_back_to(before).await;
    // No stream stays announced: not at the server, not at the other client.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        observer.session.streams().is_empty(),
        "{:?}",
        observer.session.streams()
    );
    assert!(publisher_client.session.streams().is_empty());
    assert_eq!(server.server.state().sfu.stats().peers, 0);

    // A subscribe the server refuses (the stream is gone) closes its peer too.
    let gone = warm.stream().clone();
    let refused = observer
        .session
        .subscribe(&gone, otter_rtc::SubscriberProperties::default())
        .await
        .unwrap_err();
    assert_eq!(refused.code, ErrorCode::NotFound.code(), "{refused:?}");
    assert_eq!(
        open_peer_connections(),
        0,
        "the refused subscribe left its peer open"
    );
    threads_back_to(before).await;

    // A subscribe that fails after the server made the subscription: a TCP-only client, and this
    // server has no ICE-TCP port, so the answer cannot be used. The server's half goes too.
    let live = publisher_client
        .session
        .publish(small_pattern())
        .await
        .unwrap();
    let with_publisher = threads();
    let tcp_only = otter_rtc::SessionOptions {
        ice_config: otter_rtc::IceConfig {
            tcp_only: true,
            ..Default::default()
        },
        ..server.options()
    };
    let tcp_client = server
        .client_with(&sid, Role::Subscriber, "", tcp_only)
        .await;
    let failed = tcp_client
        .session
        .subscribe(live.stream(), otter_rtc::SubscriberProperties::default())
        .await
        .unwrap_err();
    assert_eq!(
        failed.code,
        ErrorCode::SubscriberIceFailed.code(),
        "{failed:?}"
    );
    assert_eq!(open_peer_connections(), 1, "only the publisher's is left");
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while server.server.state().sfu.stats().peers != 1 {
        assert!(
            std::time::Instant::now() < deadline,
            "the server kept the failed subscription: {} SFU peers",
            server.server.state().sfu.stats().peers
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    threads_back_to(with_publisher).await;
    live.unpublish().await;
}
