//! Keeps the server told the size the subscriber's view shows, so a simulcast publisher's layer that
//! fits it is forwarded (`preferred_resolution`). The view sets it as it is resized, often many times a
//! second while a window is dragged: the server hears the size once it has held for [`SETTLE`].

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use otter_protocol::{Request, SubscriptionId};

use super::Wanted;
use crate::session::Session;

/// How long a size must hold before it is sent.
const SETTLE: Duration = Duration::from_millis(200);
/// How often the wanted size is looked at.
const TICK: Duration = Duration::from_millis(50);

/// Sends each settled change of `wanted.resolution` (0 = no preference, sent as `(0, 0)`); `sent` is
/// what the server already has (the value given at subscribe time).
pub(super) async fn sync(
    session: Session,
    subscription_id: SubscriptionId,
    wanted: Arc<Wanted>,
    mut sent: u64,
) {
    let mut tick = tokio::time::interval(TICK);
    let (mut seen, mut held) = (sent, Duration::ZERO);
    loop {
        tick.tick().await;
        let now = wanted.resolution.load(Ordering::Relaxed);
        if now != seen {
            (seen, held) = (now, Duration::ZERO);
            continue;
        }
        held += TICK;
        if now == sent || held < SETTLE {
            continue;
        }
        let request = Request::UpdateSubscription {
            subscription_id: subscription_id.clone(),
            audio: None,
            video: None,
            preferred_resolution: Some(((now >> 32) as u32, now as u32)),
        };
        match session.send_request(request).await {
            Ok(_) => sent = now,
            // Not connected right now: tried again on the next tick.
            Err(e) => tracing::debug!(error = %e, "the server did not take the view size"),
        }
    }
}
