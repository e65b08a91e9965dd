//! Running the built `otter` binary from tests: children whose JSON lines arrive on a channel.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

pub const OTTER: &str = env!("CARGO_BIN_EXE_otter");
pub const WAIT: Duration = Duration::from_secs(15);

/// A child whose JSON stdout lines arrive on a channel.
pub struct Running {
    pub child: Child,
    pub lines: mpsc::Receiver<Value>,
}

impl Running {
    /// Runs `otter ARGS…`; every stdout line must be JSON.
    pub fn start(args: &[&str]) -> Self {
        Self::start_with(&[], &[], args)
    }

    /// Waits for the first line whose `event` is `name` and that `matches`.
    pub fn expect(&self, name: &str, matches: impl Fn(&Value) -> bool) -> Value {
        let deadline = std::time::Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(v) if v["event"] == name && matches(&v) => return v,
                Ok(_) => continue,
                Err(_) => panic!("no {name} line"),
            }
        }
    }

    pub fn wait_exit(&mut self) -> i32 {
        let deadline = std::time::Instant::now() + WAIT;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code().unwrap_or(-1);
            }
            assert!(std::time::Instant::now() < deadline, "process did not exit");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn output(args: &[&str]) -> String {
    let out = Command::new(OTTER).args(args).output().expect("otter runs");
    assert!(
        out.status.success(),
        "otter {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

impl Running {
    /// Like [`Running::start`], with extra environment variables and a program to run `otter` through
    /// (e.g. `faketime`).
    pub fn start_with(wrapper: &[&str], env: &[(&str, &str)], args: &[&str]) -> Self {
        let mut command = match wrapper.split_first() {
            Some((program, rest)) => {
                let mut c = Command::new(program);
                c.args(rest).arg(OTTER);
                c
            }
            None => Command::new(OTTER),
        };
        let mut child = command
            .args(args)
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("otter starts");
        let stdout: ChildStdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let v: Value = serde_json::from_str(&line)
                    .unwrap_or_else(|e| panic!("not JSON: {line:?}: {e}"));
                if tx.send(v).is_err() {
                    break;
                }
            }
        });
        Self { child, lines }
    }

    /// Waits up to `within` for a line whose `event` is `name` and that `matches`.
    pub fn expect_within(
        &self,
        within: Duration,
        name: &str,
        matches: impl Fn(&Value) -> bool,
    ) -> Option<Value> {
        let deadline = std::time::Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(v) if v["event"] == name && matches(&v) => return Some(v),
                Ok(_) => continue,
                Err(_) => return None,
            }
        }
    }

    /// Kills the process at once (SIGKILL: no goodbye to anyone).
    pub fn kill_hard(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An `otter serve` process with one session in it, and what a `join` needs to enter that session.
pub struct Served {
    pub server: Running,
    pub url: String,
    pub key: String,
    pub secret: String,
    pub session: String,
}

impl Served {
    /// Runs `otter serve SERVE_ARGS…` (a development project) and creates a session on it.
    pub fn start(serve_args: &[&str]) -> Self {
        let mut args = vec!["serve"];
        args.extend_from_slice(serve_args);
        let server = Running::start(&args);
        let ready = server.expect("listening", |_| true);
        let field = |k: &str| {
            ready[k]
                .as_str()
                .unwrap_or_else(|| panic!("no {k}: {ready}"))
                .to_owned()
        };
        let (url, key, secret) = (field("url"), field("api_key"), field("api_secret"));
        let session = output(&[
            "session",
            "create",
            "--url",
            &url,
            "--api-key",
            &key,
            "--api-secret",
            &secret,
        ]);
        Self {
            server,
            url,
            key,
            secret,
            session,
        }
    }

    /// A fresh publisher token for the session.
    pub fn token(&self) -> String {
        output(&[
            "token",
            "--api-key",
            &self.key,
            "--api-secret",
            &self.secret,
            "--session",
            &self.session,
        ])
    }

    /// `join` with a fresh token into the session, then `extra`.
    pub fn join_args(&self, extra: &[&str]) -> Vec<String> {
        let token = self.token();
        let mut args = vec![
            "join",
            "--url",
            &self.url,
            "--api-key",
            &self.key,
            "--session",
            &self.session,
            "--token",
            &token,
        ];
        args.extend_from_slice(extra);
        args.into_iter().map(str::to_owned).collect()
    }

    /// Runs a `join` (see [`Served::join_args`]).
    pub fn join(&self, extra: &[&str]) -> Running {
        let args = self.join_args(extra);
        Running::start(&args.iter().map(String::as_str).collect::<Vec<_>>())
    }
}
