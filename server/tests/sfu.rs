//! The SFU on real loopback sockets, with str0m peers as publisher and subscribers (see `sfu_support.rs`).

#[path = "sfu_support.rs"]
mod support;

use std::net::UdpSocket;
use std::time::Duration;

use otter_server::sfu::{Sfu, SfuConfig, SfuError};
use support::{delivered, publisher, pump, pump_until, subscriber, Client};

async fn start() -> Sfu {
    Sfu::start(SfuConfig::udp("127.0.0.1:0".parse().unwrap()))
        .await
        .unwrap()
}

/// Publisher plus two connected subscribers.
async fn call(sfu: &Sfu) -> (Client, Client, Client, Vec<String>) {
    let (mut publ, a0) = publisher(sfu, "stream-1").await;
    let (mut sub1, a1) = subscriber(sfu, "sub-1", "stream-1").await;
    let (mut sub2, a2) = subscriber(sfu, "sub-2", "stream-1").await;
    let connected = pump_until(
        &mut [&mut publ, &mut sub1, &mut sub2],
        Duration::from_secs(10),
        |c| c.iter().all(|c| c.connected),
    )
    .await;
    assert!(connected, "ICE/DTLS did not complete");
    // Let the server side see its Connected too (it can trail the client's by a packet).
    pump(
        &mut [&mut publ, &mut sub1, &mut sub2],
        Duration::from_millis(200),
    )
    .await;
    (publ, sub1, sub2, vec![a0, a1, a2])
}

/// Send `frames` frames at about 100 fps while stepping everyone; returns what was sent.
async fn send(publ: &mut Client, subs: &mut [&mut Client], frames: u32) -> Vec<Vec<u8>> {
    let mut sent = Vec::new();
    for _ in 0..frames {
        sent.extend(publ.send_frame());
        let mut all: Vec<&mut Client> = vec![&mut *publ];
        all.extend(subs.iter_mut().map(|s| &mut **s));
        pump(&mut all, Duration::from_millis(10)).await;
    }
    let mut all: Vec<&mut Client> = vec![&mut *publ];
    all.extend(subs.iter_mut().map(|s| &mut **s));
    pump(&mut all, Duration::from_millis(300)).await;
    sent
}

fn at_least_90_percent(sent: &[Vec<u8>], received: &[Vec<u8>]) {
    let got = delivered(sent, received);
    assert!(
        got * 10 >= sent.len() * 9,
        "delivered {got} of {}",
        sent.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwards_vp8_to_two_subscribers_on_one_port() {
    let sfu = start().await;
    let (mut publ, mut sub1, mut sub2, answers) = call(&sfu).await;

    // (4) Every answer's candidates name the one SFU UDP port.
    let port = sfu.udp_addr().port();
    for answer in &answers {
        let candidates: Vec<&str> = answer
            .lines()
            .filter(|l| l.starts_with("a=candidate"))
            .collect();
        assert!(!candidates.is_empty(), "no candidates in\n{answer}");
        for c in candidates {
            assert!(
                c.contains(&format!(" {port} typ host")),
                "candidate {c} is not on port {port}"
            );
        }
    }

    // (1) A few hundred packets reach both subscribers, payload bytes intact.
    let sent = send(&mut publ, &mut [&mut sub1, &mut sub2], 100).await;
    assert_eq!(sent.len(), 300);
    at_least_90_percent(&sent, &sub1.received);
    at_least_90_percent(&sent, &sub2.received);
    let stats = sfu.stats();
    assert!(stats.packets_received >= 270, "{stats:?}");
    assert!(stats.packets_forwarded >= 540, "{stats:?}");
    assert_eq!(stats.peers, 3);
    sfu.shutdown().await;
    assert_eq!(sfu.stats().peers, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pausing_video_affects_one_subscriber_and_resuming_requests_a_keyframe() {
    let sfu = start().await;
    let (mut publ, mut sub1, mut sub2, _) = call(&sfu).await;
    send(&mut publ, &mut [&mut sub1, &mut sub2], 20).await;

    // (2) Pause sub-1's video: it gets nothing new, sub-2 still does.
    sfu.set_forwarding("sub-1", true, false).await.unwrap();
    pump(
        &mut [&mut publ, &mut sub1, &mut sub2],
        Duration::from_millis(100),
    )
    .await;
    let (before1, before2) = (sub1.received.len(), sub2.received.len());
    let sent = send(&mut publ, &mut [&mut sub1, &mut sub2], 40).await;
    assert_eq!(
        sub1.received.len(),
        before1,
        "paused subscriber still receives video"
    );
    at_least_90_percent(&sent, &sub2.received[before2..]);

    // Resume: the publisher is asked for a keyframe, and sub-1 receives again.
    let requests = publ.keyframe_requests;
    sfu.set_forwarding("sub-1", true, true).await.unwrap();
    let asked = pump_until(
        &mut [&mut publ, &mut sub1, &mut sub2],
        Duration::from_secs(3),
        |c| c[0].keyframe_requests > requests,
    )
    .await;
    assert!(asked, "resuming video did not request a keyframe");
    let resumed_at = sub1.received.len();
    let sent = send(&mut publ, &mut [&mut sub1, &mut sub2], 40).await;
    at_least_90_percent(&sent, &sub1.received[resumed_at..]);

    // A subscriber's own PLI also reaches the publisher.
    let requests = publ.keyframe_requests;
    pump(
        &mut [&mut publ, &mut sub1, &mut sub2],
        Duration::from_millis(400),
    )
    .await;
    sub2.send_pli();
    let asked = pump_until(
        &mut [&mut publ, &mut sub1, &mut sub2],
        Duration::from_secs(3),
        |c| c[0].keyframe_requests > requests,
    )
    .await;
    assert!(asked, "subscriber PLI was not forwarded");

    assert!(matches!(
        sfu.set_forwarding("nope", true, true).await,
        Err(SfuError::UnknownSubscription)
    ));
    sfu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsubscribe_and_unpublish_stop_forwarding() {
    let sfu = start().await;
    let (mut publ, mut sub1, mut sub2, _) = call(&sfu).await;
    send(&mut publ, &mut [&mut sub1, &mut sub2], 10).await;

    // (3) After unsubscribe sub-2 receives nothing more; sub-1 is unaffected.
    sfu.unsubscribe("sub-2").await;
    assert_eq!(sfu.stats().peers, 2);
    let before2 = sub2.received.len();
    let before1 = sub1.received.len();
    let sent = send(&mut publ, &mut [&mut sub1, &mut sub2], 30).await;
    assert_eq!(sub2.received.len(), before2);
    at_least_90_percent(&sent, &sub1.received[before1..]);

    // Unpublishing takes the stream's remaining subscriber peers with it.
    sfu.unpublish("stream-1").await;
    assert_eq!(sfu.stats().peers, 0);
    let before1 = sub1.received.len();
    send(&mut publ, &mut [&mut sub1], 10).await;
    assert_eq!(sub1.received.len(), before1);
    let (_, offer) = Client::offer(&[(
        str0m::media::MediaKind::Video,
        str0m::media::Direction::RecvOnly,
    )]);
    let err = sfu.subscribe("sub-3", "stream-1", &offer, true, true).await;
    assert!(matches!(err, Err(SfuError::UnknownStream)));
    sfu.unsubscribe("sub-1").await;
    assert_eq!(sfu.stats().peers, 0);
    sfu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_datagrams_and_bad_sdp_do_not_disturb_forwarding() {
    let sfu = start().await;
    assert!(matches!(
        sfu.publish("x", "v=0 garbage").await,
        Err(SfuError::BadSdp(_))
    ));
    assert!(matches!(
        sfu.publish("x", "").await,
        Err(SfuError::BadSdp(_))
    ));
    let (mut publ, mut sub1, mut sub2, _) = call(&sfu).await;

    // (5) Junk of every shape at the media port while real media flows.
    let junk = UdpSocket::bind("127.0.0.1:0").unwrap();
    let target = sfu.udp_addr();
    let shapes: [&[u8]; 7] = [
        &[],
        &[0x00],
        &[0x00, 0x01, 0x00, 0x08, 0x21, 0x12, 0xa4, 0x42, 1, 2, 3], // truncated STUN
        &[0x16, 0xfe, 0xfd, 0, 0, 0, 0],                            // truncated DTLS
        &[0x80, 0x60, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 1, 9, 9],    // RTP from a stranger
        &[0x81, 0xc9, 0x00, 0x01],                                  // RTCP fragment
        &[0xff; 1500],
    ];
    let mut sent = Vec::new();
    for round in 0..60 {
        for s in shapes {
            let _ = junk.send_to(s, target);
        }
        // Junk from the publisher's own address too: it must be rejected by its Rtc, not crash it.
        if round % 10 == 0 {
            let _ = junk.send_to(&[0x80, 0x00], target);
        }
        sent.extend(publ.send_frame());
        pump(
            &mut [&mut publ, &mut sub1, &mut sub2],
            Duration::from_millis(10),
        )
        .await;
    }
    pump(
        &mut [&mut publ, &mut sub1, &mut sub2],
        Duration::from_millis(300),
    )
    .await;
    at_least_90_percent(&sent, &sub1.received);
    at_least_90_percent(&sent, &sub2.received);
    assert!(sfu.stats().datagrams_unrouted > 0);
    sfu.shutdown().await;
}

/// F4: a peer that never completes ICE and DTLS (here: an offer without candidates, which str0m would
/// otherwise keep forever) is removed after the connect deadline; a connected peer stays.
#[tokio::test]
async fn peers_that_never_connect_expire() {
    let mut config = SfuConfig::udp("127.0.0.1:0".parse().unwrap());
    config.connect_deadline = Duration::from_secs(1);
    let sfu = Sfu::start(config).await.unwrap();
    let (_, offer) = Client::offer(&[(
        str0m::media::MediaKind::Video,
        str0m::media::Direction::SendOnly,
    )]);
    let silent: String = offer
        .lines()
        .filter(|l| !l.starts_with("a=candidate"))
        .map(|l| format!("{l}\r\n"))
        .collect();
    for i in 0..3 {
        sfu.publish(&format!("silent-{i}"), &silent).await.unwrap();
    }
    let (mut good, _) = publisher(&sfu, "good").await;
    assert!(pump_until(&mut [&mut good], Duration::from_secs(5), |c| c[0].connected).await);
    assert_eq!(sfu.stats().peers, 4);
    let gone = pump_until(&mut [&mut good], Duration::from_secs(5), |_| {
        sfu.stats().peers == 1
    })
    .await;
    assert!(gone, "{} peers left", sfu.stats().peers);
    // The connected publisher still forwards to a new subscriber.
    let (mut sub, _) = subscriber(&sfu, "sub", "good").await;
    let sent = send(&mut good, &mut [&mut sub], 30).await;
    at_least_90_percent(&sent, &sub.received);
}

/// F8: with many idle peers, a spray of unauthenticated datagrams (STUN naming unknown ufrags, RTP and
/// DTLS from random ports) is dropped without disturbing a live call.
#[tokio::test]
async fn a_spray_at_many_idle_peers_leaves_a_call_alone() {
    let sfu = start().await;
    // A peer costs about 70 ms to set up in a debug build, so "many" stays modest here.
    for i in 0..60 {
        let (_, offer) = Client::offer(&[(
            str0m::media::MediaKind::Video,
            str0m::media::Direction::SendOnly,
        )]);
        sfu.publish(&format!("idle-{i}"), &offer).await.unwrap();
    }
    let (mut publ, mut sub1, mut sub2, _) = call(&sfu).await;
    let sprayers: Vec<UdpSocket> = (0..50)
        .map(|_| UdpSocket::bind("127.0.0.1:0").unwrap())
        .collect();
    let mut stun = vec![0x00, 0x01, 0x00, 0x0c, 0x21, 0x12, 0xa4, 0x42];
    stun.extend_from_slice(&[9; 12]);
    stun.extend_from_slice(&[0x00, 0x06, 0x00, 0x08]);
    stun.extend_from_slice(b"nope:who");
    let before = sfu.stats().datagrams_unrouted;
    let mut sent = Vec::new();
    for _ in 0..60 {
        for s in &sprayers {
            let _ = s.send_to(&stun, sfu.udp_addr());
            let _ = s.send_to(&[0x80; 60], sfu.udp_addr());
            let _ = s.send_to(&[0x16; 60], sfu.udp_addr());
        }
        sent.extend(publ.send_frame());
        pump(
            &mut [&mut publ, &mut sub1, &mut sub2],
            Duration::from_millis(10),
        )
        .await;
    }
    pump(
        &mut [&mut publ, &mut sub1, &mut sub2],
        Duration::from_millis(300),
    )
    .await;
    at_least_90_percent(&sent, &sub1.received);
    at_least_90_percent(&sent, &sub2.received);
    let unrouted = sfu.stats().datagrams_unrouted - before;
    assert!(
        unrouted >= 60 * 50 * 3 * 9 / 10,
        "{unrouted} datagrams counted as unrouted"
    );
}

/// F7: ICE-TCP connections that send nothing, or anything but STUN first, or an oversized frame, are
/// closed; none of them reaches the media task.
#[tokio::test]
async fn ice_tcp_closes_connections_that_are_not_ice() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut config = SfuConfig::udp("127.0.0.1:0".parse().unwrap());
    config.tcp_addr = Some("127.0.0.1:0".parse().unwrap());
    let sfu = Sfu::start(config).await.unwrap();
    let addr = sfu.tcp_addr().unwrap();
    let connect = || tokio::net::TcpStream::connect(addr);
    let closed = |mut s: tokio::net::TcpStream, within: Duration| async move {
        let mut buf = [0u8; 64];
        matches!(
            tokio::time::timeout(within, s.read(&mut buf)).await,
            Ok(Ok(0) | Err(_))
        )
    };
    // Not STUN first: closed at once.
    let mut rtp = connect().await.unwrap();
    rtp.write_all(&[0x00, 0x04, 0x80, 0x60, 0x00, 0x01])
        .await
        .unwrap();
    assert!(
        closed(rtp, Duration::from_secs(2)).await,
        "a non-STUN first frame"
    );
    // A frame over the limit: closed at once.
    let mut big = connect().await.unwrap();
    big.write_all(&[0xff, 0xff, 0x00, 0x01]).await.unwrap();
    assert!(
        closed(big, Duration::from_secs(2)).await,
        "an oversized frame"
    );
    // Silent connections: closed at the first-frame deadline, all of them.
    let mut silent = Vec::new();
    for _ in 0..200 {
        silent.push(connect().await.unwrap());
    }
    for s in silent {
        assert!(
            closed(s, Duration::from_secs(8)).await,
            "a silent connection stayed open"
        );
    }
    assert_eq!(sfu.stats().peers, 0);
}

/// F10: a connected publisher that goes silent (a crashed client) is removed after the media timeout,
/// its subscribers' peers go with it, and the SFU reports both.
#[tokio::test]
async fn a_silent_publisher_is_removed_with_its_subscribers_and_reported() {
    use otter_server::sfu::SfuEvent;
    let mut config = SfuConfig::udp("127.0.0.1:0".parse().unwrap());
    config.media_timeout = Duration::from_secs(1);
    let sfu = Sfu::start(config).await.unwrap();
    let mut events = sfu.take_events().expect("the first taker gets the events");
    assert!(sfu.take_events().is_none());
    let (mut publ, mut sub1, mut sub2, _) = call(&sfu).await;
    let sent = send(&mut publ, &mut [&mut sub1, &mut sub2], 20).await;
    at_least_90_percent(&sent, &sub1.received);
    // The publisher stops; the subscribers keep answering.
    drop(publ);
    let gone = pump_until(&mut [&mut sub1, &mut sub2], Duration::from_secs(5), |_| {
        sfu.stats().peers == 0
    })
    .await;
    assert!(gone, "{} peers left", sfu.stats().peers);
    let mut seen = Vec::new();
    while let Ok(e) = events.try_recv() {
        seen.push(e);
    }
    assert_eq!(
        seen[0],
        SfuEvent::PublisherGone("stream-1".into()),
        "{seen:?}"
    );
    for sub in ["sub-1", "sub-2"] {
        assert!(
            seen.contains(&SfuEvent::SubscriberGone(sub.into())),
            "{seen:?}"
        );
    }
}
