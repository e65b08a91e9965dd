//! The objects of a session as every layer sees them (API.md §5).

use serde::{Deserialize, Serialize};

use crate::ids::{ConnectionId, StreamId};

/// One client's presence in a session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Connection {
    /// Stable for the life of the connection, across reconnections.
    pub connection_id: ConnectionId,
    /// Milliseconds since the Unix epoch.
    pub creation_time: u64,
    /// The `connection_data` of the token it joined with.
    pub data: String,
}

/// What a stream's video shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VideoType {
    /// A camera (or the test pattern).
    #[default]
    Camera,
    /// A screen capture.
    Screen,
    /// Frames pushed by the application.
    Custom,
}

/// A published stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stream {
    /// The stream's ID.
    pub stream_id: StreamId,
    /// The connection that publishes it.
    pub connection: Connection,
    /// The publisher's `name`.
    pub name: String,
    /// Whether audio is being published.
    pub has_audio: bool,
    /// Whether video is being published.
    pub has_video: bool,
    /// What the video shows.
    pub video_type: VideoType,
    /// Width and height of the published video.
    pub video_dimensions: (u32, u32),
    /// Milliseconds since the Unix epoch.
    pub creation_time: u64,
}

/// A token's role: what its connection may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Subscribe and signal; no publishing.
    Subscriber,
    /// Publish, subscribe and signal (the default).
    #[default]
    Publisher,
    /// Publish only: no subscribing.
    #[serde(rename = "publisheronly")]
    PublisherOnly,
    /// Everything, plus force-disconnect and force-mute.
    Moderator,
}

impl Role {
    /// The role's name in tokens.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Subscriber => "subscriber",
            Role::Publisher => "publisher",
            Role::PublisherOnly => "publisheronly",
            Role::Moderator => "moderator",
        }
    }

    /// Parses a token role name.
    pub fn parse(s: &str) -> Option<Role> {
        Some(match s {
            "subscriber" => Role::Subscriber,
            "publisher" => Role::Publisher,
            "publisheronly" => Role::PublisherOnly,
            "moderator" => Role::Moderator,
            _ => return None,
        })
    }

    /// May this role publish streams?
    pub fn can_publish(self) -> bool {
        self != Role::Subscriber
    }

    /// May this role subscribe to streams?
    pub fn can_subscribe(self) -> bool {
        self != Role::PublisherOnly
    }

    /// May this role force-disconnect, force-unpublish and force-mute others?
    pub fn is_moderator(self) -> bool {
        self == Role::Moderator
    }
}

/// Why a connection left a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DisconnectReason {
    /// It disconnected on purpose.
    ClientDisconnected,
    /// A moderator or the REST API removed it.
    ForceDisconnected,
    /// Its link dropped and did not come back within the reconnect window.
    NetworkDisconnected,
}

/// Why a stream ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum StreamDestroyedReason {
    /// The publisher unpublished or left on purpose.
    ClientDisconnected,
    /// The publisher was force-disconnected.
    ForceDisconnected,
    /// The publisher's link dropped for good.
    NetworkDisconnected,
    /// A moderator force-unpublished it.
    ForceUnpublished,
    /// Its media stopped.
    MediaStopped,
}

impl From<DisconnectReason> for StreamDestroyedReason {
    fn from(r: DisconnectReason) -> Self {
        match r {
            DisconnectReason::ClientDisconnected => StreamDestroyedReason::ClientDisconnected,
            DisconnectReason::ForceDisconnected => StreamDestroyedReason::ForceDisconnected,
            DisconnectReason::NetworkDisconnected => StreamDestroyedReason::NetworkDisconnected,
        }
    }
}
