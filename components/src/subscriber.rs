//! `OTSubscriber` subscribes to every stream of the session (others', and its own with
//! `subscribe_to_self`) and renders one [`OTSubscriberView`] per stream, or the `render` callback's
//! layout. `OTSubscriberView` subscribes while mounted and also works on its own anywhere under
//! `OTSession`. Subscriber events are per stream.

use std::collections::HashMap;
use std::rc::Rc;

use dioxus::prelude::*;
use otter_rtc::{StreamId, SubscriberEvent, SubscriberProperties, VideoReason};

use crate::event_handlers::event_handlers;
use crate::refs::SubscriberHandle;
use crate::session::{use_session, use_session_state};
use crate::surface::FrameSource;
use crate::view::{box_style, ViewContent};

event_handlers! {
    /// The handlers of an [`OTSubscriber`] (API.md §4): one optional closure per event key, each told
    /// which stream the event belongs to. `on_event` sees every event.
    ///
    /// ```
    /// use otter_dioxus::prelude::*;
    /// use otter_rtc::StreamId;
    ///
    /// let handlers = SubscriberEventHandlers::new()
    ///     .audio_level(|stream: StreamId, level: f32| println!("{stream}: {level:.2}"))
    ///     .video_data_received(|stream: StreamId| println!("first frame of {stream}"));
    /// assert!(handlers.is_set("audio_level"));
    /// ```
    pub struct SubscriberEventHandlers for (StreamId, SubscriberEvent) {
        /// Every event of every stream.
        on_event(stream: StreamId, event: SubscriberEvent) = (stream, event),
        /// Media is flowing.
        connected(stream: StreamId) = (stream, SubscriberEvent::Connected),
        /// Media stopped arriving (network interruption).
        disconnected(stream: StreamId) = (stream, SubscriberEvent::Disconnected),
        /// Media is back.
        reconnected(stream: StreamId) = (stream, SubscriberEvent::Reconnected),
        /// The first frame was decoded.
        video_data_received(stream: StreamId) = (stream, SubscriberEvent::VideoDataReceived),
        /// Video stopped, and why.
        video_disabled(stream: StreamId, reason: VideoReason) = (stream, SubscriberEvent::VideoDisabled(reason)),
        /// Video is back, and why.
        video_enabled(stream: StreamId, reason: VideoReason) = (stream, SubscriberEvent::VideoEnabled(reason)),
        /// The network loses so much video that it is about to stop (audio fallback).
        video_disable_warning(stream: StreamId) = (stream, SubscriberEvent::VideoDisableWarning),
        /// The network carries the video well again.
        video_disable_warning_lifted(stream: StreamId) = (stream, SubscriberEvent::VideoDisableWarningLifted),
        /// Received loudness, 0.0–1.0, about ten times a second.
        audio_level(stream: StreamId, level: f32) = (stream, SubscriberEvent::AudioLevel(level)),
        /// Audio received, once a second.
        audio_network_stats(stream: StreamId, stats: otter_rtc::NetworkStats) = (stream, SubscriberEvent::AudioNetworkStats(stats)),
        /// Video received, once a second.
        video_network_stats(stream: StreamId, stats: otter_rtc::NetworkStats) = (stream, SubscriberEvent::VideoNetworkStats(stats)),
        /// Something failed.
        error(stream: StreamId, error: otter_rtc::OtError) = (stream, SubscriberEvent::Error(error)),
        /// The W3C stats report (a JSON array), when one was asked for.
        rtc_stats_report(stream: StreamId, report: serde_json::Value) = (stream, SubscriberEvent::RtcStatsReport(report)),
    }
}

/// The properties an `OTSubscriber` applies: to every stream, and per stream.
type Properties = (
    SubscriberProperties,
    HashMap<StreamId, SubscriberProperties>,
);

/// What `OTSubscriber` gives its views (a `Copy` handle, like [`crate::SessionContext`]).
#[derive(Clone, Copy)]
struct SubscriberContext {
    /// The handlers of the `OTSubscriber`'s latest render.
    dispatch: Callback<(StreamId, SubscriberEvent)>,
    /// The properties, derived from the props: the views re-render (and re-apply) when they change.
    properties: Memo<Properties>,
}

impl SubscriberContext {
    /// What `stream` should be subscribed with: its override, else the common properties. Reading it
    /// subscribes the calling component (or effect) to changes.
    fn properties_for(&self, stream: &StreamId) -> SubscriberProperties {
        let (all, per) = &*self.properties.read();
        per.get(stream).cloned().unwrap_or_else(|| all.clone())
    }
}

/// The props of [`OTSubscriber`] (API.md §4).
#[derive(Props, Clone, PartialEq)]
pub struct OTSubscriberProps {
    /// Applied to every stream.
    #[props(default)]
    pub properties: SubscriberProperties,
    /// Per-stream overrides.
    #[props(default)]
    pub stream_properties: HashMap<StreamId, SubscriberProperties>,
    /// Also subscribe to this client's own streams.
    #[props(default)]
    pub subscribe_to_self: bool,
    /// Per-stream events; the latest handlers are the ones called.
    #[props(default)]
    pub event_handlers: SubscriberEventHandlers,
    /// A custom layout: gets the stream IDs, returns `OTSubscriberView { stream_id }` elements.
    #[props(default)]
    pub render: Option<Callback<Vec<StreamId>, Element>>,
    /// CSS class of each default view.
    #[props(default)]
    pub class: Option<String>,
    /// Inline style of each default view.
    #[props(default)]
    pub style: Option<String>,
}

/// Subscribes to the session's streams as they come and go: one [`OTSubscriberView`] per stream, or
/// the `render` callback's layout.
///
/// ```no_run
/// use otter_dioxus::prelude::*;
/// use otter_rtc::StreamId;
///
/// #[component]
/// fn Everyone() -> Element {
///     let mut first_frames = use_signal(|| 0);
///     let handlers = SubscriberEventHandlers::new().video_data_received(move |_| first_frames += 1);
///     rsx! {
///         OTSubscriber {
///             event_handlers: handlers,
///             render: move |ids: Vec<StreamId>| rsx! {
///                 for id in ids {
///                     OTSubscriberView { key: "{id}", stream_id: id.clone(), style: "width:50%" }
///                 }
///             },
///         }
///     }
/// }
/// ```
#[component]
pub fn OTSubscriber(props: OTSubscriberProps) -> Element {
    // The handlers of the latest render (see `OTSession`).
    let handlers = props.event_handlers.clone();
    let dispatch =
        use_callback(move |event: (StreamId, SubscriberEvent)| handlers.dispatch(&event));
    // The properties as a memo of the props: pure, and the views follow it.
    let (all, per) = (props.properties.clone(), props.stream_properties.clone());
    let properties = use_memo(use_reactive!(|all, per| (all, per)));
    use_context_provider(|| SubscriberContext {
        dispatch,
        properties,
    });
    let with_self = props.subscribe_to_self;
    let streams = use_session_state(move |st| {
        let own = st.connection.as_ref().map(|c| &c.connection_id);
        st.streams
            .iter()
            .filter(|s| with_self || Some(&s.connection.connection_id) != own)
            .map(|s| s.stream_id.clone())
            .collect::<Vec<StreamId>>()
    });
    let ids = streams.read().clone();
    if let Some(render) = &props.render {
        return render.call(ids);
    }
    rsx! {
        for id in ids {
            OTSubscriberView { key: "{id}", stream_id: id.clone(), class: props.class.clone(), style: props.style.clone() }
        }
    }
}

/// The props of [`OTSubscriberView`].
#[derive(Props, Clone, PartialEq)]
pub struct OTSubscriberViewProps {
    /// The stream to show.
    pub stream_id: StreamId,
    /// CSS class of the view.
    #[props(default)]
    pub class: Option<String>,
    /// Inline style of the view.
    #[props(default)]
    pub style: Option<String>,
    /// Called once subscribed, with a handle on the subscription (React Native's `ref`).
    #[props(default)]
    pub on_subscriber: Option<EventHandler<SubscriberHandle>>,
}

/// One stream's video (and audio), subscribed while mounted. Works inside `OTSubscriber`'s `render`
/// callback (which applies its properties and handlers) or anywhere under `OTSession`.
///
/// ```no_run
/// use otter_dioxus::prelude::*;
/// use otter_rtc::StreamId;
///
/// #[component]
/// fn Speaker(stream_id: StreamId) -> Element {
///     rsx! { OTSubscriberView { stream_id, style: "width:100%;height:100%" } }
/// }
/// ```
#[component]
pub fn OTSubscriberView(props: OTSubscriberViewProps) -> Element {
    let context = use_session();
    let shared = try_use_context::<SubscriberContext>();
    let mut video = use_signal(|| false);
    let mut frames = use_signal(|| None::<FrameSource>);
    // The stream's name and whether it has audio, kept current from the session's state.
    let stream_id = props.stream_id.clone();
    let info = use_session_state(move |st| {
        st.streams
            .iter()
            .find(|s| s.stream_id == stream_id)
            .map(|s| (s.name.clone(), s.has_audio))
    });
    // The live subscription, once subscribed; dropping it (with this scope) unsubscribes in the background.
    let mut subscriber = use_signal(|| None::<Rc<otter_rtc::Subscriber>>);
    // The properties the live subscription has now.
    let mut applied = use_signal(|| None::<SubscriberProperties>);
    let on_subscriber = props.on_subscriber;
    // Subscribes once mounted; the task (and its event relay) ends with the scope.
    use_hook(|| {
        let stream_id = props.stream_id.clone();
        spawn(async move {
            let Some(session) = context.session() else {
                return;
            };
            let Some(stream) = session
                .streams()
                .into_iter()
                .find(|s| s.stream_id == stream_id)
            else {
                return;
            };
            let properties = shared.map(|c| {
                let (all, per) = &*c.properties.peek();
                per.get(&stream_id).cloned().unwrap_or_else(|| all.clone())
            });
            let properties = properties.unwrap_or_default();
            let dispatch = |event: SubscriberEvent| {
                if let Some(c) = shared {
                    c.dispatch.call((stream_id.clone(), event));
                }
            };
            match session.subscribe(&stream, properties.clone()).await {
                Ok(s) => {
                    let s = Rc::new(s);
                    let mut events = s.events();
                    frames.set(Some(s.video_frames().into()));
                    if let Some(cb) = on_subscriber {
                        cb.call(SubscriberHandle::new(&s));
                    }
                    applied.set(Some(properties));
                    subscriber.set(Some(s));
                    while let Some(event) = events.recv().await {
                        match event {
                            SubscriberEvent::VideoDataReceived
                            | SubscriberEvent::VideoEnabled(_) => video.set(true),
                            SubscriberEvent::VideoDisabled(_) => video.set(false),
                            _ => {}
                        }
                        dispatch(event);
                    }
                }
                Err(e) => dispatch(SubscriberEvent::Error(e)),
            }
        })
    });
    // Applies what the nearest OTSubscriber asks for now to the running subscription: an effect that
    // runs again when those properties (a memo) change or the subscription goes live.
    let stream_id = props.stream_id.clone();
    use_effect(use_reactive!(|stream_id| {
        let (Some(c), Some(sub)) = (shared, subscriber()) else {
            return;
        };
        let wanted = c.properties_for(&stream_id);
        let before = applied.peek().clone().unwrap_or_default();
        if applied.peek().as_ref() == Some(&wanted) {
            return;
        }
        let audio = (before.subscribe_to_audio != wanted.subscribe_to_audio)
            .then_some(wanted.subscribe_to_audio);
        let video = (before.subscribe_to_video != wanted.subscribe_to_video)
            .then_some(wanted.subscribe_to_video);
        sub.set_audio_volume(wanted.audio_volume);
        if audio.is_some() || video.is_some() {
            spawn(async move {
                let _ = sub.set_subscribe(audio, video).await;
            });
        }
        applied.set(Some(wanted));
    }));
    let scale_behavior = shared
        .as_ref()
        .map(|c| c.properties_for(&props.stream_id).scale_behavior)
        .unwrap_or_default();
    let on_resize = use_callback(move |(w, h): (u32, u32)| {
        if let Some(s) = subscriber.peek().as_ref() {
            s.set_preferred_resolution((w > 0 && h > 0).then_some((w, h)));
        }
    });
    let (name, has_audio) = info.read().clone().unwrap_or_else(|| (String::new(), true));
    let shown = if *video.read() {
        frames.read().clone()
    } else {
        None
    };
    rsx! {
        div {
            class: "otter-subscriber {props.class.as_deref().unwrap_or_default()}",
            style: box_style(props.style.as_deref()),
            "data-otter-subscriber": props.stream_id.to_string(),
            "data-video": video.read().to_string(),
            "data-name": "{name}",
            "data-audio": has_audio.to_string(),
            ViewContent {
                frames: shown,
                name: name.clone(),
                has_audio,
                scale_behavior,
                mirror: false,
                on_resize,
            }
        }
    }
}
