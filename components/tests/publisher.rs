//! `OTPublisher` headless inside `OTSession`, with the real engine (test pattern + tone) and a server.

mod common;

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use common::{drive, Fixture, WAIT};
use dioxus::dioxus_core::{NoOpMutations, ScopeId};
use otter_dioxus::prelude::*;
use otter_rtc::{Session, SessionEvent, StreamChange, StreamDestroyedReason};

#[derive(Clone)]
struct Props {
    session_id: String,
    token: String,
    options: SessionOptions,
    /// (mounted, publish_video), changed by the test.
    publisher: Rc<RefCell<(bool, bool)>>,
    /// What `on_publisher` handed over.
    handle: Rc<RefCell<Option<PublisherHandle>>>,
    /// Reports the `rtc_stats_report` handler received.
    reports: Rc<Cell<usize>>,
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
                OTPublisher {
                    properties,
                    on_publisher: {
                        let handle = props.handle.clone();
                        move |h| *handle.borrow_mut() = Some(h)
                    },
                    event_handlers: PublisherEventHandlers::default().rtc_stats_report({
                        let reports = props.reports.clone();
                        move |_| reports.set(reports.get() + 1)
                    }),
                }
            }
        }
    }
}

async fn next_event<T>(
    events: &mut otter_rtc::EventStream<otter_rtc::SessionEvent>,
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
        handle: Rc::default(),
        reports: Rc::default(),
    };
    let (handle, reports) = (props.handle.clone(), props.reports.clone());
    let mut dom = VirtualDom::new_with_props(root, props);
    dom.rebuild_in_place();
    let stream = next_event(&mut events, &mut dom, |e| match e {
        SessionEvent::StreamCreated(s) => Some(s.stream.clone()),
        _ => None,
    })
    .await;
    assert!(stream.has_video && stream.has_audio);

    // The handle (React Native's ref): the stream, and a stats report also sent to the handler.
    drive(&mut dom, "on_publisher", || handle.borrow().is_some()).await;
    let h = handle.borrow().clone().unwrap();
    assert_eq!(
        h.stream().map(|s| s.stream_id),
        Some(stream.stream_id.clone())
    );
    let report = h.get_rtc_stats_report().await.expect("a live publisher");
    assert!(report.to_string().contains("\"outbound-rtp\""), "{report}");
    drive(&mut dom, "rtc_stats_report handler", || reports.get() == 1).await;

    // Toggling the prop changes the live stream (no republish).
    state.borrow_mut().1 = false;
    dom.mark_dirty(ScopeId::APP);
    let changed = next_event(&mut events, &mut dom, |e| match e {
        SessionEvent::StreamPropertyChanged(p) => match p.change {
            StreamChange::HasVideo { new_value, .. } => Some(new_value),
            _ => None,
        },
        _ => None,
    })
    .await;
    assert!(!changed);

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
    assert!(
        h.stats().is_none(),
        "the handle never keeps a publisher alive"
    );
    drive(&mut dom, "quiet", || true).await;
}
