//! What each role may ask, decided once for every request before anything acts on it. Rules that
//! depend on the target (a stream is one's own, a subscription exists) are checked where the target
//! is looked up.

use otter_protocol::{ErrorCode, OtError, Request, Role};

/// Whether `role` may make `request` at all.
pub(super) fn authorize(role: Role, request: &Request) -> Result<(), OtError> {
    match request {
        // OpenTok lets every role signal except `publisheronly`, which may only publish.
        Request::Signal { .. } if role == Role::PublisherOnly => {
            Err(ErrorCode::Forbidden.with_message("this token's role cannot send signals"))
        }
        Request::Publish { .. } if !role.can_publish() => {
            Err(ErrorCode::UnableToPublish.with_message("a subscriber token cannot publish"))
        }
        Request::Subscribe { .. } if !role.can_subscribe() => {
            Err(ErrorCode::UnableToSubscribe.with_message("a publisheronly token cannot subscribe"))
        }
        Request::ForceDisconnect { .. } if !role.is_moderator() => {
            Err(ErrorCode::ForceDisconnectDenied
                .with_message("force-disconnect needs the moderator role"))
        }
        Request::ForceMute { .. } if !role.is_moderator() => {
            Err(ErrorCode::ForceUnpublishDenied.with_message("force-mute needs the moderator role"))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use otter_protocol::{ConnectionId, StreamId};

    use super::*;

    fn all_requests() -> Vec<Request> {
        let stream_id = StreamId::new("s").unwrap();
        vec![
            Request::Signal {
                to: None,
                signal_type: String::new(),
                data: String::new(),
            },
            Request::Publish {
                name: String::new(),
                has_audio: true,
                has_video: true,
                video_type: Default::default(),
                video_dimensions: (0, 0),
                sdp_offer: None,
            },
            Request::Subscribe {
                subscription_id: otter_protocol::SubscriptionId::new("x").unwrap(),
                stream_id: stream_id.clone(),
                sdp_offer: String::new(),
                audio: true,
                video: true,
                preferred_resolution: None,
            },
            Request::Unpublish { stream_id },
            Request::ForceDisconnect {
                connection_id: ConnectionId::new("c").unwrap(),
            },
            Request::ForceMute {
                stream_id: None,
                excluded_stream_ids: Vec::new(),
                active: true,
            },
        ]
    }

    /// The OpenTok role table: which role may make which request (the target checks come later).
    #[test]
    fn the_role_table() {
        let allowed = |role| -> Vec<&'static str> {
            all_requests()
                .iter()
                .filter(|r| authorize(role, r).is_ok())
                .map(Request::name)
                .collect()
        };
        assert_eq!(
            allowed(Role::Subscriber),
            ["signal", "subscribe", "unpublish"]
        );
        assert_eq!(allowed(Role::PublisherOnly), ["publish", "unpublish"]);
        assert_eq!(
            allowed(Role::Publisher),
            ["signal", "publish", "subscribe", "unpublish"]
        );
        assert_eq!(allowed(Role::Moderator).len(), all_requests().len());
    }
}
