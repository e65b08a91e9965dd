//! What a session actor asks of the SFU, as data: the actor decides, the driver (`driver.rs`) carries
//! it out in order on the session's SFU queue (`sfu_queue.rs`). A negotiation's outcome comes back to
//! the actor as [`Command::MediaReady`]; if the actor is gone by then, what was set up is undone.

use otter_protocol::{ConnectionId, OtError, Stream, SubscriptionId};
use tokio::sync::mpsc;

use super::commands::{Command, MediaOutcome};
use crate::sfu::{Sfu, SfuError};

/// Who asked for a negotiation: where its outcome goes.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Asker {
    pub connection_id: ConnectionId,
    pub request: u64,
}

/// One piece of SFU work. Keys are the SFU's names (`media_keys.rs`).
#[derive(Debug, Clone, PartialEq)]
pub(super) enum SfuWork {
    /// Answer a publisher's offer; `stream` is announced once it is answered.
    Publish {
        key: String,
        offer: String,
        stream: Stream,
        asker: Asker,
    },
    /// Answer a subscriber's offer.
    Subscribe {
        key: String,
        stream_key: String,
        offer: String,
        subscription_id: SubscriptionId,
        audio: bool,
        video: bool,
        asker: Asker,
    },
    /// Switch what a subscription forwards.
    SetForwarding {
        key: String,
        audio: bool,
        video: bool,
    },
    /// Tell a subscription the size its view shows (simulcast layer choice).
    SetPreferredSize {
        key: String,
        size: Option<(u32, u32)>,
    },
    /// Close a subscription's peer.
    Unsubscribe { key: String },
    /// Close a stream's publisher peer (and its subscribers').
    Unpublish { key: String },
}

impl SfuWork {
    /// Carries the work out; a negotiation reports back on `back`, or is undone if nobody listens.
    pub(super) async fn run(self, sfu: Sfu, back: mpsc::WeakSender<Command>) {
        match self {
            SfuWork::Publish {
                key,
                offer,
                stream,
                asker,
            } => {
                let answer = sfu.publish(&key, &offer).await.map_err(|e| error(e, true));
                let made = answer.is_ok();
                let outcome = MediaOutcome::Published { stream, answer };
                if !report(&back, asker, outcome).await && made {
                    sfu.unpublish(&key).await;
                }
            }
            SfuWork::Subscribe {
                key,
                stream_key,
                offer,
                subscription_id,
                audio,
                video,
                asker,
            } => {
                let answer = sfu
                    .subscribe(&key, &stream_key, &offer, audio, video)
                    .await
                    .map_err(|e| error(e, false));
                let made = answer.is_ok();
                let outcome = MediaOutcome::Subscribed {
                    subscription_id,
                    audio,
                    video,
                    answer,
                };
                if !report(&back, asker, outcome).await && made {
                    sfu.unsubscribe(&key).await;
                }
            }
            SfuWork::SetForwarding { key, audio, video } => {
                // A subscription the SFU already dropped has nothing to switch; the actor hears of it
                // through the SFU's own event.
                let _ = sfu.set_forwarding(&key, audio, video).await;
            }
            SfuWork::SetPreferredSize { key, size } => {
                let _ = sfu.set_preferred_size(&key, size).await;
            }
            SfuWork::Unsubscribe { key } => sfu.unsubscribe(&key).await,
            SfuWork::Unpublish { key } => sfu.unpublish(&key).await,
        }
    }
}

/// Hands an outcome back to the actor; false when the actor is gone.
async fn report(back: &mpsc::WeakSender<Command>, asker: Asker, outcome: MediaOutcome) -> bool {
    let Some(tx) = back.upgrade() else {
        return false;
    };
    let command = Command::MediaReady {
        connection_id: asker.connection_id,
        request: asker.request,
        outcome,
    };
    tx.send(command).await.is_ok()
}

/// The client-facing error for an SFU refusal.
fn error(e: SfuError, publishing: bool) -> OtError {
    use otter_protocol::ErrorCode;
    let code = match (&e, publishing) {
        (SfuError::UnknownStream, _) => ErrorCode::NotFound,
        (SfuError::BadSdp(_) | SfuError::Unsupported(_), true) => ErrorCode::UnableToPublish,
        (SfuError::BadSdp(_) | SfuError::Unsupported(_), false) => ErrorCode::UnableToSubscribe,
        (_, true) => ErrorCode::PublisherIceFailed,
        (_, false) => ErrorCode::SubscriberIceFailed,
    };
    code.with_message(e.to_string())
}
