//! A session's one ordered line to the SFU. The actor never waits for the SFU, so its SFU work runs in a
//! task; one task per session, taking jobs in the order the actor made them, keeps a subscribe before
//! its unsubscribe and the last of many forwarding toggles last (separate tasks per job could run in
//! any order). The queue is unbounded because the actor must not wait either; what fills it is bounded
//! by every connection's request rate limit.

use std::future::Future;
use std::pin::Pin;

use tokio::sync::mpsc;

/// One piece of SFU work.
pub(super) type Job = Pin<Box<dyn Future<Output = ()> + Send>>;

/// The sending side, owned by the session actor; dropping it lets the task finish what is queued.
pub(super) struct SfuQueue {
    jobs: mpsc::UnboundedSender<Job>,
}

impl SfuQueue {
    /// Starts the session's SFU task.
    pub(super) fn start() -> Self {
        let (jobs, mut rx) = mpsc::unbounded_channel::<Job>();
        tokio::spawn(async move {
            while let Some(job) = rx.recv().await {
                job.await;
            }
        });
        Self { jobs }
    }

    /// Queues `job` behind everything queued before it.
    pub(super) fn push(&self, job: impl Future<Output = ()> + Send + 'static) {
        // The task outlives the queue's sender, so the send only fails if the runtime is shutting down.
        let _ = self.jobs.send(Box::pin(job));
    }
}
