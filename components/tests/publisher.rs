//! `OTPublisher` headless inside `OTSession`, with the real engine (test pattern + tone) and a server.

mod common;

use std::cell::RefCell;
use std::rc::Rc;

use common::{drive, Fixture, WAIT};
use dioxus::dioxus_core::{NoOpMutations, ScopeId};
use otter::{Session, SessionEvent, StreamDestroyedReason};
use otter_dioxus::prelude::*;

#[derive(Clone)]
struct Props {
    session_id: String,
    token: String,
    options: SessionOptions,
    /// (mounted, publish_video), changed by the test.
    publisher: Rc<RefCell<(bool, bool)>>,
}

fn root(props: Props) -> Element {
    let (mounted, publish_video) = *props.publisher.borrow();
    let properties = PublisherProperties {
        video_source: VideoSourceChoice::TestPattern,
        audio_source: AudioSourceChoice::Tone(440.0),
        resolution: (320, 240),
        frame_rate: 15,
        publish_video,
        ..Default::default()
    };
    rsx! {
        OTSession { application_id: "100200", session_id: props.session_id.clone(), token: props.token.clone(), options: props.options.clone(),
            if mounted {
                OTPublisher { properties }
            }
        }
    }
}

async fn next_event<T>(
    events: &mut otter::EventStream,
    dom: &mut VirtualDom,
    pick: impl Fn(&SessionEvent) -> Option<T>,
) -> T {
    let start = std::time::Instant::now();
    loop {
        assert!(start.elapsed() < WAIT, "no such event");
        tokio::select! {
            e = events.recv() => if let Some(found) = e.as_ref().and_then(&pick) { return found },
            _ = dom.wait_for_work() => {}
            _ = tokio::time::sleep(std::time::Duration::from_millis(20)) => {}
        }
        dom.render_immediate(&mut NoOpMutations);
    }
}

#[tokio::test]
async fn a_mounted_publisher_publishes_toggles_and_unpublishes() {
    let fixture = Fixture::start().await;
    let (server, sid) = (&fixture.server, fixture.session.clone());
    let token = || fixture.token();
    let options = SessionOptions::with_api_url(server.url());
    let watcher = Session::init("100200", sid.as_str(), options.clone());
    let mut events = watcher.events();
    watcher.connect(&token()).await.unwrap();

    let state = Rc::new(RefCell::new((true, true)));
    let props = Props {
        session_id: sid.to_string(),
        token: token(),
        options,
        publisher: state.clone(),
    };
    let mut dom = VirtualDom::new_with_props(root, props);
    dom.rebuild_in_place();
    let stream = next_event(&mut events, &mut dom, |e| match e {
        SessionEvent::StreamCreated(s) => Some(s.stream.clone()),
        _ => None,
    })
    .await;
    assert!(stream.has_video && stream.has_audio);

    // Toggling the prop changes the live stream (no republish).
    state.borrow_mut().1 = false;
    dom.mark_dirty(ScopeId::APP);
    let changed = next_event(&mut events, &mut dom, |e| match e {
        SessionEvent::StreamPropertyChanged(p) if p.changed_property == "has_video" => {
            Some(p.new_value.clone())
        }
        _ => None,
    })
    .await;
    assert_eq!(changed, serde_json::json!(false));

    // Unmounting the publisher (the session stays) ends the stream.
    state.borrow_mut().0 = false;
    dom.mark_dirty(ScopeId::APP);
    let (gone, reason) = next_event(&mut events, &mut dom, |e| match e {
        SessionEvent::StreamDestroyed(d) => Some((d.stream.stream_id.clone(), d.reason)),
        _ => None,
    })
    .await;
    assert_eq!(
        (gone, reason),
        (stream.stream_id, StreamDestroyedReason::ClientDisconnected)
    );
    drive(&mut dom, "quiet", || true).await;
}
