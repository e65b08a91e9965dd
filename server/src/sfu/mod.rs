//! The SFU (selective forwarding unit): receives each publisher's RTP and forwards it, undecoded, to
//! that stream's subscribers.
//!
//! It is built on str0m, a sans-IO WebRTC stack, so one task and **one UDP socket** (plus an optional
//! ICE-TCP listener) serve every peer connection:
//!
//! - [`Sfu`] (`handle.rs`) is the cheap, cloneable handle; its async methods send a `Command`
//!   (`command.rs`) over a bounded channel and await the reply.
//! - The media task (`engine.rs`) owns the sockets and drives the `Router` (`router.rs`): it waits for a
//!   command, a datagram, a TCP frame (`tcp.rs`) or the earliest str0m timer, hands it over with the
//!   time, then sends what the router queued (`transport.rs`) and reports what ended.
//! - The router is sans-IO like str0m: it takes `now`, never reads the clock, owns no socket and
//!   spawns nothing, so `tests/` runs whole calls on it in simulated time (`tests/sim.rs`).
//! - `router.rs` keeps every peer (`peer.rs`: a str0m `Rtc` in RTP mode plus its role) and the indexes
//!   over them; `pump.rs` is the packet path: demultiplex (a route per remote address, opened only by a
//!   STUN request naming one of our ICE ufrags: `demux.rs`), feed, drain to `Timeout`, and fan
//!   publisher packets out to subscribers. Peers that do not connect within a deadline are removed.
//! - Per subscriber track, `track.rs` rewrites sequence numbers and payload types and gates video on a
//!   keyframe (`keyframe.rs`) after a (re)start; str0m allocates the SSRC, keeps the send buffer and
//!   answers NACKs. Keyframe requests (a subscriber connecting or resuming video, or sending PLI/FIR)
//!   become a throttled PLI to the publisher.
//! - Simulcast (`layers.rs`): a publisher's video may come as up to three layers, one m-line each; each
//!   subscriber gets the one its view size and downlink call for, switched at a keyframe of the new
//!   layer with sequence numbers and timestamps kept continuous (`track.rs`).
//! - Media that dies on its own (ICE failure, silence, never connected) is reported as an [`SfuEvent`]
//!   (`event.rs`) on the channel [`Sfu::take_events`] hands out.
//! - `crypto/` plugs a pure-Rust crypto backend (dimpl's RustCrypto DTLS, RustCrypto SRTP) into str0m.

mod command;
mod config;
pub mod crypto;
mod demux;
mod engine;
mod error;
mod event;
mod handle;
mod keyframe;
mod layers;
mod peer;
mod pump;
mod router;
mod simulcast;
mod stats;
mod tcp;
#[cfg(test)]
mod tests;
mod track;
mod transport;

pub use config::{SfuConfig, CONNECT_DEADLINE, MEDIA_TIMEOUT};
pub use error::SfuError;
pub use event::SfuEvent;
pub use handle::Sfu;
pub use stats::SfuStats;
