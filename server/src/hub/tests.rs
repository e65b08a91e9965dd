//! The session actor in simulated time: each test owns the clock, reads what every member's outbox
//! received and what the actor asked of the SFU. Reconnect windows of 30 s take microseconds.

use std::time::{Duration, Instant};

use otter_protocol::{
    ConnectionId, DisconnectReason, ErrorCode, OtError, Request, Role, ServerMessage, Stream,
    StreamChange, SubscriptionId, VideoType,
};
use tokio::sync::{mpsc, oneshot};

use super::actor::SessionActor;
use super::commands::{Command, Epoch, MediaOutcome, OUTBOX_CAPACITY};
use super::sfu_work::SfuWork;
use crate::config::Limits;
use crate::metrics::Metrics;

/// The actor, the clock and the requests' next id.
struct Sim {
    actor: SessionActor,
    now: Instant,
    next_id: u64,
}

/// A member as its socket task would see it.
struct Client {
    id: ConnectionId,
    epoch: Epoch,
    resume_key: String,
    frames: mpsc::Receiver<axum::extract::ws::Utf8Bytes>,
}

impl Sim {
    fn new(limits: Limits) -> Sim {
        let now = Instant::now();
        let project = crate::config::Project {
            api_key: "123".into(),
            api_secret: "secret".into(),
        };
        let session = crate::session_ids::new_session_id(&project, "");
        let actor = SessionActor::new(session, limits, Metrics::default().into(), now);
        Sim {
            actor,
            now,
            next_id: 1,
        }
    }

    fn join(&mut self, role: Role) -> Result<Client, OtError> {
        let (outbox, frames) = mpsc::channel(OUTBOX_CAPACITY);
        let (reply, mut answer) = oneshot::channel();
        let command = Command::Join {
            socketless: false,
            data: String::new(),
            role,
            outbox,
            reply,
        };
        self.actor.handle(command, self.now);
        let joined = answer.try_recv().expect("the actor answers at once")?;
        Ok(Client {
            id: joined.connection.connection_id,
            epoch: joined.epoch,
            resume_key: joined.resume_key,
            frames,
        })
    }

    /// Resumes `client` on a new outbox; on success its epoch and frames are the new link's.
    fn resume(&mut self, client: &mut Client) -> Result<(), OtError> {
        let (outbox, frames) = mpsc::channel(OUTBOX_CAPACITY);
        let (reply, mut answer) = oneshot::channel();
        let command = Command::Resume {
            connection_id: client.id.clone(),
            resume_key: client.resume_key.clone(),
            outbox,
            reply,
        };
        self.actor.handle(command, self.now);
        let resumed = answer.try_recv().expect("the actor answers at once")?;
        client.epoch = resumed.epoch;
        client.frames = frames;
        Ok(())
    }

    fn lose_link(&mut self, client: &Client) {
        let command = Command::LinkLost {
            connection_id: client.id.clone(),
            epoch: client.epoch,
        };
        self.actor.handle(command, self.now);
    }

    /// Sends a request; returns its id.
    fn request(&mut self, client: &Client, request: Request) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        let command = Command::FromClient {
            connection_id: client.id.clone(),
            epoch: client.epoch,
            request: otter_protocol::Envelope { id, request },
        };
        self.actor.handle(command, self.now);
        id
    }

    fn media_ready(&mut self, client: &Client, request: u64, outcome: MediaOutcome) {
        let command = Command::MediaReady {
            connection_id: client.id.clone(),
            request,
            outcome,
        };
        self.actor.handle(command, self.now);
    }

    /// Lets simulated time pass, firing the actor's deadlines on the way.
    fn advance(&mut self, by: Duration) {
        let end = self.now + by;
        while let Some(due) = self.actor.next_deadline().filter(|d| *d <= end) {
            self.now = due.max(self.now);
            self.actor.on_timeout(self.now);
        }
        self.now = end;
    }

    fn sfu_work(&mut self) -> Vec<SfuWork> {
        std::mem::take(&mut self.actor.sfu_work)
    }
}

impl Client {
    fn received(&mut self) -> Vec<ServerMessage> {
        let mut out = Vec::new();
        while let Ok(frame) = self.frames.try_recv() {
            out.push(ServerMessage::decode(&frame).expect("the actor sends valid frames"));
        }
        out
    }

    fn reply(&mut self, id: u64) -> Result<(Option<Stream>, Option<String>), OtError> {
        self.received()
            .into_iter()
            .find_map(|m| match m {
                ServerMessage::Reply {
                    id: i,
                    stream,
                    sdp_answer,
                    error,
                } if i == id => Some(error.map_or(Ok((stream, sdp_answer)), Err)),
                _ => None,
            })
            .expect("a reply")
    }
}

fn publish(sdp_offer: Option<&str>) -> Request {
    Request::Publish {
        name: "cam".into(),
        has_audio: true,
        has_video: true,
        video_type: VideoType::Camera,
        video_dimensions: (640, 480),
        sdp_offer: sdp_offer.map(str::to_owned),
    }
}

fn signal(data: &str) -> Request {
    Request::Signal {
        to: None,
        signal_type: "chat".into(),
        data: data.into(),
    }
}

fn destroyed(messages: &[ServerMessage], id: &ConnectionId) -> Option<DisconnectReason> {
    messages.iter().find_map(|m| match m {
        ServerMessage::ConnectionDestroyed { connection, reason }
            if &connection.connection_id == id =>
        {
            Some(*reason)
        }
        _ => None,
    })
}

const WINDOW: Duration = Duration::from_secs(30);

#[test]
fn a_dropped_link_resumed_inside_the_window_goes_unnoticed() {
    let mut sim = Sim::new(Limits::default());
    let mut roamer = sim.join(Role::Publisher).unwrap();
    let mut other = sim.join(Role::Publisher).unwrap();
    other.received();
    sim.lose_link(&roamer);
    sim.advance(WINDOW - Duration::from_millis(1));
    sim.resume(&mut roamer).expect("resumed inside the window");
    sim.advance(WINDOW * 3);
    assert_eq!(other.received(), [], "the others heard of a resumed link");

    // The old link's late news cannot touch the new one.
    let stale = Command::LinkLost {
        connection_id: roamer.id.clone(),
        epoch: roamer.epoch - 1,
    };
    sim.actor.handle(stale, sim.now);
    assert_eq!(sim.actor.next_deadline(), None);
}

#[test]
fn a_dropped_link_ends_when_the_window_does() {
    let mut sim = Sim::new(Limits::default());
    let mut roamer = sim.join(Role::Publisher).unwrap();
    let mut other = sim.join(Role::Publisher).unwrap();
    sim.request(&roamer, publish(None));
    other.received();
    sim.lose_link(&roamer);
    sim.advance(WINDOW - Duration::from_millis(1));
    assert_eq!(other.received(), []);
    sim.advance(Duration::from_millis(2));
    let seen = other.received();
    assert_eq!(
        destroyed(&seen, &roamer.id),
        Some(DisconnectReason::NetworkDisconnected)
    );
    assert!(seen
        .iter()
        .any(|m| matches!(m, ServerMessage::StreamDestroyed { .. })));
    let refused = sim.resume(&mut roamer).unwrap_err();
    assert_eq!(refused.code, ErrorCode::NotConnected.code());
}

#[test]
fn a_goodbye_from_a_link_already_counted_dropped_is_a_clean_leave() {
    let mut sim = Sim::new(Limits::default());
    let leaver = sim.join(Role::Publisher).unwrap();
    let mut other = sim.join(Role::Publisher).unwrap();
    sim.lose_link(&leaver);
    let leave = Command::Leave {
        connection_id: leaver.id.clone(),
        epoch: leaver.epoch,
    };
    sim.actor.handle(leave, sim.now);
    let seen = other.received();
    assert_eq!(
        destroyed(&seen, &leaver.id),
        Some(DisconnectReason::ClientDisconnected)
    );
}

#[test]
fn the_connection_cap_holds_and_a_newcomer_sees_everyone() {
    let limits = Limits {
        max_connections_per_session: 50,
        ..Default::default()
    };
    let mut sim = Sim::new(limits);
    let mut members: Vec<Client> = (0..49)
        .map(|_| sim.join(Role::Publisher).unwrap())
        .collect();
    let (outbox, _frames) = mpsc::channel(OUTBOX_CAPACITY);
    let (reply, mut answer) = oneshot::channel();
    let command = Command::Join {
        socketless: false,
        data: "last".into(),
        role: Role::Publisher,
        outbox,
        reply,
    };
    sim.actor.handle(command, sim.now);
    let last = answer.try_recv().unwrap().unwrap();
    assert_eq!(last.connections.len(), 49);
    let refused = sim
        .join(Role::Publisher)
        .err()
        .expect("the 51st is refused");
    assert_eq!(refused.code, ErrorCode::ConnectionLimitExceeded.code());
    // Everyone already in heard of every later join: the first member, of 48 others and the last.
    let heard = members[0]
        .received()
        .into_iter()
        .filter(|m| matches!(m, ServerMessage::ConnectionCreated { .. }))
        .count();
    assert_eq!(heard, 49);
    members.clear();
}

#[test]
fn the_session_signal_budget_refills_with_time() {
    let limits = Limits {
        session_signal_burst: 5,
        session_signals_per_second: 5,
        ..Default::default()
    };
    let mut sim = Sim::new(limits);
    let mut talker = sim.join(Role::Publisher).unwrap();
    let ids: Vec<u64> = (0..6)
        .map(|i| sim.request(&talker, signal(&i.to_string())))
        .collect();
    let replies = talker.received();
    let refused: Vec<u64> = replies
        .iter()
        .filter_map(|m| match m {
            ServerMessage::Reply {
                id, error: Some(e), ..
            } => {
                assert_eq!(e.code, ErrorCode::RateLimited.code());
                Some(*id)
            }
            _ => None,
        })
        .collect();
    assert_eq!(refused, [ids[5]]);
    sim.advance(Duration::from_millis(400));
    let again = sim.request(&talker, signal("later"));
    assert!(talker.reply(again).is_ok(), "the budget did not refill");
}

#[test]
fn a_stream_is_announced_only_once_the_sfu_has_answered() {
    let mut sim = Sim::new(Limits::default());
    let mut publisher = sim.join(Role::Publisher).unwrap();
    let mut viewer = sim.join(Role::Subscriber).unwrap();
    viewer.received();
    let id = sim.request(&publisher, publish(Some("offer")));
    let [SfuWork::Publish { stream, offer, .. }] = &sim.sfu_work()[..] else {
        panic!("one publish for the SFU");
    };
    assert_eq!(offer, "offer");
    assert_eq!(viewer.received(), [], "announced before the SFU answered");
    let outcome = MediaOutcome::Published {
        stream: stream.clone(),
        answer: Ok("answer".into()),
    };
    sim.media_ready(&publisher, id, outcome);
    let (created, sdp) = publisher.reply(id).unwrap();
    assert_eq!(
        (created.as_ref(), sdp.as_deref()),
        (Some(stream), Some("answer"))
    );
    let seen = viewer.received();
    assert!(matches!(&seen[..], [ServerMessage::StreamCreated { stream: s }] if s == stream));

    // A refusal is answered and announces nothing.
    let id = sim.request(&publisher, publish(Some("bad")));
    let [SfuWork::Publish { stream, .. }] = &sim.sfu_work()[..] else {
        panic!("one publish for the SFU");
    };
    let outcome = MediaOutcome::Published {
        stream: stream.clone(),
        answer: Err(ErrorCode::UnableToPublish.with_message("bad offer")),
    };
    sim.media_ready(&publisher, id, outcome);
    assert_eq!(
        publisher.reply(id).unwrap_err().code,
        ErrorCode::UnableToPublish.code()
    );
    assert_eq!(viewer.received(), []);
    assert_eq!(sim.actor.streams.len(), 1);
}

#[test]
fn media_negotiated_for_a_client_that_left_is_undone() {
    let mut sim = Sim::new(Limits::default());
    let publisher = sim.join(Role::Publisher).unwrap();
    let _stays = sim.join(Role::Publisher).unwrap();
    let id = sim.request(&publisher, publish(Some("offer")));
    let [SfuWork::Publish { stream, key, .. }] = &sim.sfu_work()[..] else {
        panic!("one publish for the SFU");
    };
    let (stream, key) = (stream.clone(), key.clone());
    let leave = Command::Leave {
        connection_id: publisher.id.clone(),
        epoch: publisher.epoch,
    };
    sim.actor.handle(leave, sim.now);
    sim.sfu_work();
    let outcome = MediaOutcome::Published {
        stream,
        answer: Ok("answer".into()),
    };
    sim.media_ready(&publisher, id, outcome);
    assert_eq!(sim.sfu_work(), [SfuWork::Unpublish { key }]);
    assert!(sim.actor.streams.is_empty());
}

/// Bug 3 of issue 11, at the actor: quick toggles reach the SFU in the order they were made.
#[test]
fn a_hundred_toggles_reach_the_sfu_in_order_and_end_in_the_last_state() {
    let mut sim = Sim::new(Limits::default());
    let publisher = sim.join(Role::Publisher).unwrap();
    let mut viewer = sim.join(Role::Subscriber).unwrap();
    let id = sim.request(&publisher, publish(None));
    let _ = id;
    let stream_id = sim.actor.streams[0].stream_id.clone();
    let subscription_id = SubscriptionId::new("sub-1").unwrap();
    let subscribe = Request::Subscribe {
        subscription_id: subscription_id.clone(),
        stream_id,
        sdp_offer: "offer".into(),
        audio: true,
        video: true,
        preferred_resolution: Some((320, 240)),
    };
    let id = sim.request(&viewer, subscribe);
    // The view's size follows the subscription on the same ordered line.
    assert!(matches!(
        &sim.sfu_work()[..],
        [
            SfuWork::Subscribe { .. },
            SfuWork::SetPreferredSize {
                size: Some((320, 240)),
                ..
            }
        ]
    ));
    let outcome = MediaOutcome::Subscribed {
        subscription_id: subscription_id.clone(),
        audio: true,
        video: true,
        answer: Ok("answer".into()),
    };
    sim.media_ready(&viewer, id, outcome);
    assert!(viewer.reply(id).is_ok());

    for i in 0..100 {
        let toggle = Request::UpdateSubscription {
            subscription_id: subscription_id.clone(),
            audio: None,
            video: Some(i % 2 == 1),
            preferred_resolution: None,
        };
        sim.request(&viewer, toggle);
    }
    let videos: Vec<bool> = sim
        .sfu_work()
        .into_iter()
        .map(|w| match w {
            SfuWork::SetForwarding {
                audio: true, video, ..
            } => video,
            other => panic!("unexpected SFU work {other:?}"),
        })
        .collect();
    let expected: Vec<bool> = (0..100).map(|i| i % 2 == 1).collect();
    assert_eq!(videos, expected);

    // A new view size alone changes no forwarding; (0, 0) lifts the preference.
    for (size, expected) in [((160, 120), Some((160, 120))), ((0, 0), None)] {
        let resize = Request::UpdateSubscription {
            subscription_id: subscription_id.clone(),
            audio: None,
            video: None,
            preferred_resolution: Some(size),
        };
        sim.request(&viewer, resize);
        match &sim.sfu_work()[..] {
            [SfuWork::SetPreferredSize { size, .. }] => assert_eq!(*size, expected),
            other => panic!("unexpected SFU work {other:?}"),
        }
    }
}

#[test]
fn stream_changes_are_typed_and_only_real_changes_are_announced() {
    let mut sim = Sim::new(Limits::default());
    let publisher = sim.join(Role::Publisher).unwrap();
    let mut viewer = sim.join(Role::Subscriber).unwrap();
    sim.request(&publisher, publish(None));
    let stream_id = sim.actor.streams[0].stream_id.clone();
    viewer.received();
    let mute = Request::UpdateStream {
        stream_id: stream_id.clone(),
        has_audio: Some(false),
        has_video: Some(true), // unchanged: not announced
        video_dimensions: Some((1280, 720)),
    };
    sim.request(&publisher, mute.clone());
    let changes: Vec<StreamChange> = viewer
        .received()
        .into_iter()
        .filter_map(|m| match m {
            ServerMessage::StreamPropertyChanged { change, .. } => Some(change),
            _ => None,
        })
        .collect();
    assert_eq!(
        changes,
        [
            StreamChange::HasAudio {
                old_value: true,
                new_value: false
            },
            StreamChange::VideoDimensions {
                old_value: (640, 480),
                new_value: (1280, 720)
            },
        ]
    );
    sim.request(&publisher, mute);
    assert_eq!(viewer.received(), [], "a repeated change was announced");
}

#[test]
fn only_a_moderator_ends_anothers_stream() {
    let mut sim = Sim::new(Limits::default());
    let owner = sim.join(Role::Publisher).unwrap();
    let mut stranger = sim.join(Role::Publisher).unwrap();
    let mut moderator = sim.join(Role::Moderator).unwrap();
    sim.request(&owner, publish(None));
    let stream_id = sim.actor.streams[0].stream_id.clone();
    let id = sim.request(
        &stranger,
        Request::Unpublish {
            stream_id: stream_id.clone(),
        },
    );
    let refused = stranger.reply(id).unwrap_err();
    assert_eq!(refused.code, ErrorCode::ForceUnpublishDenied.code());
    assert!(sim
        .sfu_work()
        .iter()
        .all(|w| !matches!(w, SfuWork::Unpublish { .. })));
    let id = sim.request(&moderator, Request::Unpublish { stream_id });
    assert!(moderator.reply(id).is_ok());
    assert!(matches!(&sim.sfu_work()[..], [SfuWork::Unpublish { .. }]));
    assert!(sim.actor.streams.is_empty());
}

#[test]
fn a_member_that_stops_reading_counts_as_dropped_not_as_gone() {
    let limits = Limits {
        session_signal_burst: 10_000,
        ..Default::default()
    };
    let mut sim = Sim::new(limits);
    let mut talker = sim.join(Role::Publisher).unwrap();
    let mut stalled = sim.join(Role::Publisher).unwrap();
    for i in 0..OUTBOX_CAPACITY + 10 {
        sim.request(&talker, signal(&i.to_string()));
        talker.received(); // the talker keeps reading; the other does not
    }
    assert_eq!(
        sim.actor.next_deadline(),
        Some(sim.now + WINDOW),
        "the stalled member's link is not counted dropped"
    );
    // It resumes and stays; nobody saw it leave.
    sim.advance(Duration::from_secs(5));
    sim.resume(&mut stalled).unwrap();
    sim.advance(WINDOW);
    assert_eq!(sim.actor.members.len(), 2);
}
