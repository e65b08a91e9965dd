//! A real TURN server for the ICE tests: Debian's coturn on loopback, on a free port, checking
//! credentials made from a shared secret (the TURN REST convention), stopped when dropped.

use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct TurnServer {
    child: Child,
    pub port: u16,
    pub secret: String,
    /// Its pid and database files.
    dir: std::path::PathBuf,
}

impl TurnServer {
    /// Starts `turnserver` and returns once it answers a STUN binding request.
    pub fn start(secret: &str) -> Self {
        let port = free_udp_port();
        let dir = std::env::temp_dir().join(format!("otter-turn-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        let child = Command::new("turnserver")
            .args([
                "-n",
                "--listening-ip=127.0.0.1",
                "--relay-ip=127.0.0.1",
                &format!("--listening-port={port}"),
                "--use-auth-secret",
                &format!("--static-auth-secret={secret}"),
                "--realm=otter.test",
                // The SFU it relays to is on loopback too.
                "--allow-loopback-peers",
                "--no-tls",
                "--no-dtls",
                "--no-cli",
                "--log-file=stdout",
                "--simple-log",
                &format!("--pidfile={}", dir.join("turn.pid").display()),
                &format!("--userdb={}", dir.join("turn.db").display()),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("turnserver runs (Debian package coturn; `make deps` installs it)");
        let server = Self {
            child,
            port,
            secret: secret.into(),
            dir,
        };
        server.wait_until_answering();
        server
    }

    /// `turn:127.0.0.1:PORT` (UDP).
    pub fn url(&self) -> String {
        format!("turn:127.0.0.1:{}", self.port)
    }

    fn wait_until_answering(&self) {
        let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        // A STUN binding request (RFC 8489): type 1, no attributes, the magic cookie, an ID.
        let mut request = [0u8; 20];
        request[..8].copy_from_slice(&[0, 1, 0, 0, 0x21, 0x12, 0xa4, 0x42]);
        request[8..].copy_from_slice(b"otter-probe!");
        let to = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        let start = Instant::now();
        let mut buf = [0u8; 512];
        loop {
            let _ = socket.send_to(&request, to);
            if let Ok((n, _)) = socket.recv_from(&mut buf) {
                if n >= 20 && buf[..2] == [1, 1] {
                    return;
                }
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "turnserver did not answer on port {}",
                self.port
            );
        }
    }
}

impl Drop for TurnServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn free_udp_port() -> u16 {
    UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
