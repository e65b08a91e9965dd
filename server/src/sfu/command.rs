//! Requests from the [`Sfu`](super::Sfu) handle to the media task, each with a reply channel.

use tokio::sync::oneshot;

use super::SfuError;

/// One request to the media task.
#[derive(Debug)]
pub(crate) enum Command {
    Publish {
        stream_id: String,
        offer: String,
        reply: oneshot::Sender<Result<String, SfuError>>,
    },
    Subscribe {
        subscription_id: String,
        stream_id: String,
        offer: String,
        audio: bool,
        video: bool,
        reply: oneshot::Sender<Result<String, SfuError>>,
    },
    SetForwarding {
        subscription_id: String,
        audio: bool,
        video: bool,
        reply: oneshot::Sender<Result<(), SfuError>>,
    },
    SetPreferredSize {
        subscription_id: String,
        size: Option<(u32, u32)>,
        reply: oneshot::Sender<Result<(), SfuError>>,
    },
    Unsubscribe {
        subscription_id: String,
        reply: oneshot::Sender<()>,
    },
    Unpublish {
        stream_id: String,
        reply: oneshot::Sender<()>,
    },
    Shutdown {
        reply: oneshot::Sender<()>,
    },
}
