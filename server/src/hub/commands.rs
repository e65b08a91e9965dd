//! What the outside world asks of a session actor, and what it answers.

use axum::extract::ws::Utf8Bytes;
use otter_protocol::{
    Connection, ConnectionId, Envelope, OtError, Role, Stream, StreamId, SubscriptionId,
};
use tokio::sync::{mpsc, oneshot};

/// Frames for one client's socket, encoded once per broadcast and shared between recipients.
/// Bounded: a client that falls this far behind is treated as a dropped link (it will resume and catch up
/// from a snapshot). Dropping the sender tells the socket task to close.
pub type Outbox = mpsc::Sender<Utf8Bytes>;

/// Frames a client's outbox holds before the client counts as dropped.
pub const OUTBOX_CAPACITY: usize = 256;

/// Which link of a connection a message came over. A resume starts a new epoch, so late news from the
/// old socket task cannot touch the new link.
pub type Epoch = u64;

/// A successful join.
#[derive(Debug)]
pub struct Joined {
    /// The new connection.
    pub connection: Connection,
    /// The other connections present.
    pub connections: Vec<Connection>,
    /// The streams present.
    pub streams: Vec<Stream>,
    /// The secret for a later resume.
    pub resume_key: String,
    /// The link's epoch.
    pub epoch: Epoch,
}

/// A successful resume.
#[derive(Debug)]
pub struct Resumed {
    /// The other connections present now.
    pub connections: Vec<Connection>,
    /// The streams present now.
    pub streams: Vec<Stream>,
    /// The new link's epoch.
    pub epoch: Epoch,
}

/// Requests of the REST API.
#[derive(Debug)]
pub enum RestCommand {
    /// All streams.
    ListStreams(oneshot::Sender<Vec<Stream>>),
    /// Remove a connection (404 when unknown).
    ForceDisconnect(ConnectionId, oneshot::Sender<Result<(), OtError>>),
    /// A signal from the server (`from` = None) to everyone or one connection.
    Signal {
        /// None = everyone.
        to: Option<ConnectionId>,
        /// Its type.
        signal_type: String,
        /// Its data.
        data: String,
        /// Done, or 404.
        reply: oneshot::Sender<Result<(), OtError>>,
    },
    /// Mute one stream, or all streams but some, or lift a mute-all.
    Mute {
        /// One stream, or None for all.
        stream_id: Option<StreamId>,
        /// Streams a mute-all leaves alone.
        excluded: Vec<StreamId>,
        /// false = lift a mute-all.
        active: bool,
        /// Done, or 404 for an unknown stream.
        reply: oneshot::Sender<Result<(), OtError>>,
    },
}

/// A message to a session actor.
#[derive(Debug)]
pub enum Command {
    /// A client with a valid token joins.
    Join {
        /// A WHIP/WHEP resource rather than a socket: it lives only as long as its media.
        socketless: bool,
        /// From the token.
        data: String,
        /// From the token.
        role: Role,
        /// Where its frames go.
        outbox: Outbox,
        /// The answer.
        reply: oneshot::Sender<Result<Joined, OtError>>,
    },
    /// A client takes back its dropped connection.
    Resume {
        /// The connection.
        connection_id: ConnectionId,
        /// The secret from its join.
        resume_key: String,
        /// Where its frames go now.
        outbox: Outbox,
        /// The answer.
        reply: oneshot::Sender<Result<Resumed, OtError>>,
    },
    /// A request from a joined client.
    FromClient {
        /// Who sent it.
        connection_id: ConnectionId,
        /// Over which link.
        epoch: Epoch,
        /// What it asks, with the id the reply echoes.
        request: Envelope,
    },
    /// A client's socket ended without a goodbye: keep it for the reconnect window.
    LinkLost {
        /// Whose.
        connection_id: ConnectionId,
        /// Which link.
        epoch: Epoch,
    },
    /// A client left on purpose.
    Leave {
        /// Who.
        connection_id: ConnectionId,
        /// Over which link.
        epoch: Epoch,
    },
    /// A REST request.
    Rest(RestCommand),
    /// The SFU reports media that ended on its own (ICE failure, silence, never connected).
    MediaGone(MediaGone),
    /// The SFU reports which of a simulcast stream's layers some subscriber wants.
    LayersWanted {
        /// The stream.
        stream_id: StreamId,
        /// Bit `l` = layer `l` (0 the best).
        layers: u8,
    },
    /// A media negotiation this actor started has finished (sent by the actor's own task).
    MediaReady {
        /// Who asked.
        connection_id: ConnectionId,
        /// Their request ID.
        request: u64,
        /// What came of it.
        outcome: MediaOutcome,
    },
}

/// Media of this session that the SFU no longer has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaGone {
    /// A published stream's media.
    Stream(StreamId),
    /// A connection's subscription.
    Subscription(ConnectionId, SubscriptionId),
}

/// The result of a media negotiation with the SFU.
#[derive(Debug)]
pub enum MediaOutcome {
    /// A publisher's offer was answered; the stream is ready to be announced.
    Published {
        /// The stream to announce.
        stream: Stream,
        /// The SDP answer, or why there is none.
        answer: Result<String, OtError>,
    },
    /// A subscriber's offer was answered.
    Subscribed {
        /// The client's subscription.
        subscription_id: SubscriptionId,
        /// Whether audio is forwarded, as asked.
        audio: bool,
        /// Whether video is forwarded, as asked.
        video: bool,
        /// The SDP answer, or why there is none.
        answer: Result<String, OtError>,
    },
}
