//! A change of one property of a published stream, typed end to end. On the wire it keeps the
//! OpenTok shape, `{"changed_property":"has_audio","old_value":true,"new_value":false}`, inside
//! [`ServerMessage::StreamPropertyChanged`](crate::ServerMessage::StreamPropertyChanged); an unknown
//! property name is a decode error, never mistaken for another property.

use serde::{Deserialize, Serialize};

use crate::objects::VideoType;

/// Which property changed, from what, to what.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "changed_property", rename_all = "snake_case")]
#[non_exhaustive]
pub enum StreamChange {
    /// The publisher turned audio on or off (or a moderator muted it).
    HasAudio {
        /// Before.
        old_value: bool,
        /// After.
        new_value: bool,
    },
    /// The publisher turned video on or off.
    HasVideo {
        /// Before.
        old_value: bool,
        /// After.
        new_value: bool,
    },
    /// The video's width and height changed.
    VideoDimensions {
        /// Before.
        old_value: (u32, u32),
        /// After.
        new_value: (u32, u32),
    },
    /// The video source's kind changed (camera, screen, custom).
    VideoType {
        /// Before.
        old_value: VideoType,
        /// After.
        new_value: VideoType,
    },
}

impl StreamChange {
    /// The property's wire name (`has_audio`, `has_video`, `video_dimensions`, `video_type`), the
    /// key OpenTok's `changedProperty` carries.
    pub fn name(&self) -> &'static str {
        match self {
            StreamChange::HasAudio { .. } => "has_audio",
            StreamChange::HasVideo { .. } => "has_video",
            StreamChange::VideoDimensions { .. } => "video_dimensions",
            StreamChange::VideoType { .. } => "video_type",
        }
    }

    /// True when the new value equals the old one (nothing to announce).
    pub fn is_noop(&self) -> bool {
        match self {
            StreamChange::HasAudio {
                old_value,
                new_value,
            }
            | StreamChange::HasVideo {
                old_value,
                new_value,
            } => old_value == new_value,
            StreamChange::VideoDimensions {
                old_value,
                new_value,
            } => old_value == new_value,
            StreamChange::VideoType {
                old_value,
                new_value,
            } => old_value == new_value,
        }
    }
}
