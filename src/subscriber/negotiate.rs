//! A subscriber's negotiation: receive-only transceivers, the offer, the server's subscription and
//! answer, ICE/DTLS. On failure it says whether the server had made the subscription, so the caller
//! undoes exactly what exists.

use std::time::Instant;

use otter_protocol::{ErrorCode, OtError};
use rtc::rtp_transceiver::rtp_sender::RtpCodecKind;
use rtc::rtp_transceiver::{RTCRtpTransceiverDirection, RTCRtpTransceiverInit};

use crate::rtc::peer::{Peer, MEDIA_TIMEOUT};
use crate::session::Session;
use crate::session_core::Request;

/// Negotiates `peer` with the server; `subscribe` makes the request from the offer. The error comes
/// with whether the server made the subscription.
pub(super) async fn negotiate(
    session: &Session,
    peer: &mut Peer,
    subscribe: impl FnOnce(String) -> Request,
    t0: Instant,
) -> Result<(), (OtError, bool)> {
    let early = |e: OtError| (e, false);
    let fail = |e: String| ErrorCode::UnableToSubscribe.with_message(e);
    for kind in [RtpCodecKind::Audio, RtpCodecKind::Video] {
        let init = RTCRtpTransceiverInit {
            direction: RTCRtpTransceiverDirection::Recvonly,
            ..Default::default()
        };
        peer.pc
            .add_transceiver_from_kind(kind, Some(init))
            .await
            .map_err(|e| early(fail(e.to_string())))?;
    }
    let offer = peer
        .offer(MEDIA_TIMEOUT)
        .await
        .map_err(|e| early(ErrorCode::SubscriberIceFailed.with_message(e)))?;
    tracing::debug!(elapsed = ?t0.elapsed(), "subscriber offer ready");
    let reply = session
        .send_request(subscribe(offer))
        .await
        .map_err(early)?;
    let made = |e: OtError| (e, true);
    let answer = reply.sdp_answer.ok_or_else(|| {
        made(ErrorCode::UnexpectedServerResponse.with_message("the server sent no SDP answer"))
    })?;
    tracing::debug!(elapsed = ?t0.elapsed(), "subscriber answer received");
    peer.accept_answer(answer)
        .await
        .map_err(|e| made(ErrorCode::SubscriberIceFailed.with_message(e)))?;
    peer.connected(MEDIA_TIMEOUT)
        .await
        .map_err(|e| made(ErrorCode::SubscriberIceFailed.with_message(e)))
}
