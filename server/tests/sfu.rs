//! The SFU on real loopback sockets, with str0m peers as publisher and subscribers (see
//! `sfu_support.rs`): the thin end-to-end layer over the media task's I/O. Forwarding, keyframes, loss
//! and expiry are tested on the sans-IO router in simulated time (`src/sfu/tests/`).

#[path = "sfu_support.rs"]
mod support;

use std::time::Duration;

use otter_server::sfu::{Sfu, SfuConfig, SfuEvent};
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

    // What the router reports reaches the one taker of the event channel.
    let mut events = sfu.take_events().expect("the first taker gets the events");
    assert!(sfu.take_events().is_none());
    sfu.unsubscribe("sub-2").await;
    let event = tokio::time::timeout(Duration::from_secs(5), events.recv()).await;
    assert_eq!(
        event.unwrap(),
        Some(SfuEvent::SubscriberGone("sub-2".into()))
    );
    sfu.shutdown().await;
    assert_eq!(sfu.stats().peers, 0);
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
