//! The I/O around a [`SessionActor`]: its command queue, the clock for reconnect windows, and the
//! session's ordered line to the SFU. The actor decides; this loop only delivers.

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::mpsc;
use tracing::info;

use super::actor::SessionActor;
use super::commands::Command;
use super::sfu_queue::SfuQueue;
use super::HubInner;

/// Runs the actor until the session is empty, then unregisters it.
pub(super) async fn run(
    mut actor: SessionActor,
    mut rx: mpsc::Receiver<Command>,
    hub: Arc<HubInner>,
    me: mpsc::WeakSender<Command>,
) {
    info!(session = %actor.session_id, "session started");
    let sfu_jobs = SfuQueue::start();
    loop {
        let deadline = actor.next_deadline();
        tokio::select! {
            command = rx.recv() => match command {
                Some(c) => actor.handle(c, Instant::now()),
                None => break,
            },
            _ = sleep_until(deadline) => actor.on_timeout(Instant::now()),
        }
        for work in actor.sfu_work.drain(..) {
            sfu_jobs.push(work.run(hub.sfu.clone(), me.clone()));
        }
        if actor.is_empty() && hub.unregister_if_idle(&actor.session_id, &rx) {
            break;
        }
    }
    info!(session = %actor.session_id, "session ended");
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d.into()).await,
        None => std::future::pending().await,
    }
}
