//! The requests a joined client makes, each answered by one [`ServerMessage::Reply`].
//!
//! [`Request`] is the one vocabulary: the client engine builds it, passes it through in an
//! [`Envelope`] with its `id`, and the server matches on it once. On the wire an envelope is flat, as
//! every other message: `{"type":"signal","id":7,"to":null,"signal_type":"chat","data":"hi"}`.
//!
//! [`ServerMessage::Reply`]: crate::ServerMessage::Reply

use serde::{Deserialize, Serialize};

use crate::ids::{ConnectionId, StreamId, SubscriptionId};
use crate::objects::VideoType;

/// A request to the session, without its id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Request {
    /// Send a signal to everyone (`to` = None) or to one connection.
    Signal {
        /// Target connection; None = everyone, the sender included.
        to: Option<ConnectionId>,
        /// The signal's type (may be empty).
        signal_type: String,
        /// The signal's data.
        data: String,
    },
    /// Publish a stream: the server answers the offer and announces the stream once media can flow.
    Publish {
        /// The stream's name.
        name: String,
        /// Whether audio is published.
        has_audio: bool,
        /// Whether video is published.
        has_video: bool,
        /// What the video shows.
        video_type: VideoType,
        /// Video width and height.
        video_dimensions: (u32, u32),
        /// The publisher's SDP offer (send-only audio and/or video) for the server's media router;
        /// None announces the stream without media.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sdp_offer: Option<String>,
    },
    /// Receive a stream's media: the server answers the client's offer (receive-only audio and video).
    Subscribe {
        /// Chosen by the client, unique among its subscriptions.
        subscription_id: SubscriptionId,
        /// The stream to receive.
        stream_id: StreamId,
        /// The subscriber's SDP offer.
        sdp_offer: String,
        /// Forward the stream's audio.
        audio: bool,
        /// Forward the stream's video.
        video: bool,
        /// The size the subscriber's view shows: of a simulcast stream, the smallest layer at least
        /// that tall is forwarded. None: the best the link allows.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        preferred_resolution: Option<(u32, u32)>,
    },
    /// Turn a subscription's audio or video forwarding on or off, or change its preferred size.
    UpdateSubscription {
        /// The subscription.
        subscription_id: SubscriptionId,
        /// New audio setting, if changing.
        audio: Option<bool>,
        /// New video setting, if changing.
        video: Option<bool>,
        /// New preferred size, if changing; `(0, 0)` lifts the preference.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        preferred_resolution: Option<(u32, u32)>,
    },
    /// Stop receiving a stream.
    Unsubscribe {
        /// The subscription.
        subscription_id: SubscriptionId,
    },
    /// Change a published stream's audio/video flags or dimensions.
    UpdateStream {
        /// The stream to change; must be this connection's.
        stream_id: StreamId,
        /// New `has_audio`, if changing.
        has_audio: Option<bool>,
        /// New `has_video`, if changing.
        has_video: Option<bool>,
        /// New dimensions, if changing.
        video_dimensions: Option<(u32, u32)>,
    },
    /// End a published stream.
    Unpublish {
        /// The stream to end; this connection's own, or any for a moderator.
        stream_id: StreamId,
    },
    /// Moderator: remove a connection from the session.
    ForceDisconnect {
        /// The connection to remove.
        connection_id: ConnectionId,
    },
    /// Moderator: mute one stream, or every stream but the excluded ones, or lift a mute-all.
    ForceMute {
        /// One stream; None = all streams.
        stream_id: Option<StreamId>,
        /// With `stream_id` None: streams left alone.
        #[serde(default)]
        excluded_stream_ids: Vec<StreamId>,
        /// false = lift a mute-all.
        active: bool,
    },
}

/// A request and the id its reply will echo.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    /// Chosen by the client, echoed in the reply.
    pub id: u64,
    /// What is asked.
    #[serde(flatten)]
    pub request: Request,
}

impl Request {
    /// The wire name of the request (its `"type"`), for logs and metrics.
    pub fn name(&self) -> &'static str {
        match self {
            Request::Signal { .. } => "signal",
            Request::Publish { .. } => "publish",
            Request::Subscribe { .. } => "subscribe",
            Request::UpdateSubscription { .. } => "update_subscription",
            Request::Unsubscribe { .. } => "unsubscribe",
            Request::UpdateStream { .. } => "update_stream",
            Request::Unpublish { .. } => "unpublish",
            Request::ForceDisconnect { .. } => "force_disconnect",
            Request::ForceMute { .. } => "force_mute",
        }
    }
}
