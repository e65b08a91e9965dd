//! The join screen: where (server, session), who (name, camera, microphone), and an Advanced part for
//! an external server's credentials or a ready-made token. Joining shows its progress; failures show
//! as a sentence under the button and the form stays as it was.

use dioxus::prelude::*;
use otter_rtc::{Device, Devices};

use crate::backend::Backend;
use crate::call::{AudioChoice, CallSetup, VideoChoice};
use crate::Args;

/// What the form holds.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct JoinForm {
    pub server: String,
    pub session: String,
    pub name: String,
    pub api_key: String,
    pub api_secret: String,
    pub token: String,
    /// `pattern`, `off`, or `camera:<device id>`.
    pub video: String,
    /// `none`, `tone`, or `mic:<device id>`.
    pub audio: String,
}

impl JoinForm {
    /// The form as the command line fills it; devices default to the first camera and microphone.
    pub fn from_args(args: &Args) -> Self {
        let Devices {
            cameras,
            microphones,
        } = otter_rtc::devices();
        Self {
            server: args.server.clone(),
            session: args.session.clone(),
            name: if args.name.is_empty() {
                "You".into()
            } else {
                args.name.clone()
            },
            api_key: args.api_key.clone(),
            api_secret: args.api_secret.clone(),
            token: String::new(),
            video: cameras
                .first()
                .map_or("pattern".into(), |c| format!("camera:{}", c.id)),
            audio: microphones
                .first()
                .map_or("none".into(), |m| format!("mic:{}", m.id)),
        }
    }
}

/// Turns the form into a call: finds the server, creates a session if none is given, makes a token if
/// none is pasted. `progress` says which step is running.
async fn prepare(
    form: JoinForm,
    bots: usize,
    mut progress: Signal<Option<String>>,
) -> Result<CallSetup, String> {
    if form.name.trim().is_empty() {
        return Err("Please enter a display name.".into());
    }
    progress.set(Some(if form.server.trim().is_empty() {
        "Starting the built-in server…".into()
    } else {
        "Contacting the server…".into()
    }));
    let backend = Backend::new(&form.server, &form.api_key, &form.api_secret).await?;
    let session_id = if form.session.trim().is_empty() {
        progress.set(Some("Creating a session…".into()));
        backend.create_session().await?
    } else {
        form.session.trim().to_string()
    };
    let token = if form.token.trim().is_empty() {
        backend.token(&session_id, form.name.trim())?
    } else {
        form.token.trim().to_string()
    };
    if backend.project.api_key.is_empty() {
        return Err("The project's API key is needed to join (Advanced, or --api-key).".into());
    }
    progress.set(Some("Connecting to the session…".into()));
    Ok(CallSetup {
        backend,
        session_id,
        token,
        name: form.name.trim().to_string(),
        video: VideoChoice::parse(&form.video),
        audio: AudioChoice::parse(&form.audio),
        bots,
    })
}

/// The join screen.
#[component]
pub fn JoinScreen(
    form: Signal<JoinForm>,
    error: Option<String>,
    auto_join: bool,
    bots: usize,
    on_ready: EventHandler<CallSetup>,
) -> Element {
    let progress = use_signal(|| None::<String>);
    let mut shown_error = use_signal(|| error.clone());
    let devices = use_hook(otter_rtc::devices);
    // Open when it holds something (coming back from a refused token, say).
    let advanced_open = use_hook(|| {
        let f = form.peek();
        !f.token.is_empty() || !f.api_key.is_empty()
    });
    let mut join = move || {
        if progress.peek().is_some() {
            return;
        }
        shown_error.set(None);
        let mut progress = progress;
        spawn(async move {
            let result = prepare(form(), bots, progress).await;
            match result {
                Ok(setup) => on_ready.call(setup),
                Err(e) => {
                    progress.set(None);
                    shown_error.set(Some(e));
                }
            }
        });
    };
    use_hook(move || {
        if auto_join && error.is_none() {
            join();
        }
    });
    let busy = progress().is_some();
    let field = move |label: &'static str,
                      key: &'static str,
                      placeholder: &'static str,
                      get: fn(&JoinForm) -> String,
                      set: fn(&mut JoinForm, String)| {
        rsx! {
            label { class: "field",
                span { "{label}" }
                input {
                    "data-field": key,
                    // Uncontrolled: the page owns the text, so fast typing never loses a key to a
                    // re-render with an older value.
                    initial_value: get(&form.peek()),
                    placeholder,
                    disabled: busy,
                    oninput: move |e| set(&mut form.write(), e.value()),
                }
            }
        }
    };
    rsx! {
        div { class: "join", "data-screen": "join",
            form {
                class: "card",
                onsubmit: move |e| {
                    e.prevent_default();
                    join();
                },
                h1 { "Otter" }
                p { class: "subtitle", "Join a video call" }
                {field("Server", "server", "empty: a server inside this app", |f| f.server.clone(), |f, v| f.server = v)}
                {field("Session", "session", "empty: a new session", |f| f.session.clone(), |f, v| f.session = v)}
                {field("Your name", "name", "How others see you", |f| f.name.clone(), |f, v| f.name = v)}
                DeviceSelect { form, devices: devices.clone(), busy }
                details { class: "advanced", open: advanced_open,
                    summary { "data-field": "advanced", "Advanced" }
                    {field("API key", "api_key", "for an external server", |f| f.api_key.clone(), |f, v| f.api_key = v)}
                    {field("API secret", "api_secret", "to create sessions and tokens", |f| f.api_secret.clone(), |f, v| f.api_secret = v)}
                    {field("Token", "token", "empty: the demo makes one", |f| f.token.clone(), |f, v| f.token = v)}
                }
                button { class: "primary", r#type: "submit", "data-field": "join", disabled: busy,
                    if busy { "Joining…" } else { "Join" }
                }
                if let Some(step) = progress() {
                    p { id: "join-progress", class: "progress", span { class: "spinner" } "{step}" }
                }
                if let Some(e) = shown_error() {
                    p { id: "join-error", class: "error", role: "alert", "{e}" }
                }
            }
        }
    }
}

/// Camera and microphone choice, including the built-in sources.
#[component]
fn DeviceSelect(form: Signal<JoinForm>, devices: Devices, busy: bool) -> Element {
    let listed = |prefix: &str, list: &[Device], builtin: [(&str, &str); 2]| {
        let mut options: Vec<(String, String)> = list
            .iter()
            .map(|Device { id, name }| (format!("{prefix}:{id}"), name.clone()))
            .collect();
        options.extend(builtin.map(|(v, n)| (v.to_string(), n.to_string())));
        options
    };
    let cameras = listed(
        "camera",
        &devices.cameras,
        [("pattern", "Test pattern"), ("off", "No video")],
    );
    let mics = listed(
        "mic",
        &devices.microphones,
        [("tone", "Test tone"), ("none", "No audio")],
    );
    rsx! {
        div { class: "row",
            Choice {
                label: "Camera",
                field: "video",
                value: form.read().video.clone(),
                options: cameras,
                busy,
                on_change: move |v| form.write().video = v,
            }
            Choice {
                label: "Microphone",
                field: "audio",
                value: form.read().audio.clone(),
                options: mics,
                busy,
                on_change: move |v| form.write().audio = v,
            }
        }
    }
}

/// A labelled drop-down of `(value, name)` options.
#[component]
fn Choice(
    label: &'static str,
    field: &'static str,
    value: String,
    options: Vec<(String, String)>,
    busy: bool,
    on_change: EventHandler<String>,
) -> Element {
    rsx! {
        label { class: "field",
            span { "{label}" }
            select {
                "data-field": field,
                value: value.clone(),
                disabled: busy,
                onchange: move |e| on_change.call(e.value()),
                // `selected` on the option too: the select's value is set before its options exist.
                for (v, name) in options {
                    option { selected: v == value, value: "{v}", "{name}" }
                }
            }
        }
    }
}
