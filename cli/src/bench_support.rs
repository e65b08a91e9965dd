//! What the benchmarks share: an `otter serve` child process, a bench project and its tokens, child
//! processes measured from `/proc`, percentiles and the JSON line format.

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdout, Command, Stdio};

use anyhow::Context;
use otter_protocol::{Role, SessionId};
use otter_server::tokens::{self, TokenFormat, TokenOptions};
use otter_server::Project;
use serde_json::json;

/// The bench project's key.
pub const KEY: &str = "424242";
const SECRET: &str = "bench-secret-not-for-production";

/// A child process of this same binary, killed on drop.
pub struct ChildProcess {
    child: Child,
    /// None once handed to [`ChildProcess::forward_events`].
    lines: Option<std::io::Lines<BufReader<ChildStdout>>>,
}

impl ChildProcess {
    /// Runs `otter ARGS…` with stdout piped.
    pub fn start(args: &[&str]) -> anyhow::Result<Self> {
        let exe = std::env::current_exe().context("cannot find this executable")?;
        Self::spawn(Command::new(exe), args)
    }

    /// Runs `command ARGS…` (an `otter`, perhaps inside a namespace) with stdout piped.
    pub fn spawn(mut command: Command, args: &[&str]) -> anyhow::Result<Self> {
        let mut child = command
            .args(args)
            .env_remove("OTTER_CONFIG")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("cannot start a child otter")?;
        let stdout = child.stdout.take().context("no stdout")?;
        Ok(Self {
            child,
            lines: Some(BufReader::new(stdout).lines()),
        })
    }

    /// Reads JSON lines until one has `"event": name`; an `error` or `failed` line first is an error
    /// (a child that failed to publish stays connected, and would otherwise be waited for forever).
    pub fn wait_for(&mut self, name: &str) -> anyhow::Result<serde_json::Value> {
        let lines = self
            .lines
            .as_mut()
            .context("the child's lines were handed on")?;
        for line in lines.by_ref() {
            let line = line?;
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) {
                if v["event"] == name {
                    return Ok(v);
                }
                if v["event"] == "error" || v["event"] == "failed" {
                    anyhow::bail!("waiting for {name}, the child said {v}");
                }
            }
        }
        anyhow::bail!("the child ended before a {name} line")
    }

    /// Reads the rest of the child's JSON lines on a thread (so its stdout never fills and blocks
    /// it) and hands them on.
    pub fn forward_events(&mut self) -> std::sync::mpsc::Receiver<serde_json::Value> {
        let (tx, rx) = std::sync::mpsc::channel();
        if let Some(lines) = self.lines.take() {
            std::thread::spawn(move || {
                for line in lines.map_while(Result::ok) {
                    if let Ok(v) = serde_json::from_str(&line) {
                        if tx.send(v).is_err() {
                            break;
                        }
                    }
                }
            });
        }
        rx
    }

    /// The process ID.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// CPU time used so far (user + system), in seconds.
    pub fn cpu_seconds(&self) -> anyhow::Result<f64> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid()))?;
        // Fields after the command name (which may hold spaces) start after the last ')'.
        let rest = stat.rsplit_once(')').context("malformed /proc stat")?.1;
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let ticks: f64 = fields
            .get(11..13)
            .context("short /proc stat")?
            .iter()
            .map(|f| f.parse::<f64>().unwrap_or(0.0))
            .sum();
        Ok(ticks / clock_ticks_per_second())
    }

    /// Resident memory, KiB.
    pub fn rss_kib(&self) -> anyhow::Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .context("no VmRSS")
    }
}

/// Linux reports CPU time in clock ticks; 100 per second on every mainstream configuration.
fn clock_ticks_per_second() -> f64 {
    100.0
}

impl Drop for ChildProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An `otter serve` child on a free loopback port, with the bench project.
pub struct ServerProcess {
    /// The process.
    pub process: ChildProcess,
    /// Its base URL.
    pub url: String,
}

impl ServerProcess {
    /// Starts it and waits until it listens.
    pub fn start() -> anyhow::Result<Self> {
        Self::start_on(std::net::Ipv4Addr::LOCALHOST)
    }

    /// Starts it on `ip` (HTTP and media, with an ICE-TCP port as a deployment has for clients
    /// whose UDP is blocked) and waits until it listens.
    pub fn start_on(ip: std::net::Ipv4Addr) -> anyhow::Result<Self> {
        Self::start_on_with(ip, &[])
    }

    /// [`ServerProcess::start_on`] with more `otter serve` flags.
    pub fn start_on_with(ip: std::net::Ipv4Addr, extra: &[&str]) -> anyhow::Result<Self> {
        let listen = format!("{ip}:0");
        let public_ip = ip.to_string();
        let mut args = vec![
            "serve",
            "--listen",
            &listen,
            "--public-ip",
            &public_ip,
            "--tcp-port",
            "0",
            "--api-key",
            KEY,
            "--api-secret",
            SECRET,
        ];
        args.extend_from_slice(extra);
        let mut process = ChildProcess::start(&args)?;
        let ready = process.wait_for("listening")?;
        let url = ready["url"]
            .as_str()
            .context("no url in the listening line")?
            .to_owned();
        Ok(Self { process, url })
    }

    /// Resident memory of the server, KiB.
    pub fn rss_kib(&self) -> anyhow::Result<u64> {
        self.process.rss_kib()
    }
}

fn project() -> Project {
    Project {
        api_key: KEY.into(),
        api_secret: SECRET.into(),
    }
}

/// A new session of the bench project.
pub fn new_session() -> SessionId {
    otter_server::session_ids::new_session_id(&project(), "")
}

/// A publisher token for `session`.
pub fn token(session: &SessionId) -> String {
    tokens::mint(
        &project(),
        session,
        &TokenOptions {
            role: Role::Publisher,
            ..Default::default()
        },
        TokenFormat::Jwt,
        otter_server::clock::unix_secs(),
    )
    .expect("bench tokens are valid")
}

/// The `p`th percentile of sorted values.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * (sorted.len() as f64 - 1.0)).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// Prints `{"bench", "metric", "value", "unit", …context}`.
pub fn report_line(bench: &str, metric: &str, value: f64, unit: &str, context: serde_json::Value) {
    let mut line = json!({ "bench": bench, "metric": metric, "value": (value * 1000.0).round() / 1000.0, "unit": unit });
    if let (Some(l), Some(c)) = (line.as_object_mut(), context.as_object()) {
        l.extend(c.clone());
    }
    crate::emit(&line);
}

/// Raises this process's open-file limit (inherited by children) so `n` sockets fit.
pub fn raise_fd_limit(n: usize) {
    if let Ok((soft, hard)) = rlimit::Resource::NOFILE.get() {
        let want = (n as u64 * 2).min(hard);
        if soft < want {
            let _ = rlimit::Resource::NOFILE.set(want, hard);
        }
    }
}

/// Datagrams the kernel dropped at `pid`'s UDP sockets because their receive buffers were full (the
/// `drops` column of `/proc/net/udp{,6}` for the sockets among its descriptors). 0 when unreadable.
pub fn udp_socket_drops(pid: u32) -> u64 {
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return 0;
    };
    let inodes: std::collections::HashSet<String> = fds
        .filter_map(|fd| std::fs::read_link(fd.ok()?.path()).ok())
        .filter_map(|target| {
            let target = target.to_string_lossy().into_owned();
            Some(
                target
                    .strip_prefix("socket:[")?
                    .strip_suffix(']')?
                    .to_owned(),
            )
        })
        .collect();
    ["/proc/net/udp", "/proc/net/udp6"]
        .iter()
        .filter_map(|table| std::fs::read_to_string(table).ok())
        .flat_map(|text| {
            text.lines()
                .skip(1)
                .filter_map(|line| {
                    let fields: Vec<&str> = line.split_whitespace().collect();
                    // Columns: … uid timeout inode ref pointer drops.
                    let (inode, drops) = (fields.get(9)?, fields.last()?);
                    inodes.contains(*inode).then(|| drops.parse::<u64>().ok())?
                })
                .collect::<Vec<_>>()
        })
        .sum()
}

/// Starts a publishing `otter join` (with `extra` flags after the connection ones) into `session` and
/// waits until its stream exists; returns the process and the stream's ID.
pub fn start_publisher(
    server: &ServerProcess,
    session: &SessionId,
    extra: &[&str],
) -> anyhow::Result<(ChildProcess, String)> {
    let exe = std::env::current_exe().context("cannot find this executable")?;
    publisher(Command::new(exe), server, session, extra)
}

/// [`start_publisher`] inside a network lab's namespace, running `exe` (default: this binary).
pub fn start_publisher_in(
    lab: &crate::netlab::NetLab,
    exe: Option<&std::path::Path>,
    server: &ServerProcess,
    session: &SessionId,
    extra: &[&str],
) -> anyhow::Result<(ChildProcess, String)> {
    let this = std::env::current_exe().context("cannot find this executable")?;
    publisher(lab.command(exe.unwrap_or(&this)), server, session, extra)
}

/// `otter join` into `session` on `server` with `token`; add what it should do.
pub fn join_args<'a>(
    server: &'a ServerProcess,
    session: &'a SessionId,
    token: &'a str,
) -> Vec<&'a str> {
    vec![
        "join",
        "--url",
        &server.url,
        "--api-key",
        KEY,
        "--session",
        session.as_str(),
        "--token",
        token,
    ]
}

fn publisher(
    command: Command,
    server: &ServerProcess,
    session: &SessionId,
    extra: &[&str],
) -> anyhow::Result<(ChildProcess, String)> {
    let token = token(session);
    let mut args = join_args(server, session, &token);
    args.extend_from_slice(extra);
    let mut publisher = ChildProcess::spawn(command, &args)?;
    let created = publisher
        .wait_for("stream_created")
        .context("the publisher did not publish")?;
    let stream_id = created["stream_id"]
        .as_str()
        .context("no stream_id")?
        .to_owned();
    Ok((publisher, stream_id))
}

/// Joins `session` on `server` as a publisher-role participant and waits (10 s at most) until the stream
/// `stream_id` (any stream when `None`) is in it; returns the connected session and the stream.
pub async fn join_and_find(
    server: &ServerProcess,
    session: &SessionId,
    stream_id: Option<&str>,
) -> anyhow::Result<(otter_rtc::Session, otter_rtc::Stream)> {
    use otter_rtc::{Session, SessionOptions};
    let joined = Session::init(
        KEY,
        session.as_str(),
        SessionOptions::with_api_url(&server.url),
    );
    let mut events = joined.events();
    joined
        .connect(&token(session))
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    loop {
        if let Some(s) = joined
            .streams()
            .into_iter()
            .find(|s| stream_id.is_none_or(|id| s.stream_id.as_str() == id))
        {
            return Ok((joined, s));
        }
        match tokio::time::timeout(std::time::Duration::from_secs(10), events.recv()).await {
            Ok(Some(_)) => continue,
            _ => anyhow::bail!("the stream never appeared"),
        }
    }
}
