//! WebRTC (webrtc-rs) for the engine: peer connections to the server's media router.

pub(crate) mod bitrate_target;
pub(crate) mod estimator;
pub(crate) mod keyframe_feedback;
pub(crate) mod network_stats;
pub(crate) mod peer;
pub(crate) mod stats_report;
