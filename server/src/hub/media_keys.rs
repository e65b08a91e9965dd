//! How the hub names a session's media at the SFU, and what it does when the SFU reports media that
//! ended on its own. Every key starts with the session ID, so no request of one session can name
//! another session's media (stream and connection IDs alone are only unique by chance), and an SFU
//! event finds its session without a lookup table.

use otter_protocol::{ConnectionId, SessionId, StreamId, SubscriptionId};
use tokio::sync::mpsc;

use super::commands::{Command, MediaGone};
use super::Hub;
use crate::sfu::SfuEvent;

/// Separates the session ID from the rest of a key; no ID contains it.
const SEPARATOR: char = '|';

/// The SFU's name for a published stream.
pub(super) fn stream_key(session: &SessionId, stream: &StreamId) -> String {
    format!("{}{SEPARATOR}{}", session.as_str(), stream.as_str())
}

/// The SFU's name for a subscription.
pub(super) fn subscription_key(
    session: &SessionId,
    connection: &ConnectionId,
    subscription: &SubscriptionId,
) -> String {
    format!(
        "{}{SEPARATOR}{}/{}",
        session.as_str(),
        connection.as_str(),
        subscription.as_str()
    )
}

/// Which session an SFU event is about, and what ended.
fn parse(event: &SfuEvent) -> Option<(SessionId, MediaGone)> {
    let (key, stream) = match event {
        SfuEvent::PublisherGone(key) => (key, true),
        SfuEvent::SubscriberGone(key) => (key, false),
        SfuEvent::LayersWanted { .. } => return None,
    };
    let (session, rest) = key.split_once(SEPARATOR)?;
    let session = SessionId::new(session).ok()?;
    let gone = if stream {
        MediaGone::Stream(StreamId::new(rest).ok()?)
    } else {
        let (connection, subscription) = rest.split_once('/')?;
        MediaGone::Subscription(
            ConnectionId::new(connection).ok()?,
            SubscriptionId::new(subscription).ok()?,
        )
    };
    Some((session, gone))
}

/// Hands each SFU event to its session's actor, until the SFU stops.
/// The session and command an SFU event becomes.
fn route(event: &SfuEvent) -> Option<(SessionId, Command)> {
    if let SfuEvent::LayersWanted { stream, layers } = event {
        let (session, stream) = stream.split_once(SEPARATOR)?;
        let command = Command::LayersWanted {
            stream_id: StreamId::new(stream).ok()?,
            layers: *layers,
        };
        return Some((SessionId::new(session).ok()?, command));
    }
    parse(event).map(|(session, gone)| (session, Command::MediaGone(gone)))
}

/// Hands each SFU event to its session's actor, until the SFU stops.
pub async fn forward_sfu_events(hub: Hub, mut events: mpsc::Receiver<SfuEvent>) {
    while let Some(event) = events.recv().await {
        let Some((session, command)) = route(&event) else {
            tracing::debug!(?event, "SFU event for no session");
            continue;
        };
        // A session that has ended already has nothing left to clean up or tell.
        hub.send(&session, command, false).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_through_events() {
        let session = SessionId::new(
            crate::session_ids::new_session_id(
                &crate::config::Project {
                    api_key: "123".into(),
                    api_secret: "s".into(),
                },
                "",
            )
            .as_str(),
        )
        .unwrap();
        let stream = StreamId::new("abc-1").unwrap();
        let key = stream_key(&session, &stream);
        assert_eq!(
            parse(&SfuEvent::PublisherGone(key)),
            Some((session.clone(), MediaGone::Stream(stream)))
        );
        let (c, s) = (
            ConnectionId::new("c-1").unwrap(),
            SubscriptionId::new("s_2").unwrap(),
        );
        let key = subscription_key(&session, &c, &s);
        assert_eq!(
            parse(&SfuEvent::SubscriberGone(key)),
            Some((session.clone(), MediaGone::Subscription(c, s)))
        );
        assert_eq!(parse(&SfuEvent::PublisherGone("no-separator".into())), None);
        let wanted = SfuEvent::LayersWanted {
            stream: stream_key(&session, &StreamId::new("abc-1").unwrap()),
            layers: 0b101,
        };
        assert!(matches!(
            route(&wanted),
            Some((s, Command::LayersWanted { stream_id, layers: 0b101 }))
                if s == session && stream_id.as_str() == "abc-1"
        ));
    }
}
