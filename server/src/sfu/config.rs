//! Where the SFU listens and which address it advertises.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// Sockets and addresses for the media plane.
#[derive(Debug, Clone)]
pub struct SfuConfig {
    /// Bind address for all media over UDP (every peer connection shares this one socket), e.g.
    /// `127.0.0.1:0` in tests or a fixed, firewall-opened port in production.
    pub udp_addr: SocketAddr,
    /// Optional ICE-TCP listener (RFC 4571 framing, passive TCP host candidates) for clients whose UDP
    /// is blocked.
    pub tcp_addr: Option<SocketAddr>,
    /// Address written into the ICE candidates; defaults to the bound IP. Set it when the server binds
    /// `0.0.0.0` or sits behind a 1:1 NAT.
    pub public_ip: Option<IpAddr>,
    /// A peer whose ICE and DTLS have not completed this long after its offer is removed (an offer
    /// without candidates would otherwise wait forever).
    pub connect_deadline: Duration,
    /// A connected peer from which nothing (media, RTCP, STUN consent) arrives this long is removed:
    /// a crashed or cut-off client. Clients send STUN consent checks every few seconds even when muted.
    pub media_timeout: Duration,
}

/// The default [`SfuConfig::media_timeout`].
pub const MEDIA_TIMEOUT: Duration = Duration::from_secs(8);

/// The default [`SfuConfig::connect_deadline`].
pub const CONNECT_DEADLINE: Duration = Duration::from_secs(20);

impl SfuConfig {
    /// UDP only, on the given bind address, advertising the bound IP.
    pub fn udp(udp_addr: SocketAddr) -> SfuConfig {
        SfuConfig {
            udp_addr,
            tcp_addr: None,
            public_ip: None,
            connect_deadline: CONNECT_DEADLINE,
            media_timeout: MEDIA_TIMEOUT,
        }
    }
}
