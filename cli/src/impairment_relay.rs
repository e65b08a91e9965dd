//! Delay, jitter and reordering for the network lab, which this kernel cannot do (no `netem`): a
//! NAT-like UDP forwarder in front of the server's media port that holds each packet of an impaired
//! client for a delay drawn from a seeded schedule (a jitter wider than the packet spacing reorders
//! them) and drops some, in both directions. The server sees the client behind it as a client behind
//! NAT. Clients not named impaired are forwarded at once, so one relay serves a shaped publisher and
//! a clean subscriber.

use std::collections::{BinaryHeap, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// What happens to an impaired client's packets, each way.
#[derive(Debug, Clone, Copy, Default)]
pub struct Impairment {
    /// Added to every packet (half the round trip it adds).
    pub delay: Duration,
    /// Each packet's delay varies uniformly by up to this much either side.
    pub jitter: Duration,
    /// Share of packets dropped, percent.
    pub loss_percent: u32,
}

/// Flows (client addresses) the relay keeps at most: a test has a handful.
const MAX_FLOWS: usize = 64;
/// Packets waiting for their time at most; more are dropped, as a full router queue would.
const MAX_HELD: usize = 20_000;

/// A running relay; stops when dropped.
pub struct Relay {
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Relay {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// Where a held packet goes.
enum To {
    Server(Arc<UdpSocket>),
    Client(SocketAddr),
}

struct Held {
    at: Instant,
    order: u64,
    to: To,
    data: Vec<u8>,
}

impl PartialEq for Held {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.order) == (other.at, other.order)
    }
}
impl Eq for Held {}
impl PartialOrd for Held {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Held {
    // Earliest first out of a max-heap.
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (other.at, other.order).cmp(&(self.at, self.order))
    }
}

/// xorshift64*: a reproducible schedule from a seed, no dependency.
struct Schedule(u64);

impl Schedule {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// When a packet sent now leaves, or `None` when it is lost.
    fn release(&mut self, now: Instant, imp: &Impairment) -> Option<Instant> {
        if (self.next() % 100) < u64::from(imp.loss_percent) {
            return None;
        }
        let jitter = imp.jitter.as_micros() as i64;
        let offset = if jitter > 0 {
            (self.next() % (2 * jitter as u64 + 1)) as i64 - jitter
        } else {
            0
        };
        let delay = (imp.delay.as_micros() as i64 + offset).max(0) as u64;
        Some(now + Duration::from_micros(delay))
    }
}

impl Relay {
    /// Listens on `front` and forwards to `server`; packets of clients at `impaired` get `each_way`.
    pub async fn start(
        front: SocketAddr,
        server: SocketAddr,
        impaired: IpAddr,
        each_way: Impairment,
        seed: u64,
    ) -> anyhow::Result<Relay> {
        let front = Arc::new(
            UdpSocket::bind(front)
                .await
                .with_context(|| format!("the impairment relay cannot bind {front}"))?,
        );
        let (hold_tx, hold_rx) = mpsc::channel::<Held>(MAX_HELD);
        let sender = tokio::spawn(send_when_due(front.clone(), hold_rx));
        let receiver = tokio::spawn(async move {
            let mut flows: HashMap<SocketAddr, (Arc<UdpSocket>, JoinHandle<()>)> = HashMap::new();
            let mut schedule = Schedule(seed | 1);
            let mut order = 0u64;
            let mut buf = vec![0u8; 2048];
            while let Ok((n, client)) = front.recv_from(&mut buf).await {
                if !flows.contains_key(&client) {
                    if flows.len() >= MAX_FLOWS {
                        continue;
                    }
                    let Ok(upstream) = UdpSocket::bind((server.ip(), 0)).await else {
                        continue;
                    };
                    if upstream.connect(server).await.is_err() {
                        continue;
                    }
                    let upstream = Arc::new(upstream);
                    let back = tokio::spawn(from_server(
                        upstream.clone(),
                        client,
                        hold_tx.clone(),
                        (client.ip() == impaired).then_some(each_way),
                        seed.rotate_left(17) ^ order,
                    ));
                    flows.insert(client, (upstream, back));
                }
                let (upstream, _) = &flows[&client];
                let now = Instant::now();
                let at = if client.ip() == impaired {
                    match schedule.release(now, &each_way) {
                        Some(at) => at,
                        None => continue,
                    }
                } else {
                    now
                };
                order += 1;
                let held = Held {
                    at,
                    order,
                    to: To::Server(upstream.clone()),
                    data: buf[..n].to_vec(),
                };
                let _ = hold_tx.try_send(held);
            }
            for (_, (_, back)) in flows {
                back.abort();
            }
        });
        Ok(Relay {
            tasks: vec![sender, receiver],
        })
    }
}

/// The server's packets for one client, held as that client's impairment says.
async fn from_server(
    upstream: Arc<UdpSocket>,
    client: SocketAddr,
    hold: mpsc::Sender<Held>,
    impairment: Option<Impairment>,
    seed: u64,
) {
    let mut schedule = Schedule(seed | 1);
    let mut buf = vec![0u8; 2048];
    let mut order = 1u64 << 63;
    while let Ok(n) = upstream.recv(&mut buf).await {
        let now = Instant::now();
        let at = match &impairment {
            Some(imp) => match schedule.release(now, imp) {
                Some(at) => at,
                None => continue,
            },
            None => now,
        };
        order += 1;
        let held = Held {
            at,
            order,
            to: To::Client(client),
            data: buf[..n].to_vec(),
        };
        let _ = hold.try_send(held);
    }
}

/// Sends every held packet at its time.
async fn send_when_due(front: Arc<UdpSocket>, mut incoming: mpsc::Receiver<Held>) {
    let mut heap = BinaryHeap::new();
    loop {
        let next = heap.peek().map(|h: &Held| h.at);
        tokio::select! {
            held = incoming.recv() => match held {
                Some(h) => heap.push(h),
                None => return,
            },
            _ = async {
                match next {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            } => {
                let now = Instant::now();
                while heap.peek().is_some_and(|h| h.at <= now) {
                    let h = heap.pop().expect("peeked");
                    let _ = match h.to {
                        To::Server(socket) => socket.send(&h.data).await,
                        To::Client(addr) => front.send_to(&h.data, addr).await,
                    };
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn impaired_packets_are_delayed_jittered_and_dropped_others_pass_at_once() {
        let server = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let probe = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let front = probe.local_addr().unwrap();
        drop(probe);
        let each_way = Impairment {
            delay: Duration::from_millis(30),
            jitter: Duration::from_millis(10),
            loss_percent: 10,
        };
        let loopback: IpAddr = [127, 0, 0, 1].into();
        let _relay = Relay::start(front, server.local_addr().unwrap(), loopback, each_way, 7)
            .await
            .unwrap();
        let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let start = Instant::now();
        for i in 0u16..200 {
            client.send_to(&i.to_be_bytes(), front).await.unwrap();
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let mut got = Vec::new();
        let mut buf = [0u8; 16];
        while let Ok(Ok((_, from))) =
            tokio::time::timeout(Duration::from_millis(200), server.recv_from(&mut buf)).await
        {
            got.push((u16::from_be_bytes([buf[0], buf[1]]), start.elapsed()));
            // The server answers through the relay, which delays that way too.
            server.send_to(&buf[..2], from).await.unwrap();
        }
        // About 10 % lost, the rest 20–40 ms late, and out of order somewhere.
        assert!((160..=195).contains(&got.len()), "{}", got.len());
        let first = got[0].1;
        assert!(first >= Duration::from_millis(20), "{first:?}");
        assert!(got.windows(2).any(|w| w[1].0 < w[0].0), "never reordered");
        let mut back = 0;
        while let Ok(Ok(_)) =
            tokio::time::timeout(Duration::from_millis(200), client.recv(&mut buf)).await
        {
            back += 1;
        }
        assert!(back * 100 >= got.len() * 80, "{back} of {}", got.len());
    }
}
