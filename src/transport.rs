//! The signalling transport: one WebSocket carrying JSON text frames.

use futures_util::{SinkExt, StreamExt};
use otter_protocol::{ClientMessage, ServerMessage, MAX_FRAME_BYTES};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// An open signalling socket.
pub(crate) struct Transport {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

/// What came off the socket.
pub(crate) enum Inbound {
    /// A message.
    Message(Box<ServerMessage>),
    /// Something that is not a valid message (ignored, but it proves the link is alive).
    Garbage(String),
    /// The socket closed or failed.
    Closed,
}

impl Transport {
    /// Opens a socket to `url` (`ws://` or `wss://`).
    pub(crate) async fn open(url: &str) -> Result<Self, String> {
        // The ring provider is the one compiled in; installing it is idempotent.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let config = WebSocketConfig::default()
            .max_message_size(Some(MAX_FRAME_BYTES))
            .max_frame_size(Some(MAX_FRAME_BYTES));
        let (ws, _) = tokio_tungstenite::connect_async_with_config(url, Some(config), true)
            .await
            .map_err(|e| e.to_string())?;
        Ok(Self { ws })
    }

    /// Sends one message.
    pub(crate) async fn send(&mut self, message: &ClientMessage) -> Result<(), String> {
        self.ws
            .send(Message::Text(message.encode().into()))
            .await
            .map_err(|e| e.to_string())
    }

    /// The next inbound message. Cancel-safe.
    pub(crate) async fn recv(&mut self) -> Inbound {
        loop {
            return match self.ws.next().await {
                Some(Ok(Message::Text(text))) => match ServerMessage::decode(&text) {
                    Ok(m) => Inbound::Message(Box::new(m)),
                    Err(e) => Inbound::Garbage(e.to_string()),
                },
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => Inbound::Closed,
                Some(Ok(Message::Binary(_))) => Inbound::Garbage("binary frame".into()),
                Some(Ok(_)) => continue,
            };
        }
    }

    /// Sends a close frame (best effort) and drops the socket.
    pub(crate) async fn close(mut self) {
        let _ =
            tokio::time::timeout(std::time::Duration::from_millis(500), self.ws.close(None)).await;
    }
}
