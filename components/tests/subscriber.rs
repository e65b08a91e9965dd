//! `OTSubscriber` headless: one view per remote stream, per-stream events, views go with their streams.

mod common;

use std::cell::RefCell;
use std::collections::HashSet;
use std::rc::Rc;

use common::{drive, Fixture};
use otter_dioxus::prelude::*;
use otter_rtc::Session;

#[derive(Clone)]
struct Props {
    session_id: String,
    token: String,
    options: SessionOptions,
    seen: Rc<RefCell<HashSet<String>>>,
}

fn root(props: Props) -> Element {
    let seen = props.seen.clone();
    let handlers = SubscriberEventHandlers::default().video_data_received(move |stream| {
        seen.borrow_mut().insert(stream.to_string());
    });
    rsx! {
        OTSession { application_id: "100200", session_id: props.session_id.clone(), token: props.token.clone(), options: props.options.clone(),
            OTSubscriber { event_handlers: handlers }
        }
    }
}

fn views(dom: &VirtualDom) -> usize {
    dioxus_ssr::render(dom)
        .matches("data-otter-subscriber")
        .count()
}

#[tokio::test]
async fn one_view_per_remote_stream_with_per_stream_events() {
    let fixture = Fixture::start().await;
    let (server, sid) = (&fixture.server, fixture.session.clone());
    let token = || fixture.token();
    let options = SessionOptions::with_api_url(server.url());
    let props = PublisherProperties {
        video_source: VideoSourceChoice::TestPattern,
        audio_source: AudioSourceChoice::Tone(440.0),
        resolution: (160, 120),
        frame_rate: 15,
        ..Default::default()
    };
    let mut remote = Vec::new();
    for _ in 0..2 {
        let s = Session::init("100200", sid.as_str(), options.clone());
        s.connect(&token()).await.unwrap();
        let p = s.publish(props.clone()).await.unwrap();
        remote.push((s, p));
    }
    let seen = Rc::new(RefCell::new(HashSet::new()));
    let mut dom = VirtualDom::new_with_props(
        root,
        Props {
            session_id: sid.to_string(),
            token: token(),
            options,
            seen: seen.clone(),
        },
    );
    dom.rebuild_in_place();
    drive(&mut dom, "video from both streams", || {
        seen.borrow().len() == 2
    })
    .await;
    for (_, p) in &remote {
        assert!(seen.borrow().contains(p.stream().stream_id.as_str()));
    }
    assert_eq!(views(&dom), 2);

    // A publisher leaves: its view goes.
    let (leaving, publisher) = remote.pop().unwrap();
    drop(publisher);
    leaving.disconnect().await;
    let start = std::time::Instant::now();
    while views(&dom) != 1 {
        assert!(
            start.elapsed() < common::WAIT,
            "the departed stream's view stayed"
        );
        tokio::select! {
            _ = dom.wait_for_work() => {}
            _ = tokio::time::sleep(std::time::Duration::from_millis(20)) => {}
        }
        dom.render_immediate(&mut dioxus::dioxus_core::NoOpMutations);
    }
}

#[derive(Clone)]
struct RenderProps {
    fixture_session: String,
    token: String,
    options: SessionOptions,
    events: Rc<RefCell<Vec<String>>>,
    /// Per-stream overrides the test changes.
    stream_properties:
        Rc<RefCell<std::collections::HashMap<otter_rtc::StreamId, SubscriberProperties>>>,
    /// What the views' `on_subscriber` handed over.
    handles: Rc<RefCell<Vec<SubscriberHandle>>>,
}

fn custom_layout(props: RenderProps) -> Element {
    let events = props.events.clone();
    let handlers = SubscriberEventHandlers::default().on_event(move |stream, event| {
        events.borrow_mut().push(format!("{stream} {event:?}"));
    });
    let handles = props.handles.clone();
    let render = Callback::new(move |ids: Vec<otter_rtc::StreamId>| {
        let handles = handles.clone();
        rsx! {
            for id in ids {
                OTSubscriberView {
                    key: "{id}",
                    stream_id: id.clone(),
                    class: "custom-tile".to_string(),
                    on_subscriber: {
                        let handles = handles.clone();
                        move |h| handles.borrow_mut().push(h)
                    },
                }
            }
        }
    });
    let stream_properties = props.stream_properties.borrow().clone();
    rsx! {
        OTSession { application_id: "100200", session_id: props.fixture_session.clone(), token: props.token.clone(), options: props.options.clone(),
            OTSubscriber { event_handlers: handlers, render, stream_properties }
        }
    }
}

#[tokio::test]
async fn a_render_callback_lays_out_views_and_stream_properties_apply_live() {
    let fixture = Fixture::start().await;
    let remote = Session::init("100200", fixture.session.as_str(), fixture.options());
    remote.connect(&fixture.token()).await.unwrap();
    let publisher = remote
        .publish(PublisherProperties {
            video_source: VideoSourceChoice::TestPattern,
            audio_source: AudioSourceChoice::Tone(440.0),
            resolution: (160, 120),
            frame_rate: 15,
            ..Default::default()
        })
        .await
        .unwrap();
    let stream_id = publisher.stream().stream_id.clone();
    let events = Rc::new(RefCell::new(Vec::new()));
    let overrides = Rc::new(RefCell::new(std::collections::HashMap::new()));
    let props = RenderProps {
        fixture_session: fixture.session.to_string(),
        token: fixture.token(),
        options: fixture.options(),
        events: events.clone(),
        stream_properties: overrides.clone(),
        handles: Rc::default(),
    };
    let handles = props.handles.clone();
    let mut dom = VirtualDom::new_with_props(custom_layout, props);
    dom.rebuild_in_place();
    let has = |what: &str| {
        events
            .borrow()
            .iter()
            .any(|e| e == &format!("{stream_id} {what}"))
    };
    drive(&mut dom, "video in the custom layout", || {
        has("VideoDataReceived")
    })
    .await;
    assert!(
        dioxus_ssr::render(&dom).contains("custom-tile"),
        "the render callback's views are not rendered"
    );
    // The view's handle (React Native's ref) reads the live subscription.
    let handle = handles
        .borrow()
        .first()
        .cloned()
        .expect("on_subscriber was called");
    assert_eq!(
        handle.stream().map(|s| s.stream_id),
        Some(stream_id.clone())
    );
    assert!(handle.stats().is_some_and(|s| s.frames_decoded > 0));

    // A per-stream override turns this stream's video off, live.
    overrides.borrow_mut().insert(
        stream_id.clone(),
        SubscriberProperties {
            subscribe_to_video: false,
            ..Default::default()
        },
    );
    dom.mark_dirty(dioxus::dioxus_core::ScopeId::APP);
    drive(&mut dom, "video disabled by the override", || {
        has("VideoDisabled(SubscribeToVideo)")
    })
    .await;
}
