//! WebRTC (webrtc-rs) for the engine: peer connections to the server's media router.

pub(crate) mod estimator;
pub(crate) mod feedback_tap;
pub(crate) mod ice;
pub(crate) mod loss_window;
pub(crate) mod network_stats;
pub(crate) mod pacer;
pub(crate) mod peer;
pub(crate) mod retransmission_budget;
pub(crate) mod stats_report;
