//! The signalling messages: JSON text frames, internally tagged by `"type"`.
//!
//! A client opens the WebSocket and sends [`ClientMessage::Connect`] (or [`ClientMessage::Resume`] after a
//! dropped link). The server answers [`ServerMessage::Connected`] / [`ServerMessage::Resumed`] or
//! [`ServerMessage::Error`] and closes. Requests that need an answer carry an `id`, echoed in
//! [`ServerMessage::Reply`]. Both sides send [`ClientMessage::Ping`] / [`ServerMessage::Ping`] and answer
//! with a pong; silence longer than the heartbeat timeout means the link is gone.

use serde::{Deserialize, Serialize};

use crate::error::OtError;
use crate::ice_server::IceServer;
use crate::ids::{ConnectionId, SessionId, StreamId};
use crate::objects::{Connection, DisconnectReason, Role, Stream, StreamDestroyedReason};
use crate::request::{Envelope, Request};
use crate::stream_change::StreamChange;
use crate::MAX_FRAME_BYTES;

/// A client → server message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ClientMessage {
    /// Join a session. Must be the first message.
    Connect {
        /// [`crate::PROTOCOL_VERSION`].
        version: u32,
        /// The project's API key (application ID).
        application_id: String,
        /// The session to join.
        session_id: SessionId,
        /// An OpenTok JWT or `T1==` token for that session.
        token: String,
    },
    /// Take back a connection whose link dropped, within the reconnect window. Must be the first message.
    Resume {
        /// [`crate::PROTOCOL_VERSION`].
        version: u32,
        /// The session of the connection.
        session_id: SessionId,
        /// The connection to take back.
        connection_id: ConnectionId,
        /// The secret the server gave in [`ServerMessage::Connected`]; proves this is the same client.
        resume_key: String,
    },
    /// Heartbeat; the server answers with [`ServerMessage::Pong`].
    Ping {
        /// Opaque value echoed back.
        ts: u64,
    },
    /// Answer to [`ServerMessage::Ping`].
    Pong {
        /// The ping's value.
        ts: u64,
    },
    /// Leave the session on purpose. The server closes the socket after it.
    Leave,
    /// A request that expects a [`ServerMessage::Reply`]; flat on the wire (see [`crate::request`]).
    #[serde(untagged)]
    Request(Envelope),
}

/// A server → client message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ServerMessage {
    /// The client joined.
    Connected {
        /// [`crate::PROTOCOL_VERSION`] of the server.
        version: u32,
        /// The session joined.
        session_id: SessionId,
        /// This client's connection.
        connection: Connection,
        /// Its role, from the token.
        role: Role,
        /// The other connections present.
        connections: Vec<Connection>,
        /// The streams present.
        streams: Vec<Stream>,
        /// The secret to present in [`ClientMessage::Resume`].
        resume_key: String,
        /// How often each side pings.
        heartbeat_interval_ms: u64,
        /// Silence after which the link counts as dropped.
        heartbeat_timeout_ms: u64,
        /// How long the server keeps a dropped connection for a resume.
        reconnect_window_ms: u64,
        /// STUN/TURN servers for media (TURN credentials may expire: a resume brings fresh ones).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        ice_servers: Vec<IceServer>,
        /// More of the roster follows in [`ServerMessage::Roster`] frames (a big session's roster does
        /// not fit one frame); the client acts on the snapshot once the last part is in.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        more: bool,
    },
    /// A dropped connection was taken back. Carries the present state so the client can catch up on
    /// what changed while it was away.
    Resumed {
        /// The other connections present now.
        connections: Vec<Connection>,
        /// The streams present now.
        streams: Vec<Stream>,
        /// STUN/TURN servers for media, with fresh credentials.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        ice_servers: Vec<IceServer>,
        /// More of the roster follows in [`ServerMessage::Roster`] frames.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        more: bool,
    },
    /// The next part of a [`ServerMessage::Connected`] or [`ServerMessage::Resumed`] snapshot
    /// (see [`crate::roster`]).
    Roster {
        /// More connections present.
        connections: Vec<Connection>,
        /// More streams present.
        streams: Vec<Stream>,
        /// Another part follows.
        more: bool,
    },
    /// Another client joined.
    ConnectionCreated {
        /// The new connection.
        connection: Connection,
    },
    /// Another client left.
    ConnectionDestroyed {
        /// The connection that left.
        connection: Connection,
        /// Why.
        reason: DisconnectReason,
    },
    /// A stream appeared.
    StreamCreated {
        /// The new stream.
        stream: Stream,
    },
    /// A stream ended.
    StreamDestroyed {
        /// The stream that ended.
        stream: Stream,
        /// Why.
        reason: StreamDestroyedReason,
    },
    /// A stream's `has_audio`, `has_video`, `video_dimensions` or `video_type` changed.
    StreamPropertyChanged {
        /// The stream after the change.
        stream: Stream,
        /// What changed; flat on the wire (`changed_property`, `old_value`, `new_value`).
        #[serde(flatten)]
        change: StreamChange,
    },
    /// A signal arrived.
    Signal {
        /// Its type.
        signal_type: String,
        /// Its data.
        data: String,
        /// The sender; None = sent through the REST API.
        from: Option<Connection>,
    },
    /// A moderator muted (or stopped muting) streams; `stream_id` names the one stream when not all.
    MuteForced {
        /// true = muted, false = mute-all lifted.
        active: bool,
        /// The stream muted, for a single-stream mute.
        stream_id: Option<StreamId>,
    },
    /// Which of this client's simulcast stream's video layers some subscriber receives (bit `l` =
    /// layer `l`, 0 the best; the lowest is always set): the publisher may pause the others. Sent on a
    /// change and every few seconds.
    LayersWanted {
        /// The stream (this client's).
        stream_id: StreamId,
        /// The layers wanted.
        layers: u8,
    },
    /// Answer to a request with an `id`.
    Reply {
        /// The request's `id`.
        id: u64,
        /// The stream created, for a [`Request::Publish`].
        #[serde(default, skip_serializing_if = "Option::is_none")]
        stream: Option<Stream>,
        /// The server's SDP answer, for a publish with an offer or a subscribe.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sdp_answer: Option<String>,
        /// None = done.
        error: Option<OtError>,
    },
    /// A failure not tied to a request (authentication, protocol); the server closes after it.
    Error {
        /// What failed.
        error: OtError,
    },
    /// The server ends this connection (force-disconnect, server shutdown). It closes after it.
    Disconnected {
        /// Why.
        reason: DisconnectReason,
    },
    /// Heartbeat; the client answers with [`ClientMessage::Pong`].
    Ping {
        /// Opaque value echoed back.
        ts: u64,
    },
    /// Answer to [`ClientMessage::Ping`].
    Pong {
        /// The ping's value.
        ts: u64,
    },
}

/// Why a frame could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The frame is over [`MAX_FRAME_BYTES`].
    #[error("frame of {0} bytes is over the {MAX_FRAME_BYTES}-byte limit")]
    TooLarge(usize),
    /// Not valid JSON, or not a known message.
    #[error("malformed message: {0}")]
    Malformed(String),
}

fn decode<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, DecodeError> {
    if text.len() > MAX_FRAME_BYTES {
        return Err(DecodeError::TooLarge(text.len()));
    }
    serde_json::from_str(text).map_err(|e| DecodeError::Malformed(e.to_string()))
}

fn encode<T: Serialize>(msg: &T) -> String {
    // Serializing these types cannot fail: every map key is a string and no Serialize impl errors.
    serde_json::to_string(msg).expect("protocol messages always serialize")
}

impl ClientMessage {
    /// The request's `id`, for the messages that expect a [`ServerMessage::Reply`].
    pub fn request_id(&self) -> Option<u64> {
        match self {
            ClientMessage::Request(envelope) => Some(envelope.id),
            ClientMessage::Connect { .. }
            | ClientMessage::Resume { .. }
            | ClientMessage::Ping { .. }
            | ClientMessage::Pong { .. }
            | ClientMessage::Leave => None,
        }
    }

    /// A request with its id.
    pub fn request(id: u64, request: Request) -> Self {
        ClientMessage::Request(Envelope { id, request })
    }

    /// Parses a frame, enforcing [`MAX_FRAME_BYTES`].
    pub fn decode(text: &str) -> Result<Self, DecodeError> {
        decode(text).map_err(|e| match e {
            // serde can only say "no variant matched" of the untagged request; parsing the frame as a
            // request again names what is wrong with it (a missing field, an unknown type).
            DecodeError::Malformed(_) => match serde_json::from_str::<Envelope>(text) {
                Err(precise) => DecodeError::Malformed(precise.to_string()),
                Ok(_) => e,
            },
            other => other,
        })
    }

    /// Serializes to a JSON text frame.
    pub fn encode(&self) -> String {
        encode(self)
    }
}

impl ServerMessage {
    /// Parses a frame, enforcing [`MAX_FRAME_BYTES`].
    pub fn decode(text: &str) -> Result<Self, DecodeError> {
        decode(text)
    }

    /// Serializes to a JSON text frame.
    pub fn encode(&self) -> String {
        encode(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;
    use proptest::prelude::*;

    #[test]
    fn round_trip_and_shape() {
        let msg = ClientMessage::request(
            7,
            Request::Signal {
                to: None,
                signal_type: "chat".into(),
                data: "hi".into(),
            },
        );
        let text = msg.encode();
        assert!(text.contains("\"type\":\"signal\""), "{text}");
        assert!(text.contains("\"id\":7"), "{text}");
        assert_eq!(ClientMessage::decode(&text).unwrap(), msg);

        let reply = ServerMessage::Reply {
            id: 7,
            stream: None,
            sdp_answer: None,
            error: Some(ErrorCode::NotFound.with_message("no such connection")),
        };
        assert_eq!(ServerMessage::decode(&reply.encode()).unwrap(), reply);
    }

    #[test]
    fn a_bad_request_is_refused_with_what_is_wrong() {
        let missing = r#"{"type":"signal","id":1,"to":null,"signal_type":"x"}"#;
        let Err(DecodeError::Malformed(why)) = ClientMessage::decode(missing) else {
            panic!("a signal without data decoded");
        };
        assert!(why.contains("missing field `data`"), "{why}");
        let unknown = r#"{"type":"explode","id":1}"#;
        let Err(DecodeError::Malformed(why)) = ClientMessage::decode(unknown) else {
            panic!("an unknown request decoded");
        };
        assert!(why.contains("unknown variant `explode`"), "{why}");
        let no_id = r#"{"type":"unpublish","stream_id":"s"}"#;
        let Err(DecodeError::Malformed(why)) = ClientMessage::decode(no_id) else {
            panic!("a request without id decoded");
        };
        assert!(why.contains("missing field `id`"), "{why}");
    }

    #[test]
    fn stream_changes_keep_the_opentok_shape_and_refuse_unknown_names() {
        let json = r#"{"type":"stream_property_changed","stream":{"stream_id":"s","connection":{"connection_id":"c","creation_time":1,"data":""},"name":"","has_audio":false,"has_video":true,"video_type":"camera","video_dimensions":[640,480],"creation_time":2},"changed_property":"has_audio","old_value":true,"new_value":false}"#;
        let ServerMessage::StreamPropertyChanged { change, .. } =
            ServerMessage::decode(json).expect("decodes")
        else {
            panic!("not a stream change");
        };
        assert_eq!(
            change,
            StreamChange::HasAudio {
                old_value: true,
                new_value: false
            }
        );
        let dims = json.replace(
            "\"has_audio\",\"old_value\":true,\"new_value\":false",
            "\"video_dimensions\",\"old_value\":[640,480],\"new_value\":[1280,720]",
        );
        let decoded = ServerMessage::decode(&dims).expect("decodes");
        assert_eq!(decoded.encode(), dims, "the JSON is not kept as it was");
        let unknown = json.replace("\"has_audio\"", "\"volume\"");
        assert!(
            ServerMessage::decode(&unknown).is_err(),
            "an unknown property decoded"
        );
    }

    #[test]
    fn rejects_oversized_and_malformed() {
        let big = format!(
            "{{\"type\":\"leave\",\"pad\":\"{}\"}}",
            "x".repeat(MAX_FRAME_BYTES)
        );
        assert!(matches!(
            ClientMessage::decode(&big),
            Err(DecodeError::TooLarge(_))
        ));
        assert!(matches!(
            ClientMessage::decode("{\"type\":\"nope\"}"),
            Err(DecodeError::Malformed(_))
        ));
        assert!(ClientMessage::decode(
            "{\"type\":\"force_disconnect\",\"id\":1,\"connection_id\":\"../x\"}"
        )
        .is_err());
    }

    proptest! {
        #[test]
        fn decoding_arbitrary_text_never_panics(s in ".{0,300}") {
            let _ = ClientMessage::decode(&s);
            let _ = ServerMessage::decode(&s);
        }

        #[test]
        fn truncated_messages_never_panic(cut in 0usize..200) {
            let text = ClientMessage::Connect {
                version: 1,
                application_id: "key".into(),
                session_id: SessionId::new(crate::session_id::SessionIdParts {
                    api_key: "key".into(), location: String::new(), create_time: "1".into(), random: "r".into(),
                }.encode()).unwrap(),
                token: "T1==abc".into(),
            }.encode();
            let cut = cut.min(text.len());
            let _ = ClientMessage::decode(&text[..cut]);
        }
    }
}

/// WebSocket close codes the server uses. The [`ServerMessage::Error`] sent before the close carries the
/// OpenTok code; the close code says what kind of ending it is.
pub mod close_code {
    /// A normal end: the client left, or was removed (after [`super::ServerMessage::Disconnected`]).
    pub const NORMAL: u16 = 1000;
    /// The server is shutting down.
    pub const GOING_AWAY: u16 = 1001;
    /// The first message was not `connect`/`resume`, or not a text frame, or not valid.
    pub const PROTOCOL_ERROR: u16 = 1002;
    /// Refused: bad token, unknown session, session full, connection gone.
    pub const POLICY: u16 = 1008;
    /// A frame over [`crate::MAX_FRAME_BYTES`].
    pub const TOO_BIG: u16 = 1009;
}
