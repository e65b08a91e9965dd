//! The state machine under simulated time: no sockets, no sleeping.

use std::time::{Duration, Instant};

use otter_protocol::session_id::SessionIdParts;
use otter_protocol::{
    Connection, ConnectionId, DisconnectReason, ErrorCode, Role, ServerMessage, SessionId,
};

use super::*;
use crate::events::SessionEvent;

fn sid() -> SessionId {
    let parts = SessionIdParts {
        api_key: "k".into(),
        location: String::new(),
        create_time: "1".into(),
        random: "r".into(),
    };
    SessionId::new(parts.encode()).unwrap()
}

fn conn(id: &str) -> Connection {
    Connection {
        connection_id: ConnectionId::new(id).unwrap(),
        creation_time: 1,
        data: String::new(),
    }
}

struct Sim {
    core: SessionCore,
    now: Instant,
    out: Vec<Output>,
}

impl Sim {
    fn new() -> Self {
        let now = Instant::now();
        let config = CoreConfig {
            application_id: "k".into(),
            session_id: sid(),
            connect_timeout: Duration::from_secs(15),
            reconnect_window: Duration::from_secs(30),
            connection_events_suppressed: false,
            reconnect_policy: ReconnectPolicy::default(),
            jitter_seed: 7,
        };
        Self {
            core: SessionCore::new(config, now),
            now,
            out: Vec::new(),
        }
    }

    fn input(&mut self, i: Input) {
        self.core.handle_input(self.now, i);
        self.drain();
    }

    fn drain(&mut self) {
        while let Some(o) = self.core.poll_output() {
            self.out.push(o);
        }
    }

    /// Advances simulated time to `until`, firing every timeout on the way, as the driver would.
    fn advance(&mut self, by: Duration) {
        let until = self.now + by;
        while let Some(t) = self.core.poll_timeout() {
            if t > until {
                break;
            }
            self.now = self.now.max(t);
            self.core.handle_timeout(self.now);
            self.drain();
        }
        self.now = until;
    }

    fn take(&mut self) -> Vec<Output> {
        std::mem::take(&mut self.out)
    }

    fn events(&mut self) -> Vec<&'static str> {
        self.take()
            .into_iter()
            .filter_map(|o| match o {
                Output::Event(e) => Some(e.name()),
                _ => None,
            })
            .collect()
    }

    fn connected(&mut self) {
        self.input(Input::Connect {
            op: 1,
            token: "t".into(),
        });
        self.input(Input::TransportOpened);
        self.connected_from_hello();
    }

    /// The server's answer to a connect: this client is "me", "other" was already there.
    fn connected_from_hello(&mut self) {
        self.input(Input::Message(welcome(vec![conn("other")], false)));
    }
}

/// A `connected` for "me" with these others present, the usual timers, and whether more roster follows.
fn welcome(connections: Vec<Connection>, more: bool) -> ServerMessage {
    ServerMessage::Connected {
        version: 1,
        session_id: sid(),
        connection: conn("me"),
        role: Role::Publisher,
        connections,
        streams: vec![],
        resume_key: "key".into(),
        heartbeat_interval_ms: 2000,
        heartbeat_timeout_ms: 6000,
        reconnect_window_ms: 30_000,
        ice_servers: vec![],
        more,
    }
}

#[test]
fn connect_sends_hello_and_reports_existing_connections() {
    let mut s = Sim::new();
    s.input(Input::Connect {
        op: 1,
        token: "t".into(),
    });
    assert_eq!(s.take(), vec![Output::OpenTransport]);
    assert_eq!(s.core.status(), SessionStatus::Connecting);
    s.input(Input::TransportOpened);
    assert!(
        matches!(&s.take()[..], [Output::Send(ClientMessage::Connect { token, .. })] if token == "t")
    );
    s.out.clear();
    s.connected_from_hello();
    let out = s.take();
    assert!(matches!(
        out[0],
        Output::Event(SessionEvent::SessionConnected(_))
    ));
    assert!(matches!(
        out[1],
        Output::Event(SessionEvent::ConnectionCreated(_))
    ));
    assert_eq!(
        out[2],
        Output::Complete {
            op: 1,
            result: Ok(RequestReply::default())
        }
    );
    assert_eq!(s.core.state().connections.len(), 1);
}

#[test]
fn connect_times_out_with_1006() {
    let mut s = Sim::new();
    s.input(Input::Connect {
        op: 1,
        token: "t".into(),
    });
    s.input(Input::TransportOpened);
    s.take();
    s.advance(Duration::from_secs(14));
    assert!(s.take().is_empty());
    s.advance(Duration::from_secs(2));
    let out = s.take();
    assert!(out.contains(&Output::CloseTransport));
    let code = out.iter().find_map(|o| match o {
        Output::Complete {
            op: 1,
            result: Err(e),
        } => Some(e.code),
        _ => None,
    });
    assert_eq!(code, Some(1006));
    assert_eq!(s.core.status(), SessionStatus::Failed);
}

#[test]
fn authentication_failure_is_not_retried() {
    let mut s = Sim::new();
    s.input(Input::Connect {
        op: 1,
        token: "bad".into(),
    });
    s.input(Input::TransportOpened);
    s.input(Input::Message(ServerMessage::Error {
        error: ErrorCode::AuthenticationError.with_message("no"),
    }));
    s.input(Input::TransportClosed);
    s.advance(Duration::from_secs(60));
    let out = s.take();
    assert_eq!(
        out.iter().filter(|o| **o == Output::OpenTransport).count(),
        1,
        "{out:?}"
    );
    assert!(out
        .iter()
        .any(|o| matches!(o, Output::Complete { result: Err(e), .. } if e.code == 1004)));
    assert!(s.core.is_idle());
}

#[test]
fn heartbeats_go_out_and_silence_means_reconnecting() {
    let mut s = Sim::new();
    s.connected();
    s.take();
    s.advance(Duration::from_millis(4100));
    let pings = s
        .take()
        .iter()
        .filter(|o| matches!(o, Output::Send(ClientMessage::Ping { .. })))
        .count();
    assert_eq!(pings, 2);
    // The server answers a ping: still connected well past the threshold from the start.
    s.input(Input::Message(ServerMessage::Pong { ts: 0 }));
    s.advance(Duration::from_millis(5900));
    assert_eq!(s.core.status(), SessionStatus::Connected);
    s.advance(Duration::from_millis(200));
    assert_eq!(s.core.status(), SessionStatus::Reconnecting);
    assert!(s.events().contains(&"session_reconnecting"));
}

#[test]
fn reconnect_backs_off_then_resumes_and_flushes_signals() {
    let mut s = Sim::new();
    s.connected();
    s.take();
    s.input(Input::TransportClosed);
    assert_eq!(s.events(), vec!["session_reconnecting"]);
    // A signal while reconnecting waits.
    s.input(Input::Request {
        op: 9,
        request: Request::Signal {
            to: None,
            signal_type: "t".into(),
            data: "d".into(),
        },
    });
    assert!(s.take().is_empty());
    // Attempts fail; the gaps between them grow.
    let mut opened_at = Vec::new();
    let start = s.now;
    for _ in 0..5 {
        while !s.take().contains(&Output::OpenTransport) {
            s.advance(Duration::from_millis(10));
        }
        opened_at.push(s.now - start);
        s.input(Input::TransportFailed);
    }
    let gaps: Vec<Duration> = opened_at.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(gaps[3] > gaps[0], "{gaps:?}");
    assert!(
        gaps.iter().all(|g| *g <= Duration::from_millis(4020)),
        "{gaps:?}"
    );
    // The next attempt gets through and resumes the same connection.
    while !s.take().contains(&Output::OpenTransport) {
        s.advance(Duration::from_millis(10));
    }
    s.input(Input::TransportOpened);
    let hello = s.take();
    assert!(
        matches!(&hello[..], [Output::Send(ClientMessage::Resume { connection_id, resume_key, .. })]
        if connection_id.as_str() == "me" && resume_key == "key")
    );
    s.input(Input::Message(ServerMessage::Resumed {
        connections: vec![conn("other"), conn("new")],
        streams: vec![],
        ice_servers: vec![],
        more: false,
    }));
    let out = s.take();
    assert!(matches!(
        out[0],
        Output::Event(SessionEvent::SessionReconnected(_))
    ));
    assert!(
        matches!(&out[1], Output::Event(SessionEvent::ConnectionCreated(e)) if e.connection.connection_id.as_str() == "new")
    );
    assert!(matches!(
        &out[2],
        Output::Send(ClientMessage::Request(otter_protocol::Envelope {
            request: Request::Signal { data, .. },
            ..
        })) if data == "d"
    ));
    assert_eq!(s.core.status(), SessionStatus::Connected);
}

#[test]
fn window_expiry_disconnects_with_network_reason() {
    let mut s = Sim::new();
    s.connected();
    s.input(Input::Request {
        op: 5,
        request: Request::Signal {
            to: None,
            signal_type: "t".into(),
            data: "d".into(),
        },
    });
    s.take();
    s.input(Input::TransportClosed);
    let dropped_at = s.now;
    let mut opens = 0;
    for _ in 0..400 {
        s.advance(Duration::from_millis(100));
        for o in s.take() {
            match o {
                Output::OpenTransport => {
                    opens += 1;
                    s.core.handle_input(s.now, Input::TransportFailed);
                }
                Output::Event(SessionEvent::SessionDisconnected(e)) => {
                    assert_eq!(e.reason, DisconnectReason::NetworkDisconnected);
                    let waited = s.now - dropped_at;
                    assert!(
                        waited >= Duration::from_secs(30) && waited < Duration::from_millis(30_200),
                        "{waited:?}"
                    );
                    assert!(opens >= 5, "{opens}");
                    assert_eq!(s.core.status(), SessionStatus::NotConnected);
                    return;
                }
                Output::Complete { op: 5, result } => assert_eq!(result.unwrap_err().code, 1010),
                _ => {}
            }
        }
    }
    panic!("never disconnected");
}

#[test]
fn refused_resume_is_final() {
    let mut s = Sim::new();
    s.connected();
    s.input(Input::TransportClosed);
    s.advance(Duration::from_secs(1));
    s.input(Input::TransportOpened);
    s.input(Input::Message(ServerMessage::Error {
        error: ErrorCode::NotConnected.with_message("gone"),
    }));
    let events = s.events();
    assert!(events.contains(&"session_disconnected"), "{events:?}");
    s.advance(Duration::from_secs(60));
    assert!(!s.take().contains(&Output::OpenTransport));
}

#[test]
fn clean_disconnect_says_leave() {
    let mut s = Sim::new();
    s.connected();
    s.take();
    s.input(Input::Disconnect { op: Some(2) });
    let out = s.take();
    assert_eq!(out[0], Output::Send(ClientMessage::Leave));
    assert_eq!(out[1], Output::CloseTransport);
    assert!(
        matches!(&out[2], Output::Event(SessionEvent::SessionDisconnected(e)) if e.reason == DisconnectReason::ClientDisconnected)
    );
    assert!(s.core.is_idle());
}

#[test]
fn invalid_signals_fail_locally() {
    let mut s = Sim::new();
    s.connected();
    s.take();
    s.input(Input::Request {
        op: 3,
        request: Request::Signal {
            to: None,
            signal_type: "bad type".into(),
            data: String::new(),
        },
    });
    assert!(matches!(&s.take()[..], [Output::Complete { op: 3, result: Err(e) }] if e.code == 400));
    let mut idle = Sim::new();
    idle.input(Input::Request {
        op: 4,
        request: Request::Signal {
            to: None,
            signal_type: "t".into(),
            data: String::new(),
        },
    });
    assert!(
        matches!(&idle.take()[..], [Output::Complete { op: 4, result: Err(e) }] if e.code == 1010)
    );
}

/// A big session's roster arrives in parts; the client acts once, when the last part is in.
#[test]
fn a_roster_in_parts_is_acted_on_when_whole() {
    let mut s = Sim::new();
    s.input(Input::Connect {
        op: 1,
        token: "t".into(),
    });
    s.input(Input::TransportOpened);
    s.take();
    s.input(Input::Message(welcome(vec![conn("a")], true)));
    s.input(Input::Message(ServerMessage::Roster {
        connections: vec![conn("b")],
        streams: vec![],
        more: true,
    }));
    assert!(s.take().is_empty(), "nothing before the last part");
    assert_eq!(s.core.status(), SessionStatus::Connecting);
    s.input(Input::Message(ServerMessage::Roster {
        connections: vec![conn("c")],
        streams: vec![],
        more: false,
    }));
    let joined: Vec<String> = s
        .take()
        .into_iter()
        .filter_map(|o| match o {
            Output::Event(SessionEvent::ConnectionCreated(e)) => {
                Some(e.connection.connection_id.as_str().to_owned())
            }
            _ => None,
        })
        .collect();
    assert_eq!(joined, ["a", "b", "c"]);
    assert_eq!(s.core.status(), SessionStatus::Connected);
    // A stray roster part is a protocol error, not a crash.
    s.input(Input::Message(ServerMessage::Roster {
        connections: vec![conn("d")],
        streams: vec![],
        more: false,
    }));
    assert!(s
        .take()
        .iter()
        .any(|o| matches!(o, Output::Event(SessionEvent::Error(_)))));
}

/// L1: a hostile server's timers cannot overflow the client's clock arithmetic.
#[test]
fn huge_server_timers_are_clamped() {
    let mut s = Sim::new();
    s.input(Input::Connect {
        op: 1,
        token: "t".into(),
    });
    s.input(Input::TransportOpened);
    let mut hostile = welcome(vec![], false);
    if let ServerMessage::Connected {
        heartbeat_interval_ms,
        heartbeat_timeout_ms,
        reconnect_window_ms,
        ..
    } = &mut hostile
    {
        (
            *heartbeat_interval_ms,
            *heartbeat_timeout_ms,
            *reconnect_window_ms,
        ) = (u64::MAX, u64::MAX, u64::MAX);
    }
    s.input(Input::Message(hostile));
    let next = s.core.poll_timeout().expect("a heartbeat is due");
    assert!(next <= s.now + Duration::from_secs(600));
    // Losing the link and running out the window works with the clamped values.
    s.input(Input::TransportClosed);
    s.advance(Duration::from_secs(601));
    assert_eq!(s.core.status(), SessionStatus::NotConnected);
}
