//! The Otter wire protocol: the one crate that knows what travels between a client and the session server.
//!
//! - [`ids`]: typed, validated identifiers ([`SessionId`], [`ConnectionId`], [`StreamId`]).
//! - [`session_id`]: the OpenTok session ID shape (`1_` + URL-safe base64 of `1~KEY~LOCATION~TIME~RANDOM`).
//! - [`objects`]: [`Connection`], [`Stream`], [`Role`] and the reasons things end.
//! - [`error`]: the error-code table shared by every layer ([`ErrorCode`], [`OtError`]).
//! - [`signal`]: limits and validation of signals (type, data).
//! - [`roster`]: a session snapshot split into frames that each fit [`MAX_FRAME_BYTES`].
//! - [`limits`]: the sizes of everything a client names (stream names), checked on both ends.
//! - [`token`]: the claims a token carries, independent of its encoding.
//! - [`messages`]: [`ClientMessage`] and [`ServerMessage`], JSON text frames over a WebSocket at [`SIGNAL_PATH`].
//! - [`request`]: [`Request`], what a joined client asks, sent in an [`Envelope`] with its id.
//! - [`stream_change`]: [`StreamChange`], a typed stream-property change.
//! - [`ice_server`]: [`IceServer`], a STUN or TURN server the server advertises to its clients.
//!
//! The first message a client sends ([`ClientMessage::Connect`] or [`ClientMessage::Resume`]) carries
//! [`PROTOCOL_VERSION`]; every inbound frame is limited to [`MAX_FRAME_BYTES`] before it is parsed.

pub mod error;
pub mod ice_server;
pub mod ids;
pub mod limits;
pub mod messages;
pub mod objects;
pub mod request;
pub mod roster;
pub mod session_id;
pub mod signal;
pub mod stream_change;
pub mod token;

pub use error::{ErrorCode, OtError};
pub use ice_server::IceServer;
pub use ids::{ConnectionId, IdError, SessionId, StreamId, SubscriptionId};
pub use messages::{ClientMessage, DecodeError, ServerMessage};
pub use objects::{Connection, DisconnectReason, Role, Stream, StreamDestroyedReason, VideoType};
pub use request::{Envelope, Request};
pub use stream_change::StreamChange;
pub use token::TokenClaims;

/// The protocol version a client announces in its first message. The server refuses others.
pub const PROTOCOL_VERSION: u32 = 1;

/// The WebSocket path of the signalling endpoint, relative to the server's base URL.
pub const SIGNAL_PATH: &str = "/v1/signal";

/// The largest text frame either side accepts. A signal's data is at most 8 KiB, but JSON escaping can
/// grow it up to six times (`\u0001`), so the frame limit leaves room for that and no more.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;
