//! The wall clock, in the units the protocol uses. Everything that decides (the session actor, the
//! SFU router, token checks) takes the time as an argument; these are read only at the edges.

use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch (token `iat`/`exp`, heartbeat values); 0 if the clock is before it.
pub fn unix_secs() -> u64 {
    since_epoch().as_secs()
}

/// Milliseconds since the Unix epoch (`creation_time` of connections and streams).
pub fn unix_millis() -> u64 {
    since_epoch().as_millis() as u64
}

fn since_epoch() -> std::time::Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}
