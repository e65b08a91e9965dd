//! Undoing a publish or subscribe that failed part way (API.md: nothing is left behind): first what the
//! server made for it (the stream announced, the subscription), then the peer connection, which
//! webrtc-rs frees only once it is closed.

use crate::rtc::peer::Peer;
use crate::session::Session;
use crate::session_core::Request;

/// Sends `made`'s undoing request (`Unpublish`, `Unsubscribe`) when the server made something, then
/// closes `peer`. Best effort: a session that went away has already dropped what the server made.
pub(crate) async fn undo_start(session: &Session, peer: &Peer, made: Option<Request>) {
    if let Some(request) = made {
        let _ = session.send_request(request).await;
    }
    peer.close().await;
}
