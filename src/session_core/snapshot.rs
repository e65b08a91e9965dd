//! A big session's snapshot arrives in parts (`connected`/`resumed` with `more`, then `roster` frames;
//! see `otter_protocol::roster`): the core holds it back until the last part is in, so the state machine
//! sees one whole snapshot as it always did.

use otter_protocol::{roster, ServerMessage};

use super::SessionCore;

impl SessionCore {
    /// Holds back a snapshot sent in parts (`more: true`) until its last `roster` frame is in, then
    /// returns it whole; other messages pass through.
    pub(super) fn assemble_snapshot(&mut self, message: ServerMessage) -> Option<ServerMessage> {
        let (connections, streams, more) = match message {
            ServerMessage::Connected { more: true, .. }
            | ServerMessage::Resumed { more: true, .. } => {
                self.snapshot = Some(message);
                return None;
            }
            ServerMessage::Roster {
                connections,
                streams,
                more,
            } => (connections, streams, more),
            other => {
                // Anything else in the middle of a snapshot abandons it: the server never interleaves.
                if self.snapshot.take().is_some() {
                    self.unexpected("a message inside a roster");
                }
                return Some(other);
            }
        };
        let Some(
            ServerMessage::Connected {
                connections: all_connections,
                streams: all_streams,
                ..
            }
            | ServerMessage::Resumed {
                connections: all_connections,
                streams: all_streams,
                ..
            },
        ) = self.snapshot.as_mut()
        else {
            self.unexpected("roster");
            return None;
        };
        all_connections.extend(connections);
        all_streams.extend(streams);
        if all_connections.len() + all_streams.len() > roster::MAX_SNAPSHOT_ENTRIES {
            self.snapshot = None;
            self.unexpected("a roster over the snapshot limit");
            return None;
        }
        if more {
            return None;
        }
        self.snapshot.take()
    }
}
