//! Otter's client engine: OpenTok-style sessions from any Rust program (the Dioxus components and the
//! `otter` CLI are built on it).
//!
//! A [`Session`] is a cheap, clonable handle. [`Session::connect`] starts a driver task that owns the
//! WebSocket and a sans-IO [`session_core::SessionCore`]; the handle sends it commands, and events come back on a
//! broadcast channel ([`Session::events`]) as [`SessionEvent`]s.
//!
//! ```no_run
//! # async fn run() -> Result<(), otter_rtc::OtError> {
//! use otter_rtc::{Session, SessionEvent, SessionOptions};
//! let session = Session::init("API_KEY", "SESSION_ID", SessionOptions::with_api_url("http://127.0.0.1:8080"));
//! let mut events = session.events();
//! session.connect("TOKEN").await?;
//! while let Some(event) = events.recv().await {
//!     if let SessionEvent::Signal(s) = event {
//!         println!("{}: {}", s.signal_type, s.data);
//!     }
//! }
//! # Ok(()) }
//! ```

pub mod capture;
mod devices;
mod driver;
mod event_channel;
mod event_stream;
pub mod events;
pub mod media;
pub mod options;
mod publisher;
mod rtc;
mod session;
pub mod session_core;
mod subscriber;
mod system;
mod transport;
mod undo;

pub use crate::rtc::network_stats::NetworkStats;
pub use crate::rtc::peer::open_peer_connections;
pub use crate::session_core::{SessionState, SessionStatus};
pub use devices::{devices, Device, Devices};
pub use event_stream::EventStream;
pub use events::*;
pub use options::{IceConfig, IceServer, IncludeServers, SessionOptions, TransportPolicy};
pub use otter_protocol::{
    Connection, ConnectionId, DisconnectReason, ErrorCode, OtError, Role, SessionId, Stream,
    StreamChange, StreamDestroyedReason, StreamId, VideoType,
};
pub use publisher::{
    AudioSourceChoice, CameraPosition, PreferredCodecs, Publisher, PublisherEvent,
    PublisherProperties, PublisherStats, ScaleBehavior, VideoSourceChoice,
};
pub use session::{Capabilities, Session, SignalRequest};
pub use subscriber::{
    Subscriber, SubscriberEvent, SubscriberProperties, SubscriberStats, VideoReason,
};
pub use system::{check_system_requirements, MissingRequirement};
