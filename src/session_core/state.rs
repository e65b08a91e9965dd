//! The client's view of a session, and how server news changes it.

use otter_protocol::{
    Connection, DisconnectReason, IceServer, Role, Stream, StreamDestroyedReason, StreamId,
};

use otter_protocol::ice_server::{MAX_ICE_SERVERS, MAX_ICE_SERVER_URLS};

use super::SessionStatus;

/// A snapshot of a session as this client sees it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SessionState {
    /// Where the session is.
    pub status: SessionStatus,
    /// This client's connection, once connected.
    pub connection: Option<Connection>,
    /// This client's role, once connected.
    pub role: Option<Role>,
    /// The other connections.
    pub connections: Vec<Connection>,
    /// All streams in the session, this client's own included.
    pub streams: Vec<Stream>,
    /// The STUN/TURN servers the session server advertised for media (fresh on every resume; at most
    /// `MAX_ICE_SERVERS`). Publishers and subscribers use them unless
    /// [`IceConfig::include_servers`](crate::IceConfig::include_servers) says otherwise.
    pub ice_servers: Vec<IceServer>,
    /// For this client's simulcast streams: which video layers some subscriber receives (bit `l` =
    /// layer `l`, 0 the best), as the server last said. The publisher pauses the others.
    pub layers_wanted: Vec<(StreamId, u8)>,
}

/// A difference between two views, as events to report.
#[derive(Debug, PartialEq)]
pub(super) enum Change {
    ConnectionCreated(Connection),
    ConnectionDestroyed(Connection, DisconnectReason),
    StreamCreated(Stream),
    StreamDestroyed(Stream, StreamDestroyedReason),
}

impl SessionState {
    /// The server's word on which of an own simulcast stream's layers are wanted. Only streams still
    /// here are kept: a long session's past streams do not pile up.
    pub(super) fn set_layers_wanted(&mut self, stream_id: StreamId, layers: u8) {
        let streams = &self.streams;
        self.layers_wanted
            .retain(|(id, _)| *id != stream_id && streams.iter().any(|s| s.stream_id == *id));
        self.layers_wanted.push((stream_id, layers));
    }

    pub(super) fn add_connection(&mut self, c: Connection) -> bool {
        if self
            .connections
            .iter()
            .any(|x| x.connection_id == c.connection_id)
        {
            return false;
        }
        self.connections.push(c);
        true
    }

    pub(super) fn remove_connection(&mut self, c: &Connection) -> bool {
        let before = self.connections.len();
        self.connections
            .retain(|x| x.connection_id != c.connection_id);
        before != self.connections.len()
    }

    pub(super) fn add_stream(&mut self, s: Stream) -> bool {
        if self.streams.iter().any(|x| x.stream_id == s.stream_id) {
            return false;
        }
        self.streams.push(s);
        true
    }

    pub(super) fn remove_stream(&mut self, s: &Stream) -> bool {
        let before = self.streams.len();
        self.streams.retain(|x| x.stream_id != s.stream_id);
        before != self.streams.len()
    }

    pub(super) fn replace_stream(&mut self, s: Stream) {
        if let Some(x) = self.streams.iter_mut().find(|x| x.stream_id == s.stream_id) {
            *x = s;
        }
    }

    /// Replaces the view with the server's after a resume, returning what changed while away.
    /// Whatever vanished meanwhile is reported as a network loss: this client cannot know better.
    pub(super) fn catch_up(
        &mut self,
        connections: Vec<Connection>,
        streams: Vec<Stream>,
    ) -> Vec<Change> {
        let mut changes = Vec::new();
        for s in &self.streams {
            if !streams.iter().any(|x| x.stream_id == s.stream_id) {
                changes.push(Change::StreamDestroyed(
                    s.clone(),
                    StreamDestroyedReason::NetworkDisconnected,
                ));
            }
        }
        for c in &self.connections {
            if !connections
                .iter()
                .any(|x| x.connection_id == c.connection_id)
            {
                changes.push(Change::ConnectionDestroyed(
                    c.clone(),
                    DisconnectReason::NetworkDisconnected,
                ));
            }
        }
        for c in &connections {
            if !self
                .connections
                .iter()
                .any(|x| x.connection_id == c.connection_id)
            {
                changes.push(Change::ConnectionCreated(c.clone()));
            }
        }
        for s in &streams {
            if !self.streams.iter().any(|x| x.stream_id == s.stream_id) {
                changes.push(Change::StreamCreated(s.clone()));
            }
        }
        self.connections = connections;
        self.streams = streams;
        changes
    }
}

/// A server's ICE server list cut to what a client takes (a hostile list must not grow its ICE agent).
pub(super) fn bounded(mut servers: Vec<IceServer>) -> Vec<IceServer> {
    servers.truncate(MAX_ICE_SERVERS);
    for server in &mut servers {
        server.urls.truncate(MAX_ICE_SERVER_URLS);
    }
    servers
}
