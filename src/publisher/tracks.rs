//! The publisher's outgoing WebRTC tracks: one per kind, with a fixed SSRC and codec.

use std::sync::Arc;
use std::time::Instant;

use otter_protocol::{ErrorCode, OtError};
use rtc::media_stream::MediaStreamTrack;
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodec, RTCRtpCodingParameters, RTCRtpEncodingParameters, RtpCodecKind,
};
use webrtc::media_stream::track_local::static_sample::TrackLocalStaticSample;
use webrtc::media_stream::track_local::TrackLocal;

use crate::rtc::peer::Peer;

/// The codec of a track: MIME type, clock rate, channels and `a=fmtp` line.
pub(super) struct TrackCodec<'a> {
    pub mime: &'a str,
    pub clock_rate: u32,
    pub channels: u16,
    pub fmtp: &'a str,
}

/// Creates a sample track and adds it to `peer`.
pub(super) async fn add_track(
    peer: &mut Peer,
    kind: RtpCodecKind,
    id: &str,
    ssrc: u32,
    codec: TrackCodec<'_>,
) -> Result<Arc<TrackLocalStaticSample>, OtError> {
    let t = track(kind, id, ssrc, codec)?;
    peer.pc
        .add_track(t.clone() as Arc<dyn TrackLocal>)
        .await
        .map_err(|e| ErrorCode::UnableToPublish.with_message(e.to_string()))?;
    Ok(t)
}

fn track(
    kind: RtpCodecKind,
    id: &str,
    ssrc: u32,
    codec: TrackCodec<'_>,
) -> Result<Arc<TrackLocalStaticSample>, OtError> {
    let codec = RTCRtpCodec {
        mime_type: codec.mime.into(),
        clock_rate: codec.clock_rate,
        channels: codec.channels,
        sdp_fmtp_line: codec.fmtp.into(),
        ..Default::default()
    };
    let encoding = RTCRtpEncodingParameters {
        rtp_coding_parameters: RTCRtpCodingParameters {
            ssrc: Some(ssrc),
            ..Default::default()
        },
        codec,
        ..Default::default()
    };
    let track = MediaStreamTrack::new("otter".into(), id.into(), id.into(), kind, vec![encoding]);
    TrackLocalStaticSample::new(Instant::now(), track)
        .map(Arc::new)
        .map_err(|e| {
            ErrorCode::UnableToPublish.with_message(format!("cannot create the {id} track: {e}"))
        })
}
