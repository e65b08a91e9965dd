//! The call: `OTSession` with your preview (`OTPublisher`) and everyone else (`OTSubscriber`) in a grid,
//! a header with the participant count, a chat, mute / camera / leave buttons, and a banner while the
//! link is being re-established.

use std::cell::RefCell;
use std::rc::Rc;

use dioxus::prelude::*;
use otter_dioxus::prelude::*;
use otter_rtc::{
    AudioSourceChoice, ErrorEvent, PublisherProperties, SessionConnectedEvent,
    SessionDisconnectedEvent, SessionOptions, VideoSourceChoice,
};

use crate::backend::Backend;
use crate::bots::{self, Bot};
use crate::chat::{self, Chat, ChatMessage};
use crate::errors::describe;

/// Where the picture comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum VideoChoice {
    Camera(String),
    Pattern,
    Off,
}

impl VideoChoice {
    /// From the form's `camera:<id>` / `pattern` / `off`.
    pub fn parse(value: &str) -> Self {
        match value.strip_prefix("camera:") {
            Some(id) => Self::Camera(id.to_string()),
            None if value == "off" => Self::Off,
            None => Self::Pattern,
        }
    }
}

/// Where the sound comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum AudioChoice {
    Microphone(String),
    Tone,
    None,
}

impl AudioChoice {
    /// From the form's `mic:<id>` / `tone` / `none`.
    pub fn parse(value: &str) -> Self {
        match value.strip_prefix("mic:") {
            Some(id) => Self::Microphone(id.to_string()),
            None if value == "tone" => Self::Tone,
            None => Self::None,
        }
    }
}

/// Everything a call needs, made by the join screen.
#[derive(Clone, Debug, PartialEq)]
pub struct CallSetup {
    pub backend: Backend,
    pub session_id: String,
    pub token: String,
    pub name: String,
    pub video: VideoChoice,
    pub audio: AudioChoice,
    pub bots: usize,
}

impl CallSetup {
    /// What your publisher sends, with the current mute and camera switches.
    fn publisher(&self, audio_on: bool, video_on: bool) -> PublisherProperties {
        let mut p = PublisherProperties {
            name: self.name.clone(),
            resolution: (640, 480),
            frame_rate: 30,
            ..PublisherProperties::default()
        };
        match &self.video {
            VideoChoice::Camera(id) => p.camera_device = Some(id.clone()),
            VideoChoice::Pattern => p.video_source = VideoSourceChoice::TestPattern,
            VideoChoice::Off => p.video_track = false,
        }
        match &self.audio {
            AudioChoice::Microphone(id) => p.microphone_device = Some(id.clone()),
            AudioChoice::Tone => p.audio_source = AudioSourceChoice::Tone(440.0),
            AudioChoice::None => p.audio_track = false,
        }
        p.publish_audio = audio_on && p.audio_track;
        p.publish_video = video_on && p.video_track;
        p
    }
}

/// The call screen. `on_leave` gets None when you left, or why the call ended.
#[component]
pub fn Call(setup: CallSetup, on_leave: EventHandler<Option<String>>) -> Element {
    let mut connected = use_signal(|| false);
    let mut reconnecting = use_signal(|| false);
    let mut notice = use_signal(|| None::<String>);
    let messages = use_signal(Vec::<ChatMessage>::new);
    let participants = use_signal(|| 1usize);
    let mut mic_on = use_signal(|| true);
    let mut camera_on = use_signal(|| true);
    let bots_running = use_hook(|| Rc::new(RefCell::new(Vec::<Bot>::new())));

    // Bots join beside you (same process, same server), and leave with you.
    use_hook({
        let (setup, bots_running) = (setup.clone(), bots_running.clone());
        move || {
            if setup.bots > 0 {
                spawn(async move {
                    let joined = bots::join(&setup.backend, &setup.session_id, setup.bots).await;
                    bots_running.borrow_mut().extend(joined);
                });
            }
        }
    });
    use_drop(move || bots_running.borrow_mut().clear());

    let handlers = SessionEventHandlers::new()
        .session_connected(move |_: SessionConnectedEvent| connected.set(true))
        .session_reconnecting(move |_| reconnecting.set(true))
        .session_reconnected(move |_| reconnecting.set(false))
        .session_disconnected(move |e: SessionDisconnectedEvent| {
            on_leave.call(Some(format!(
                "The call ended: {}.",
                match e.reason {
                    otter_rtc::DisconnectReason::NetworkDisconnected =>
                        "the connection to the server was lost",
                    otter_rtc::DisconnectReason::ForceDisconnected =>
                        "you were removed from the session",
                    _ => "the server closed the session",
                }
            )))
        })
        .signal(move |e: otter_rtc::SignalEvent| chat::receive(messages, &e))
        .error(move |e: ErrorEvent| {
            let text = describe(&e.error);
            if connected() {
                notice.set(Some(text));
            } else {
                on_leave.call(Some(text));
            }
        });
    let publisher_handlers = PublisherEventHandlers::new()
        .error(move |e: otter_rtc::OtError| notice.set(Some(describe(&e))))
        .mute_forced(move || {
            mic_on.set(false);
            notice.set(Some("A moderator muted you.".into()));
        });
    let options = SessionOptions::with_api_url(&setup.backend.url);
    let properties = setup.publisher(mic_on(), camera_on());
    let has_audio = setup.audio != AudioChoice::None;
    let has_video = setup.video != VideoChoice::Off;
    let subscriber_properties = SubscriberProperties {
        scale_behavior: otter_rtc::ScaleBehavior::Fit,
        ..SubscriberProperties::default()
    };

    rsx! {
        div { class: "call", "data-screen": "call",
            OTSession {
                application_id: setup.backend.project.api_key.clone(),
                session_id: setup.session_id.clone(),
                token: setup.token.clone(),
                options,
                event_handlers: handlers,
                class: "session",
                header { class: "topbar",
                    span { class: "brand", "Otter" }
                    span { class: "session-id", title: "{setup.session_id}", "{setup.session_id}" }
                    Participants { count: participants }
                }
                if reconnecting() {
                    div { id: "reconnect-banner", class: "banner", role: "status",
                        span { class: "spinner" }
                        "Connection lost — reconnecting…"
                    }
                }
                if let Some(text) = notice() {
                    div { class: "notice", role: "alert",
                        "{text}"
                        button { class: "link", onclick: move |_| notice.set(None), "Dismiss" }
                    }
                }
                main { class: "stage",
                    div { class: "grid", style: "--cols:{columns(participants())}",
                        OTPublisher {
                            class: "tile self",
                            properties,
                            event_handlers: publisher_handlers,
                        }
                        OTSubscriber { class: "tile", properties: subscriber_properties }
                    }
                    Chat { messages }
                }
                footer { class: "toolbar",
                    button {
                        class: if mic_on() { "round" } else { "round off" },
                        title: if mic_on() { "Mute" } else { "Unmute" },
                        disabled: !has_audio,
                        "data-field": "mute",
                        onclick: move |_| mic_on.toggle(),
                        if mic_on() { "Mute" } else { "Unmute" }
                    }
                    button {
                        class: if camera_on() { "round" } else { "round off" },
                        disabled: !has_video,
                        "data-field": "camera",
                        onclick: move |_| camera_on.toggle(),
                        if camera_on() { "Stop video" } else { "Start video" }
                    }
                    button {
                        class: "round leave",
                        "data-field": "leave",
                        onclick: move |_| on_leave.call(None),
                        "Leave"
                    }
                }
            }
            if !connected() {
                div { class: "overlay", id: "join-progress",
                    span { class: "spinner" }
                    "Connecting to the session…"
                }
            }
        }
    }
}

/// Grid columns for `n` tiles: as square as the grid can be (1, 2, 2, 2, 3, 3, 3, 3, 3, 4, …).
fn columns(n: usize) -> usize {
    (1..).find(|c| c * c >= n).unwrap_or(1)
}

/// "N in call", kept current from the session's state; also tells the call (for the grid).
#[component]
fn Participants(count: Signal<usize>) -> Element {
    let people = use_session_state(|s| s.connections.len() + usize::from(s.connection.is_some()));
    use_effect(move || count.set(people()));
    rsx! {
        span { class: "count",
            span { id: "participant-count", "{people}" }
            " in call"
        }
    }
}
