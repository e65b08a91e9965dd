//! The router in simulated time (`sim.rs`): forwarding, keyframe requests, loss recovery and expiry,
//! each a whole call of simulated seconds that runs in milliseconds. `server/tests/sfu.rs` keeps a thin
//! layer of the same over real sockets.

mod expiry;
mod forwarding;
mod keyframes;
mod loss;
mod sim;
mod simulcast;
mod vp8_payload;
