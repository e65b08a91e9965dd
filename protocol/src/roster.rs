//! A session snapshot ([`ServerMessage::Connected`], [`ServerMessage::Resumed`]) grows with the session:
//! 3 000 members with 1 000-character data are megabytes of JSON, far over [`MAX_FRAME_BYTES`]. The server
//! therefore splits the roster into pages: the first rides in the snapshot message with `more: true`, the
//! rest follow as [`ServerMessage::Roster`] frames, the last with `more: false`. Every single entry fits a
//! page, because everything in it is size-limited (connection data, stream names, IDs).

use crate::messages::ServerMessage;
use crate::objects::{Connection, Stream};
use crate::MAX_FRAME_BYTES;

/// JSON bytes of entries one frame carries; the rest of the frame is left for the snapshot's other
/// fields (the client's own connection, IDs, the resume key).
pub const PAGE_BYTES: usize = MAX_FRAME_BYTES / 2;

/// The most entries (connections plus streams) a client accepts in one snapshot.
pub const MAX_SNAPSHOT_ENTRIES: usize = 100_000;

/// One page of a roster.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Page {
    /// Connections on this page.
    pub connections: Vec<Connection>,
    /// Streams on this page.
    pub streams: Vec<Stream>,
}

/// Splits a roster into pages of at most [`PAGE_BYTES`] of JSON each (always at least one page).
pub fn paginate(connections: Vec<Connection>, streams: Vec<Stream>) -> Vec<Page> {
    let mut pages = vec![Page::default()];
    let mut used = 0;
    // Starts a new page when `bytes` more would not fit the current one (which is never left empty).
    let mut next = |bytes: usize| {
        let turn = used > 0 && used + bytes > PAGE_BYTES;
        used = if turn { bytes } else { used + bytes };
        turn
    };
    for c in connections {
        if next(json_len(&c)) {
            pages.push(Page::default());
        }
        pages.last_mut().expect("never empty").connections.push(c);
    }
    for s in streams {
        if next(json_len(&s)) {
            pages.push(Page::default());
        }
        pages.last_mut().expect("never empty").streams.push(s);
    }
    pages
}

/// An entry's JSON size, with its separating comma.
fn json_len<T: serde::Serialize>(entry: &T) -> usize {
    serde_json::to_vec(entry).map_or(0, |v| v.len()) + 1
}

/// The frames of a snapshot: `head` builds the first message from the first page and its `more` flag;
/// the other pages follow as [`ServerMessage::Roster`].
pub fn frames(
    connections: Vec<Connection>,
    streams: Vec<Stream>,
    head: impl FnOnce(Page, bool) -> ServerMessage,
) -> Vec<ServerMessage> {
    let mut pages = paginate(connections, streams).into_iter();
    let first = pages.next().unwrap_or_default();
    let rest: Vec<Page> = pages.collect();
    let last = rest.len();
    let mut out = Vec::with_capacity(last + 1);
    out.push(head(first, last > 0));
    for (i, page) in rest.into_iter().enumerate() {
        out.push(ServerMessage::Roster {
            connections: page.connections,
            streams: page.streams,
            more: i + 1 < last,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{ConnectionId, StreamId};
    use crate::limits::MAX_STREAM_NAME_CHARS;
    use crate::objects::VideoType;
    use crate::token::MAX_CONNECTION_DATA_CHARS;

    /// The worst case of JSON escaping: every character a control character (`\u0001`, six bytes).
    fn worst(chars: usize) -> String {
        "\u{1}".repeat(chars)
    }

    fn connection(i: usize) -> Connection {
        Connection {
            connection_id: ConnectionId::new(format!("{i:08}-aaaa-bbbb-cccc-dddddddddddd"))
                .unwrap(),
            creation_time: 1_700_000_000_000,
            data: worst(MAX_CONNECTION_DATA_CHARS),
        }
    }

    fn stream(i: usize) -> Stream {
        Stream {
            stream_id: StreamId::new(format!("{i:08}-eeee-ffff-0000-111111111111")).unwrap(),
            connection: connection(i),
            name: worst(MAX_STREAM_NAME_CHARS),
            has_audio: true,
            has_video: true,
            video_type: VideoType::Camera,
            video_dimensions: (1280, 720),
            creation_time: 1_700_000_000_000,
        }
    }

    #[test]
    fn the_biggest_session_fits_in_frames_under_the_limit() {
        let connections: Vec<_> = (0..3000).map(connection).collect();
        let streams: Vec<_> = (0..3000).map(stream).collect();
        let frames = frames(connections.clone(), streams.clone(), |page, more| {
            ServerMessage::Resumed {
                connections: page.connections,
                streams: page.streams,
                ice_servers: vec![],
                more,
            }
        });
        assert!(frames.len() > 100, "{}", frames.len());
        let (mut c, mut s) = (Vec::new(), Vec::new());
        for (i, f) in frames.iter().enumerate() {
            let text = f.encode();
            assert!(
                text.len() <= MAX_FRAME_BYTES / 2 + 1024,
                "frame {i}: {} bytes",
                text.len()
            );
            assert_eq!(ServerMessage::decode(&text).as_ref(), Ok(f));
            match f.clone() {
                ServerMessage::Resumed {
                    connections,
                    streams,
                    more,
                    ..
                }
                | ServerMessage::Roster {
                    connections,
                    streams,
                    more,
                } => {
                    assert_eq!(more, i + 1 < frames.len());
                    c.extend(connections);
                    s.extend(streams);
                }
                other => panic!("{other:?}"),
            }
        }
        assert_eq!((c, s), (connections, streams), "every entry once, in order");
    }

    #[test]
    fn a_small_session_is_one_frame() {
        let frames = frames(vec![connection(1)], vec![], |page, more| {
            ServerMessage::Resumed {
                connections: page.connections,
                streams: page.streams,
                ice_servers: vec![],
                more,
            }
        });
        assert_eq!(frames.len(), 1);
        assert!(
            !frames[0].encode().contains("more"),
            "old clients see the old shape"
        );
    }
}
