//! A TCP proxy that can cut every link through it and refuse new ones, then let them through again:
//! the network fault the reconnection tests need, on loopback.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::io::copy_bidirectional;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Mutex};

pub struct FaultProxy {
    pub addr: SocketAddr,
    up: Arc<AtomicBool>,
    /// When set, a cut keeps the sockets open and silent (a black hole) instead of closing them.
    silent: Arc<AtomicBool>,
    cut: watch::Sender<u64>,
    task: tokio::task::JoinHandle<()>,
}

impl FaultProxy {
    pub async fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let up = Arc::new(AtomicBool::new(true));
        let silent = Arc::new(AtomicBool::new(false));
        let held: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
        let (cut, _) = watch::channel(0u64);
        let task = {
            let up = up.clone();
            let silent = silent.clone();
            let cut = cut.clone();
            tokio::spawn(async move {
                while let Ok((mut inbound, _)) = listener.accept().await {
                    if !up.load(Ordering::SeqCst) {
                        // Refused: close at once, as a dead route would look to the client.
                        drop(inbound);
                        continue;
                    }
                    let mut cut_rx = cut.subscribe();
                    let silent = silent.clone();
                    let held = held.clone();
                    tokio::spawn(async move {
                        let Ok(mut outbound) = TcpStream::connect(target).await else {
                            return;
                        };
                        tokio::select! {
                            _ = copy_bidirectional(&mut inbound, &mut outbound) => {}
                            _ = cut_rx.changed() => {
                                if silent.load(Ordering::SeqCst) {
                                    held.lock().await.extend([inbound, outbound]);
                                }
                            }
                        }
                    });
                }
            })
        };
        Self {
            addr,
            up,
            silent,
            cut,
            task,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Drops every link through the proxy and refuses new ones until [`FaultProxy::restore`].
    pub fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        self.cut.send_modify(|n| *n += 1);
    }

    /// Stops every link through the proxy without closing it: packets vanish, as on a dead Wi-Fi.
    /// New connections are refused until [`FaultProxy::restore`].
    pub fn black_hole(&self) {
        self.silent.store(true, Ordering::SeqCst);
        self.cut();
    }

    pub fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}
