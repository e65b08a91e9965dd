//! How a peer connection finds its way to the server (API.md §2 `ice_config`): which STUN/TURN
//! servers it uses (the app's, the session server's, or both), whether only relayed candidates may
//! carry media, and which of its own addresses it tells the server about.

use std::net::IpAddr;

use rtc::peer_connection::configuration::{RTCIceServer, RTCIceTransportPolicy};
use webrtc::peer_connection::{RTCConfiguration, RTCConfigurationBuilder};

use super::peer::PeerError;
use crate::options::{IceConfig, IceServer, IncludeServers, TransportPolicy};

/// The peer connection's configuration: `ice`'s own servers, and the session server's unless
/// `ice.include_servers` is `Custom`.
pub(crate) fn configuration(
    ice: &IceConfig,
    advertised: &[IceServer],
) -> Result<RTCConfiguration, PeerError> {
    let from_server = match ice.include_servers {
        IncludeServers::All => advertised,
        IncludeServers::Custom => &[],
    };
    let servers: Vec<RTCIceServer> = ice
        .custom_servers
        .iter()
        .chain(from_server)
        .filter_map(usable)
        .collect();
    let policy = match ice.transport_policy {
        TransportPolicy::All => RTCIceTransportPolicy::All,
        TransportPolicy::Relay => {
            if !servers
                .iter()
                .any(|s| s.urls.iter().any(|u| u.starts_with("turn:")))
            {
                return Err(
                    "transport_policy is relay, but no TURN server (turn:…, UDP) is \
                            configured: add one to custom_servers, or let the session server \
                            advertise one"
                        .into(),
                );
            }
            RTCIceTransportPolicy::Relay
        }
    };
    Ok(RTCConfigurationBuilder::new()
        .with_ice_servers(servers)
        .with_ice_transport_policy(policy)
        .build())
}

/// `server` with the URLs this WebRTC stack can use, or `None` when none is left. webrtc-rs 0.21
/// relays over UDP only: `turns:` and `?transport=tcp` are skipped with a warning (a client whose UDP
/// is blocked reaches the server over ICE-TCP instead).
fn usable(server: &IceServer) -> Option<RTCIceServer> {
    let urls: Vec<String> = server
        .urls
        .iter()
        .filter(|url| {
            let tcp = url.starts_with("turns:") || url.contains("transport=tcp");
            if tcp {
                tracing::warn!(url = %url, "TURN over TCP/TLS is not supported; skipped");
            }
            !tcp
        })
        .cloned()
        .collect();
    (!urls.is_empty()).then(|| RTCIceServer {
        urls,
        username: server.username.clone().unwrap_or_default(),
        credential: server.credential.clone().unwrap_or_default(),
    })
}

/// `sdp` without the host candidates of private, link-local and loopback addresses, and with the
/// private base address of the others hidden (`raddr 0.0.0.0 rport 0`, as browsers do): the server
/// still learns the address the checks come from (peer-reflexive), the signalling path no longer
/// carries the layout of the client's network.
pub(crate) fn without_lan_candidates(sdp: &str) -> String {
    let mut out = String::with_capacity(sdp.len());
    for line in sdp.split_inclusive('\n') {
        let Some(candidate) = line.trim_end().strip_prefix("a=candidate:") else {
            out.push_str(line);
            continue;
        };
        let fields: Vec<&str> = candidate.split_whitespace().collect();
        let typ = fields
            .windows(2)
            .find(|w| w[0] == "typ")
            .map_or("", |w| w[1]);
        let local = |f: Option<&&str>| f.and_then(|a| a.parse().ok()).is_some_and(is_local);
        if typ == "host" && local(fields.get(4)) {
            continue;
        }
        match fields.iter().position(|f| *f == "raddr") {
            Some(i) if local(fields.get(i + 1)) => {
                let mut hidden = fields.clone();
                hidden[i + 1] = "0.0.0.0";
                if let Some(port) = hidden.get_mut(i + 3).filter(|_| fields[i + 2] == "rport") {
                    *port = "0";
                }
                out.push_str("a=candidate:");
                out.push_str(&hidden.join(" "));
                out.push_str("\r\n");
            }
            _ => out.push_str(line),
        }
    }
    out
}

/// An address only its own network can reach.
fn is_local(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_private() || v4.is_link_local() || v4.is_loopback(),
        // fc00::/7 (unique local) and fe80::/10 (link-local).
        IpAddr::V6(v6) => {
            v6.is_loopback()
                || (v6.segments()[0] & 0xfe00) == 0xfc00
                || (v6.segments()[0] & 0xffc0) == 0xfe80
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SDP: &str = "v=0\r\n\
        a=candidate:1 1 udp 2130706431 192.168.1.7 50000 typ host\r\n\
        a=candidate:2 1 udp 2130706431 127.0.0.1 50001 typ host\r\n\
        a=candidate:3 1 udp 2130706431 fe80::1 50002 typ host\r\n\
        a=candidate:4 1 udp 2130706431 203.0.113.9 50003 typ host\r\n\
        a=candidate:5 1 udp 1694498815 198.51.100.2 61000 typ srflx raddr 10.0.0.7 rport 50000\r\n\
        a=candidate:6 1 udp 16777215 198.51.100.3 62000 typ relay raddr 198.51.100.2 rport 61000\r\n\
        a=end-of-candidates\r\n";

    #[test]
    fn lan_host_candidates_go_and_private_base_addresses_are_hidden() {
        let filtered = without_lan_candidates(SDP);
        let candidates: Vec<&str> = filtered
            .lines()
            .filter(|l| l.starts_with("a=candidate:"))
            .collect();
        assert_eq!(
            candidates,
            [
                "a=candidate:4 1 udp 2130706431 203.0.113.9 50003 typ host",
                "a=candidate:5 1 udp 1694498815 198.51.100.2 61000 typ srflx raddr 0.0.0.0 rport 0",
                "a=candidate:6 1 udp 16777215 198.51.100.3 62000 typ relay raddr 198.51.100.2 rport 61000",
            ]
        );
        assert!(filtered.starts_with("v=0\r\n") && filtered.ends_with("a=end-of-candidates\r\n"));
    }

    fn config(policy: TransportPolicy, include: IncludeServers, custom: &[IceServer]) -> IceConfig {
        IceConfig {
            transport_policy: policy,
            include_servers: include,
            custom_servers: custom.to_vec(),
            ..IceConfig::default()
        }
    }

    #[test]
    fn servers_come_from_the_app_and_the_session_server_as_asked() {
        let app = IceServer::new(["stun:app:3478"]);
        let turn = IceServer::turn(
            ["turn:t:3478", "turns:t:5349", "turn:t:3478?transport=tcp"],
            "u",
            "c",
        );
        let both = configuration(
            &config(
                TransportPolicy::All,
                IncludeServers::All,
                std::slice::from_ref(&app),
            ),
            std::slice::from_ref(&turn),
        )
        .unwrap();
        let urls: Vec<&str> = both
            .ice_servers()
            .iter()
            .flat_map(|s| s.urls.iter().map(String::as_str))
            .collect();
        assert_eq!(urls, ["stun:app:3478", "turn:t:3478"]);
        assert_eq!(both.ice_servers()[1].credential, "c");
        let custom = configuration(
            &config(
                TransportPolicy::All,
                IncludeServers::Custom,
                std::slice::from_ref(&app),
            ),
            std::slice::from_ref(&turn),
        )
        .unwrap();
        assert_eq!(custom.ice_servers().len(), 1);
        let relay = configuration(
            &config(TransportPolicy::Relay, IncludeServers::All, &[]),
            &[turn],
        )
        .unwrap();
        assert_eq!(relay.ice_transport_policy(), RTCIceTransportPolicy::Relay);
        let e = configuration(
            &config(TransportPolicy::Relay, IncludeServers::All, &[app]),
            &[],
        )
        .unwrap_err();
        assert!(e.contains("no TURN server"), "{e}");
    }
}
