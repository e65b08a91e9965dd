//! Counters for the Prometheus `/metrics` endpoint. Lock-free: hot paths only touch atomics.

use std::fmt::Write;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use otter_protocol::ErrorCode;

/// A value that goes up and down.
#[derive(Default)]
pub struct Gauge(AtomicI64);

impl Gauge {
    /// Adds one.
    pub fn inc(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
    /// Takes one away.
    pub fn dec(&self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
    /// The current value.
    pub fn get(&self) -> i64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A value that only goes up.
#[derive(Default)]
pub struct Counter(AtomicU64);

impl Counter {
    /// Adds one.
    pub fn inc(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
    /// The current value.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// The server's metrics.
pub struct Metrics {
    /// Live sessions (actors).
    pub sessions: Gauge,
    /// Connections, live or waiting for a resume.
    pub connections: Gauge,
    /// Signals delivered.
    pub signals: Counter,
    /// Errors answered, by position in [`ErrorCode::ALL`].
    errors: Vec<Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self {
            sessions: Gauge::default(),
            connections: Gauge::default(),
            signals: Counter::default(),
            errors: ErrorCode::ALL.iter().map(|_| Counter::default()).collect(),
        }
    }
}

impl Metrics {
    /// Counts an error answered with `code`.
    pub fn error(&self, code: u32) {
        if let Some(i) = ErrorCode::ALL.iter().position(|c| c.code() == code) {
            self.errors[i].inc();
        }
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP otter_sessions Live sessions.\n# TYPE otter_sessions gauge"
        );
        let _ = writeln!(out, "otter_sessions {}", self.sessions.get());
        let _ = writeln!(
            out,
            "# HELP otter_connections Connections, live or waiting for a resume.\n# TYPE otter_connections gauge"
        );
        let _ = writeln!(out, "otter_connections {}", self.connections.get());
        let _ = writeln!(
            out,
            "# HELP otter_signals_total Signals delivered.\n# TYPE otter_signals_total counter"
        );
        let _ = writeln!(out, "otter_signals_total {}", self.signals.get());
        let _ = writeln!(out, "# HELP otter_errors_total Errors answered, by code.\n# TYPE otter_errors_total counter");
        let mut seen = Vec::new();
        for code in ErrorCode::ALL {
            // Codes shared by several names are summed under the number.
            if seen.contains(&code.code()) {
                continue;
            }
            seen.push(code.code());
            let total: u64 = ErrorCode::ALL
                .iter()
                .enumerate()
                .filter(|(_, c)| c.code() == code.code())
                .map(|(j, _)| self.errors[j].get())
                .sum();
            let _ = writeln!(
                out,
                "otter_errors_total{{code=\"{}\"}} {total}",
                code.code()
            );
        }
        out
    }
}
