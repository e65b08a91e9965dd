//! The signalling hub: a registry of session actors, started on the first join and gone with the last
//! connection.
//!
//! - `actor.rs`: the sans-IO `SessionActor` (members, streams, links, reconnect
//!   windows); `requests.rs` and `media.rs` are the rest of its `impl`, `authorize.rs` its role table.
//! - `driver.rs`: the task around an actor (queue, clock, SFU line); `sfu_work.rs`: what the actor asks
//!   of the SFU, as data; `sfu_queue.rs`: the ordered line it runs on.
//! - `commands.rs`: what sockets and the REST API send an actor; `media_keys.rs`: the SFU's names.
//! - `tests.rs`: the actor in simulated time.

mod actor;
mod authorize;
pub mod commands;
mod driver;
mod media;
mod media_keys;
mod requests;
mod sfu_queue;
mod sfu_work;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use otter_protocol::SessionId;
use tokio::sync::{mpsc, oneshot};
use tracing::Instrument;

pub use commands::{
    Command, Epoch, Joined, MediaGone, MediaOutcome, Outbox, RestCommand, Resumed, OUTBOX_CAPACITY,
};
pub use media_keys::forward_sfu_events;

use crate::config::Limits;
use crate::metrics::Metrics;
use crate::sfu::Sfu;

/// Commands a session actor queues before senders wait.
const ACTOR_QUEUE: usize = 1024;

/// The registry of live sessions. Cheap to clone.
#[derive(Clone)]
pub struct Hub {
    inner: Arc<HubInner>,
}

pub(crate) struct HubInner {
    /// Held only to look up, insert or remove an entry; never across an await.
    sessions: Mutex<HashMap<String, mpsc::Sender<Command>>>,
    limits: Limits,
    pub(crate) metrics: Arc<Metrics>,
    /// The media router every session's streams go through.
    pub(crate) sfu: Sfu,
}

impl HubInner {
    /// Removes the actor's entry if nothing is queued for it; a command queued meanwhile keeps it alive.
    fn unregister_if_idle(&self, id: &SessionId, rx: &mpsc::Receiver<Command>) -> bool {
        let mut sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        if !rx.is_empty() {
            return false;
        }
        sessions.remove(id.as_str());
        self.metrics.sessions.dec();
        true
    }
}

impl Hub {
    /// An empty hub.
    pub fn new(limits: Limits, metrics: Arc<Metrics>, sfu: Sfu) -> Self {
        Self {
            inner: Arc::new(HubInner {
                sessions: Mutex::new(HashMap::new()),
                limits,
                metrics,
                sfu,
            }),
        }
    }

    /// The number of live sessions.
    pub fn session_count(&self) -> usize {
        self.inner
            .sessions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .len()
    }

    fn sender(&self, id: &SessionId, start: bool) -> Option<mpsc::Sender<Command>> {
        let mut sessions = self
            .inner
            .sessions
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(tx) = sessions.get(id.as_str()) {
            if !tx.is_closed() {
                return Some(tx.clone());
            }
        }
        if !start {
            return None;
        }
        let (tx, rx) = mpsc::channel(ACTOR_QUEUE);
        sessions.insert(id.as_str().to_owned(), tx.clone());
        self.inner.metrics.sessions.inc();
        let actor = actor::SessionActor::new(
            id.clone(),
            self.inner.limits.clone(),
            self.inner.metrics.clone(),
            std::time::Instant::now(),
        );
        let span = tracing::info_span!("session", id = %id);
        let run = driver::run(actor, rx, self.inner.clone(), tx.downgrade());
        tokio::spawn(run.instrument(span));
        Some(tx)
    }

    /// Sends a command to a session, starting its actor when `start` (joins). Returns false when the
    /// session has no actor and `start` is false.
    pub async fn send(&self, id: &SessionId, mut command: Command, start: bool) -> bool {
        // An actor may end between the lookup and the send; then its entry is stale and a retry starts a
        // new one.
        for _ in 0..3 {
            let Some(tx) = self.sender(id, start) else {
                return false;
            };
            match tx.send(command).await {
                Ok(()) => return true,
                Err(mpsc::error::SendError(c)) => command = c,
            }
        }
        false
    }

    /// Sends a command built around a reply channel and waits for the answer; None when the session has
    /// no actor (and `start` is false) or the actor went away.
    pub async fn ask<T>(
        &self,
        id: &SessionId,
        start: bool,
        make: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> Option<T> {
        let (reply, answer) = oneshot::channel();
        if !self.send(id, make(reply), start).await {
            return None;
        }
        answer.await.ok()
    }
}
