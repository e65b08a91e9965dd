//! `OTPublisher`: publishes once its session is connected, applies runtime-changeable properties without
//! republishing, and unpublishes when unmounted. Renders the local preview's element (the desktop video
//! surface draws into it; headless, it carries the stream's state as data attributes).

use std::rc::Rc;

use dioxus::prelude::*;
use otter_rtc::{Publisher, PublisherEvent, PublisherProperties, SessionStatus};

use crate::event_handlers::event_handlers;
use crate::refs::PublisherHandle;
use crate::session::use_session;
use crate::surface::FrameSource;
use crate::view::{box_style, ViewContent};

event_handlers! {
    /// The handlers of an [`OTPublisher`] (API.md §3.2).
    ///
    /// ```
    /// use otter_dioxus::prelude::*;
    ///
    /// let handlers = PublisherEventHandlers::new()
    ///     .stream_created(|s: otter_rtc::Stream| println!("publishing {}", s.stream_id))
    ///     .mute_forced(|| println!("a moderator muted me"));
    /// assert!(handlers.is_set("stream_created"));
    /// ```
    pub struct PublisherEventHandlers for PublisherEvent {
        /// The stream is in the session.
        stream_created(stream: otter_rtc::Stream) = PublisherEvent::StreamCreated(stream),
        /// The stream ended.
        stream_destroyed(stream: otter_rtc::Stream) = PublisherEvent::StreamDestroyed { stream, .. },
        /// Something failed (a missing device, the media path).
        error(error: otter_rtc::OtError) = PublisherEvent::Error(error),
        /// Microphone loudness, 0.0–1.0, about ten times a second.
        audio_level(level: f32) = PublisherEvent::AudioLevel(level),
        /// Audio sent, once a second.
        audio_network_stats(stats: otter_rtc::NetworkStats) = PublisherEvent::AudioNetworkStats(stats),
        /// Video sent, once a second.
        video_network_stats(stats: otter_rtc::NetworkStats) = PublisherEvent::VideoNetworkStats(stats),
        /// A moderator muted this stream (audio stopped).
        mute_forced() = PublisherEvent::MuteForced,
        /// The W3C stats report (a JSON array), when one was asked for.
        rtc_stats_report(report: serde_json::Value) = PublisherEvent::RtcStatsReport(report),
    }
}

/// The properties that change on a live publisher without republishing.
#[derive(Clone, PartialEq)]
struct RuntimeProperties {
    publish_video: bool,
    publish_audio: bool,
    resolution: (u32, u32),
    frame_rate: u32,
    max_video_bitrate: Option<u32>,
}

impl From<&PublisherProperties> for RuntimeProperties {
    fn from(p: &PublisherProperties) -> Self {
        Self {
            publish_video: p.publish_video,
            publish_audio: p.publish_audio,
            resolution: p.resolution,
            frame_rate: p.frame_rate,
            max_video_bitrate: p.max_video_bitrate,
        }
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
#[component]
pub fn OTPublisher(props: OTPublisherProps) -> Element {
    let context = use_session();
    // The handlers of the latest render (see `OTSession`).
    let handlers = props.event_handlers.clone();
    let dispatch = use_callback(move |event: PublisherEvent| handlers.dispatch(&event));
    let mut stream_id = use_signal(|| None::<String>);
    let mut frames = use_signal(|| None::<FrameSource>);
    // A moderator's mute holds until the app changes `publish_audio` (OpenTok: the app unmutes).
    let mut forced_mute = use_signal(|| false);
    // The live publisher, once published; dropping it (with this scope) unpublishes in the background.
    let mut publisher = use_signal(|| None::<Rc<Publisher>>);
    // What the live publisher has now: it starts with the properties of the first render.
    let mut applied = use_signal(|| RuntimeProperties::from(&props.properties));
    let on_publisher = props.on_publisher;
    // Publishes once the session is connected; the task (and its event relay) ends with the scope.
    use_hook(|| {
        let properties = props.properties.clone();
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
                    publisher.set(Some(p));
                    while let Some(event) = events.recv().await {
                        if event == PublisherEvent::MuteForced {
                            forced_mute.set(true);
                        }
                        dispatch.call(event);
                    }
                }
                Err(e) => dispatch.call(PublisherEvent::Error(e)),
            }
        })
    });

    // Applies runtime-changeable properties to the live publisher, never republishing: an effect on
    // their values, which also runs once the publisher is live (for changes made while it started).
    let wanted = RuntimeProperties::from(&props.properties);
    use_effect(use_reactive!(|wanted| {
        let Some(p) = publisher() else {
            return;
        };
        let old = applied.peek().clone();
        if old == wanted {
            return;
        }
        if old.publish_video != wanted.publish_video {
            let (p, on) = (p.clone(), wanted.publish_video);
            spawn(async move {
                let _ = p.set_publish_video(on).await;
            });
        }
        if old.publish_audio != wanted.publish_audio {
            forced_mute.set(false);
            let (p, on) = (p.clone(), wanted.publish_audio);
            spawn(async move {
                let _ = p.set_publish_audio(on).await;
            });
        }
        if old.resolution != wanted.resolution {
            let (p, (w, h)) = (p.clone(), wanted.resolution);
            spawn(async move {
                let _ = p.set_resolution(w, h).await;
            });
        }
        if old.frame_rate != wanted.frame_rate {
            let _ = p.set_frame_rate(wanted.frame_rate);
        }
        if old.max_video_bitrate != wanted.max_video_bitrate {
            p.set_max_video_bitrate(wanted.max_video_bitrate);
        }
        applied.set(wanted);
    }));

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
