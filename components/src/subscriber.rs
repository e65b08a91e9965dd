//! `OTSubscriber` subscribes to every stream of the session (others', and its own with
//! `subscribe_to_self`) and renders one [`OTSubscriberView`] per stream, or the `render` callback's
//! layout. `OTSubscriberView` subscribes while mounted and also works on its own anywhere under
//! `OTSession`. Subscriber events are per stream.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use dioxus::prelude::*;
use otter_rtc::{StreamId, SubscriberEvent, SubscriberProperties, VideoReason};

use crate::handles::SubscriberHandle;
use crate::session::{use_session, use_session_state};
use crate::surface::FrameSource;
use crate::view::{box_style, ViewContent};

/// A handler of one stream's events of payload `E`: `(stream, payload)`.
pub type StreamHandler<E> = Rc<dyn Fn(StreamId, E)>;

macro_rules! subscriber_handlers {
    ($( $(#[$doc:meta])* $key:ident : $payload:ty ),* $(,)?) => {
        /// The handlers of an [`OTSubscriber`] (API.md §4): one optional closure per event key, each told
        /// which stream the event belongs to. `on_event` sees every event.
        ///
        /// ```
        /// use otter_dioxus::prelude::*;
        /// use otter_rtc::StreamId;
        ///
        /// let handlers = SubscriberEventHandlers::default()
        ///     .audio_level(|stream: StreamId, level: f32| println!("{stream}: {level:.2}"));
        /// assert!(handlers.audio_level.is_some());
        /// ```
        #[derive(Clone, Default)]
        pub struct SubscriberEventHandlers {
            /// Every event of every stream.
            pub on_event: Option<StreamHandler<SubscriberEvent>>,
            $( $(#[$doc])* pub $key: Option<StreamHandler<$payload>>, )*
        }

        impl SubscriberEventHandlers {
            /// Sets the handler of every event.
            pub fn on_event(mut self, h: impl Fn(StreamId, SubscriberEvent) + 'static) -> Self {
                self.on_event = Some(Rc::new(h));
                self
            }
            $(
                $(#[$doc])*
                pub fn $key(mut self, h: impl Fn(StreamId, $payload) + 'static) -> Self {
                    self.$key = Some(Rc::new(h));
                    self
                }
            )*
        }

        impl PartialEq for SubscriberEventHandlers {
            fn eq(&self, other: &Self) -> bool {
                fn same<E>(a: &Option<StreamHandler<E>>, b: &Option<StreamHandler<E>>) -> bool {
                    match (a, b) {
                        (Some(a), Some(b)) => Rc::ptr_eq(a, b),
                        (None, None) => true,
                        _ => false,
                    }
                }
                same(&self.on_event, &other.on_event) $( && same(&self.$key, &other.$key) )*
            }
        }
    };
}

subscriber_handlers! {
    /// Media is flowing.
    connected: (),
    /// Media stopped arriving (network interruption).
    disconnected: (),
    /// Media is back.
    reconnected: (),
    /// The first frame was decoded.
    video_data_received: (),
    /// Video stopped, and why.
    video_disabled: VideoReason,
    /// Video is back, and why.
    video_enabled: VideoReason,
    /// Received loudness, 0.0–1.0, about ten times a second.
    audio_level: f32,
    /// Audio received, once a second.
    audio_network_stats: otter_rtc::NetworkStats,
    /// Video received, once a second.
    video_network_stats: otter_rtc::NetworkStats,
    /// Something failed.
    error: otter_rtc::OtError,
    /// The W3C stats report (a JSON array), when one was asked for.
    rtc_stats_report: serde_json::Value,
}

impl SubscriberEventHandlers {
    /// Calls `on_event` and the handler of `event`'s key.
    fn dispatch(&self, stream: &StreamId, event: SubscriberEvent) {
        if let Some(h) = &self.on_event {
            h(stream.clone(), event.clone());
        }
        let s = stream.clone();
        let _ = match event {
            SubscriberEvent::Connected => self.connected.as_ref().map(|h| h(s, ())),
            SubscriberEvent::Disconnected => self.disconnected.as_ref().map(|h| h(s, ())),
            SubscriberEvent::Reconnected => self.reconnected.as_ref().map(|h| h(s, ())),
            SubscriberEvent::VideoDataReceived => {
                self.video_data_received.as_ref().map(|h| h(s, ()))
            }
            SubscriberEvent::VideoDisabled(r) => self.video_disabled.as_ref().map(|h| h(s, r)),
            SubscriberEvent::VideoEnabled(r) => self.video_enabled.as_ref().map(|h| h(s, r)),
            SubscriberEvent::AudioLevel(l) => self.audio_level.as_ref().map(|h| h(s, l)),
            SubscriberEvent::AudioNetworkStats(n) => {
                self.audio_network_stats.as_ref().map(|h| h(s, n))
            }
            SubscriberEvent::VideoNetworkStats(n) => {
                self.video_network_stats.as_ref().map(|h| h(s, n))
            }
            SubscriberEvent::Error(e) => self.error.as_ref().map(|h| h(s, e)),
            SubscriberEvent::RtcStatsReport(r) => self.rtc_stats_report.as_ref().map(|h| h(s, r)),
            _ => None,
        };
    }
}

/// The properties an `OTSubscriber` applies: to every stream, and per stream.
type Properties = (
    SubscriberProperties,
    HashMap<StreamId, SubscriberProperties>,
);

#[derive(Clone)]
struct SubscriberContext {
    handlers: Rc<RefCell<SubscriberEventHandlers>>,
    /// A signal, so the views re-render (and re-apply) when the properties change.
    properties: Signal<Properties>,
}

impl SubscriberContext {
    /// What `stream` should be subscribed with: its override, else the common properties. Reading it
    /// subscribes the calling component to changes.
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
///     let handlers = SubscriberEventHandlers::default()
///         .video_data_received(|stream: StreamId, ()| println!("first frame of {stream}"));
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
#[allow(non_snake_case)]
pub fn OTSubscriber(props: OTSubscriberProps) -> Element {
    let properties = use_signal(|| (props.properties.clone(), props.stream_properties.clone()));
    let mut shared = use_context_provider(|| SubscriberContext {
        handlers: Rc::new(RefCell::new(SubscriberEventHandlers::default())),
        properties,
    });
    *shared.handlers.borrow_mut() = props.event_handlers.clone();
    let current = (props.properties.clone(), props.stream_properties.clone());
    if *shared.properties.peek() != current {
        shared.properties.set(current);
    }
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
#[allow(non_snake_case)]
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
    let subscriber = use_hook(|| Rc::new(RefCell::new(None::<Rc<otter_rtc::Subscriber>>)));
    let applied_at_start = use_hook(|| Rc::new(RefCell::new(None::<SubscriberProperties>)));
    let on_subscriber = props.on_subscriber;
    use_hook(|| {
        let (stream_id, subscriber, applied_at_start) = (
            props.stream_id.clone(),
            subscriber.clone(),
            applied_at_start.clone(),
        );
        let shared = shared.clone();
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
            let properties = shared.as_ref().map(|c| {
                let (all, per) = &*c.properties.peek();
                per.get(&stream_id).cloned().unwrap_or_else(|| all.clone())
            });
            let properties = properties.unwrap_or_default();
            let dispatch = |event: SubscriberEvent| {
                if let Some(c) = shared.as_ref() {
                    // Clone out, so a handler may cause a re-render that replaces the handlers.
                    let current = c.handlers.borrow().clone();
                    current.dispatch(&stream_id, event);
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
                    *subscriber.borrow_mut() = Some(s);
                    *applied_at_start.borrow_mut() = Some(properties);
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
    // Live properties: what the nearest OTSubscriber asks for now, applied to the running subscription.
    let wanted = shared.as_ref().map(|c| c.properties_for(&props.stream_id));
    let applied = applied_at_start;
    let live = subscriber.borrow().clone();
    if let (Some(sub), Some(wanted)) = (live, wanted) {
        let mut applied = applied.borrow_mut();
        let before = applied.clone().unwrap_or_default();
        if applied.as_ref() != Some(&wanted) {
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
            *applied = Some(wanted);
        }
    }
    use_drop({
        let subscriber = subscriber.clone();
        // Dropping the subscriber unsubscribes in the background.
        move || drop(subscriber.borrow_mut().take())
    });
    let scale_behavior = shared
        .as_ref()
        .map(|c| c.properties_for(&props.stream_id).scale_behavior)
        .unwrap_or_default();
    let on_resize = use_callback({
        let subscriber = subscriber.clone();
        move |(w, h): (u32, u32)| {
            if let Some(s) = subscriber.borrow().as_ref() {
                s.set_preferred_resolution((w > 0 && h > 0).then_some((w, h)));
            }
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
