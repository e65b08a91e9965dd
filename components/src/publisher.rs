//! `OTPublisher`: publishes once its session is connected, applies runtime-changeable properties without
//! republishing, and unpublishes when unmounted. Renders the local preview's element (the desktop video
//! surface draws into it; headless, it carries the stream's state as data attributes).

use std::cell::RefCell;
use std::rc::Rc;

use dioxus::prelude::*;
use otter_rtc::{Publisher, PublisherEvent, PublisherProperties, SessionStatus};

use crate::handlers::Handler;
use crate::handles::PublisherHandle;
use crate::session::use_session;
use crate::surface::FrameSource;
use crate::view::{box_style, ViewContent};

/// The handlers of an [`OTPublisher`] (API.md §3.2).
///
/// ```
/// use otter_dioxus::prelude::*;
///
/// let handlers = PublisherEventHandlers::default()
///     .stream_created(|s: otter_rtc::Stream| println!("publishing {}", s.stream_id))
///     .mute_forced(|()| println!("a moderator muted me"));
/// assert!(handlers.stream_created.is_some());
/// ```
#[derive(Clone, Default)]
pub struct PublisherEventHandlers {
    /// The stream is in the session.
    pub stream_created: Option<Handler<otter_rtc::Stream>>,
    /// The stream ended.
    pub stream_destroyed: Option<Handler<otter_rtc::Stream>>,
    /// Something failed (a missing device, the media path).
    pub error: Option<Handler<otter_rtc::OtError>>,
    /// Microphone loudness, 0.0–1.0, about ten times a second.
    pub audio_level: Option<Handler<f32>>,
    /// Audio sent, once a second.
    pub audio_network_stats: Option<Handler<otter_rtc::NetworkStats>>,
    /// Video sent, once a second.
    pub video_network_stats: Option<Handler<otter_rtc::NetworkStats>>,
    /// A moderator muted this stream (audio stopped).
    pub mute_forced: Option<Handler<()>>,
    /// The W3C stats report (a JSON array), when one was asked for.
    pub rtc_stats_report: Option<Handler<serde_json::Value>>,
}

impl PublisherEventHandlers {
    /// Sets `stream_created`.
    pub fn stream_created(mut self, h: impl Fn(otter_rtc::Stream) + 'static) -> Self {
        self.stream_created = Some(Rc::new(h));
        self
    }
    /// Sets `stream_destroyed`.
    pub fn stream_destroyed(mut self, h: impl Fn(otter_rtc::Stream) + 'static) -> Self {
        self.stream_destroyed = Some(Rc::new(h));
        self
    }
    /// Sets `error`.
    pub fn error(mut self, h: impl Fn(otter_rtc::OtError) + 'static) -> Self {
        self.error = Some(Rc::new(h));
        self
    }
    /// Sets `audio_level`.
    pub fn audio_level(mut self, h: impl Fn(f32) + 'static) -> Self {
        self.audio_level = Some(Rc::new(h));
        self
    }

    /// Sets `audio_network_stats`.
    pub fn audio_network_stats(mut self, h: impl Fn(otter_rtc::NetworkStats) + 'static) -> Self {
        self.audio_network_stats = Some(Rc::new(h));
        self
    }
    /// Sets `rtc_stats_report`.
    pub fn rtc_stats_report(mut self, h: impl Fn(serde_json::Value) + 'static) -> Self {
        self.rtc_stats_report = Some(Rc::new(h));
        self
    }
    /// Sets `mute_forced`.
    pub fn mute_forced(mut self, h: impl Fn(()) + 'static) -> Self {
        self.mute_forced = Some(Rc::new(h));
        self
    }
    /// Sets `video_network_stats`.
    pub fn video_network_stats(mut self, h: impl Fn(otter_rtc::NetworkStats) + 'static) -> Self {
        self.video_network_stats = Some(Rc::new(h));
        self
    }

    fn dispatch(&self, event: PublisherEvent) {
        match event {
            PublisherEvent::StreamCreated(s) => self.stream_created.as_ref().map(|h| h(s)),
            PublisherEvent::StreamDestroyed { stream, .. } => {
                self.stream_destroyed.as_ref().map(|h| h(stream))
            }
            PublisherEvent::Error(e) => self.error.as_ref().map(|h| h(e)),
            PublisherEvent::AudioLevel(l) => self.audio_level.as_ref().map(|h| h(l)),
            PublisherEvent::AudioNetworkStats(n) => self.audio_network_stats.as_ref().map(|h| h(n)),
            PublisherEvent::VideoNetworkStats(n) => self.video_network_stats.as_ref().map(|h| h(n)),
            PublisherEvent::MuteForced => self.mute_forced.as_ref().map(|h| h(())),
            PublisherEvent::RtcStatsReport(r) => self.rtc_stats_report.as_ref().map(|h| h(r)),
            _ => None,
        };
    }
}

impl PartialEq for PublisherEventHandlers {
    fn eq(&self, other: &Self) -> bool {
        fn same<E>(a: &Option<Handler<E>>, b: &Option<Handler<E>>) -> bool {
            match (a, b) {
                (Some(a), Some(b)) => Rc::ptr_eq(a, b),
                (None, None) => true,
                _ => false,
            }
        }
        same(&self.stream_created, &other.stream_created)
            && same(&self.stream_destroyed, &other.stream_destroyed)
            && same(&self.error, &other.error)
            && same(&self.audio_level, &other.audio_level)
            && same(&self.audio_network_stats, &other.audio_network_stats)
            && same(&self.video_network_stats, &other.video_network_stats)
            && same(&self.mute_forced, &other.mute_forced)
            && same(&self.rtc_stats_report, &other.rtc_stats_report)
    }
}

/// The props of [`OTPublisher`] (API.md §3).
#[derive(Props, Clone, PartialEq)]
pub struct OTPublisherProps {
    /// How to publish; `publish_audio`, `publish_video`, `resolution`, `frame_rate` and
    /// `max_video_bitrate` change at runtime.
    #[props(default)]
    pub properties: PublisherProperties,
    /// Called for every publisher event; the latest handlers are the ones called.
    #[props(default)]
    pub event_handlers: PublisherEventHandlers,
    /// CSS class of the preview element.
    #[props(default)]
    pub class: Option<String>,
    /// Inline style of the preview element.
    #[props(default)]
    pub style: Option<String>,
    /// Called once publishing started, with a handle on the publisher (React Native's `ref`).
    #[props(default)]
    pub on_publisher: Option<EventHandler<PublisherHandle>>,
}

/// Publishes this client's camera and microphone (or the configured sources) into the session, and
/// shows the local preview (mirrored for a camera). `publish_audio`, `publish_video`, `resolution`,
/// `frame_rate` and `max_video_bitrate` change without republishing.
///
/// ```no_run
/// use otter_dioxus::prelude::*;
///
/// #[component]
/// fn Me(muted: bool) -> Element {
///     let properties = PublisherProperties {
///         name: "Ada".into(),
///         publish_audio: !muted,
///         ..PublisherProperties::default()
///     };
///     rsx! { OTPublisher { properties, style: "width:320px;height:240px" } }
/// }
/// ```
#[allow(non_snake_case)]
pub fn OTPublisher(props: OTPublisherProps) -> Element {
    let context = use_session();
    let handlers = use_hook(|| Rc::new(RefCell::new(PublisherEventHandlers::default())));
    *handlers.borrow_mut() = props.event_handlers.clone();
    let mut stream_id = use_signal(|| None::<String>);
    let mut frames = use_signal(|| None::<FrameSource>);
    // A moderator's mute holds until the app changes `publish_audio` (OpenTok: the app unmutes).
    let mut forced_mute = use_signal(|| false);
    let publisher = use_hook(|| Rc::new(RefCell::new(None::<Rc<Publisher>>)));
    let applied = use_hook(|| Rc::new(RefCell::new(props.properties.clone())));
    let on_publisher = props.on_publisher;
    use_hook(|| {
        let (handlers, publisher, properties) = (
            handlers.clone(),
            publisher.clone(),
            props.properties.clone(),
        );
        spawn(async move {
            let Some(session) = context.session() else {
                return;
            };
            let mut state = session.watch_state();
            if state
                .wait_for(|s| s.status == SessionStatus::Connected)
                .await
                .is_err()
            {
                return;
            }
            match session.publish(properties).await {
                Ok(p) => {
                    let p = Rc::new(p);
                    let mut events = p.events();
                    stream_id.set(Some(p.stream().stream_id.to_string()));
                    frames.set(Some(p.preview_frames().into()));
                    if let Some(cb) = on_publisher {
                        cb.call(PublisherHandle::new(&p));
                    }
                    *publisher.borrow_mut() = Some(p);
                    while let Some(event) = events.recv().await {
                        if event == PublisherEvent::MuteForced {
                            forced_mute.set(true);
                        }
                        let current = handlers.borrow().clone();
                        current.dispatch(event);
                    }
                }
                Err(e) => {
                    let current = handlers.borrow().clone();
                    current.dispatch(PublisherEvent::Error(e));
                }
            }
        })
    });
    // Runtime changes: applied to the live publisher, never republished.
    let live = publisher.borrow().clone();
    if let Some(p) = live {
        let mut old = applied.borrow_mut();
        let new = &props.properties;
        if old.publish_video != new.publish_video {
            let (p, on) = (p.clone(), new.publish_video);
            spawn(async move {
                let _ = p.set_publish_video(on).await;
            });
        }
        if old.publish_audio != new.publish_audio {
            forced_mute.set(false);
            let (p, on) = (p.clone(), new.publish_audio);
            spawn(async move {
                let _ = p.set_publish_audio(on).await;
            });
        }
        if old.resolution != new.resolution {
            let (p, (w, h)) = (p.clone(), new.resolution);
            spawn(async move {
                let _ = p.set_resolution(w, h).await;
            });
        }
        if old.frame_rate != new.frame_rate {
            let _ = p.set_frame_rate(new.frame_rate);
        }
        if old.max_video_bitrate != new.max_video_bitrate {
            p.set_max_video_bitrate(new.max_video_bitrate);
        }
        *old = new.clone();
    }
    use_drop({
        let publisher = publisher.clone();
        // Dropping the publisher unpublishes in the background; the event task is cancelled with the scope.
        move || drop(publisher.borrow_mut().take())
    });
    let p = &props.properties;
    let shown = if p.publish_video {
        frames.read().clone()
    } else {
        None
    };
    // A camera preview is mirrored, as people expect to see themselves; other sources are not.
    let mirror = matches!(p.video_source, otter_rtc::VideoSourceChoice::Camera);
    rsx! {
        div {
            class: "otter-publisher {props.class.as_deref().unwrap_or_default()}",
            style: box_style(props.style.as_deref()),
            "data-otter-publisher": "true",
            "data-stream-id": stream_id.read().clone().unwrap_or_default(),
            "data-publish-video": p.publish_video.to_string(),
            ViewContent {
                frames: shown,
                name: p.name.clone(),
                has_audio: p.publish_audio && !forced_mute(),
                scale_behavior: p.scale_behavior,
                mirror,
                on_resize: None,
            }
        }
    }
}
