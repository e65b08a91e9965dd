//! Publishing's second phase: tracks on the peer connection, the offer, the server's stream and answer,
//! and ICE/DTLS. On failure the caller undoes it (see `Publisher::start`); the error says whether the
//! stream was already announced.

use std::sync::Arc;

use otter_media::VideoCodec;
use otter_protocol::{ErrorCode, OtError, Stream, StreamId, VideoType};
use rtc::peer_connection::configuration::media_engine::{
    MIME_TYPE_H264, MIME_TYPE_OPUS, MIME_TYPE_VP8,
};
use rtc::rtp_transceiver::rtp_sender::RtpCodecKind;
use webrtc::media_stream::track_local::static_sample::TrackLocalStaticSample;

use super::layers::layer_count;
use super::tracks::{add_track, TrackCodec};
use super::{PublisherProperties, VideoSourceChoice};
use crate::rtc::peer::{Peer, H264_FMTP, MEDIA_TIMEOUT};
use crate::session::Session;
use crate::session_core::Request;

/// A negotiated publication: the announced stream and the local tracks media goes out on.
pub(super) struct Negotiated {
    pub stream: Stream,
    /// One track and SSRC per simulcast layer, best first (empty without video).
    pub video: Vec<(Arc<TrackLocalStaticSample>, u32)>,
    pub audio: Option<(Arc<TrackLocalStaticSample>, u32)>,
}

/// What failed, and the stream to unpublish if the server had already announced it.
pub(super) type Failed = (OtError, Option<StreamId>);

/// Negotiates a publication of the tracks that have a source.
pub(super) async fn negotiate(
    session: &Session,
    peer: &mut Peer,
    props: &PublisherProperties,
    (has_video, has_audio): (bool, bool),
    (width, height): (u32, u32),
) -> Result<Negotiated, Failed> {
    let early = |e: OtError| (e, None);
    let mut video = Vec::new();
    if has_video {
        let codec = props.preferred_video_codecs.first();
        let (mime, fmtp) = match codec {
            VideoCodec::Vp8 => (MIME_TYPE_VP8, ""),
            VideoCodec::H264 => (MIME_TYPE_H264, H264_FMTP),
        };
        // Simulcast layers are m-lines of their own, best first: the SFU reads them in that order.
        for layer in 0..layer_count(codec, props.simulcast, (width, height)) {
            let codec = TrackCodec {
                mime,
                clock_rate: 90_000,
                channels: 0,
                fmtp,
            };
            let id = match layer {
                0 => "video".to_owned(),
                l => format!("video-{l}"),
            };
            let ssrc = rand::random();
            let track = add_track(peer, RtpCodecKind::Video, &id, ssrc, codec).await;
            video.push((track.map_err(early)?, ssrc));
        }
    }
    let audio = match has_audio {
        true => {
            let codec = TrackCodec {
                mime: MIME_TYPE_OPUS,
                clock_rate: 48_000,
                channels: 2,
                fmtp: "minptime=10;useinbandfec=1",
            };
            let ssrc = rand::random();
            let track = add_track(peer, RtpCodecKind::Audio, "audio", ssrc, codec).await;
            Some((track.map_err(early)?, ssrc))
        }
        false => None,
    };
    let offer = peer
        .offer(MEDIA_TIMEOUT)
        .await
        .map_err(|e| early(ErrorCode::PublisherIceFailed.with_message(e)))?;
    let reply = session
        .send_request(Request::Publish {
            name: props.name.clone(),
            has_audio: has_audio && props.publish_audio,
            has_video: has_video && props.publish_video,
            video_type: match props.video_source {
                VideoSourceChoice::Screen => VideoType::Screen,
                VideoSourceChoice::Custom(_) => VideoType::Custom,
                _ => VideoType::Camera,
            },
            video_dimensions: (width, height),
            sdp_offer: Some(offer),
        })
        .await
        .map_err(early)?;
    let stream = reply.stream.ok_or_else(|| {
        early(ErrorCode::UnexpectedServerResponse.with_message("the server created no stream"))
    })?;
    let announced = |e: OtError| (e, Some(stream.stream_id.clone()));
    let answer = reply.sdp_answer.ok_or_else(|| {
        announced(ErrorCode::UnexpectedServerResponse.with_message("the server sent no SDP answer"))
    })?;
    let connected = async {
        peer.accept_answer(answer).await?;
        peer.connected(MEDIA_TIMEOUT).await
    };
    connected
        .await
        .map_err(|e| announced(ErrorCode::PublisherIceFailed.with_message(e)))?;
    Ok(Negotiated {
        stream,
        video,
        audio,
    })
}
