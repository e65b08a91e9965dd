//! Session events as the flat JSON objects of `otter join` (CLI.md): `{"event": name, …fields}`.

use otter_rtc::{Connection, SessionEvent, Stream};
use serde_json::{json, Map, Value};

fn connection_fields(m: &mut Map<String, Value>, c: &Connection) {
    m.insert("connection_id".into(), json!(c.connection_id.as_str()));
    m.insert("data".into(), json!(c.data));
    m.insert("creation_time".into(), json!(c.creation_time));
}

fn stream_fields(m: &mut Map<String, Value>, s: &Stream) {
    m.insert("stream_id".into(), json!(s.stream_id.as_str()));
    m.insert(
        "connection_id".into(),
        json!(s.connection.connection_id.as_str()),
    );
    m.insert("name".into(), json!(s.name));
    m.insert("has_audio".into(), json!(s.has_audio));
    m.insert("has_video".into(), json!(s.has_video));
    m.insert("video_type".into(), json!(s.video_type));
    m.insert("width".into(), json!(s.video_dimensions.0));
    m.insert("height".into(), json!(s.video_dimensions.1));
}

/// One event as a JSON line's object.
pub fn event_json(event: &SessionEvent) -> Value {
    let mut m = Map::new();
    m.insert("event".into(), json!(event.name()));
    let session_id = match event {
        SessionEvent::SessionConnected(e) => {
            connection_fields(&mut m, &e.connection);
            Some(&e.session_id)
        }
        SessionEvent::SessionDisconnected(e) => {
            m.insert("reason".into(), json!(e.reason));
            Some(&e.session_id)
        }
        SessionEvent::SessionReconnecting(e) | SessionEvent::SessionReconnected(e) => {
            Some(&e.session_id)
        }
        SessionEvent::ConnectionCreated(e) => {
            connection_fields(&mut m, &e.connection);
            Some(&e.session_id)
        }
        SessionEvent::ConnectionDestroyed(e) => {
            connection_fields(&mut m, &e.connection);
            m.insert("reason".into(), json!(e.reason));
            Some(&e.session_id)
        }
        SessionEvent::StreamCreated(e) => {
            stream_fields(&mut m, &e.stream);
            Some(&e.session_id)
        }
        SessionEvent::StreamDestroyed(e) => {
            stream_fields(&mut m, &e.stream);
            m.insert("reason".into(), json!(e.reason));
            Some(&e.session_id)
        }
        SessionEvent::StreamPropertyChanged(e) => {
            stream_fields(&mut m, &e.stream);
            // `changed_property`, `old_value`, `new_value`: the wire's own flat shape.
            if let serde_json::Value::Object(change) = json!(e.change) {
                m.extend(change);
            }
            Some(&e.session_id)
        }
        SessionEvent::Signal(e) => {
            m.insert("signal_type".into(), json!(e.signal_type));
            m.insert("data".into(), json!(e.data));
            m.insert(
                "from".into(),
                json!(e.from.as_ref().map(|c| c.connection_id.as_str())),
            );
            Some(&e.session_id)
        }
        SessionEvent::MuteForced(e) => {
            m.insert("active".into(), json!(e.active));
            m.insert(
                "stream_id".into(),
                json!(e.stream_id.as_ref().map(|s| s.as_str())),
            );
            Some(&e.session_id)
        }
        SessionEvent::Error(e) => {
            m.insert("code".into(), json!(e.error.code));
            m.insert("name".into(), json!(e.error.name));
            m.insert("message".into(), json!(e.error.message));
            e.session_id.as_ref()
        }
        _ => None,
    };
    m.insert("session_id".into(), json!(session_id.map(|s| s.as_str())));
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use otter_rtc::{ErrorCode, ErrorEvent};

    #[test]
    fn errors_are_flat() {
        let e = SessionEvent::Error(ErrorEvent {
            session_id: None,
            error: ErrorCode::AuthenticationError.with_message("bad"),
        });
        let v = event_json(&e);
        assert_eq!(v["event"], "error");
        assert_eq!(v["code"], 1004);
        assert_eq!(v["name"], "OT_AUTHENTICATION_ERROR");
        assert_eq!(v["message"], "bad");
    }
}
