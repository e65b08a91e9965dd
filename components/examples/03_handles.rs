//! Refs (React Native's `ref`): `on_publisher` hands over a `PublisherHandle`, kept in a signal, whose
//! stats a button reads; `use_session()` gives the session handle, here to send a signal.
//!
//! `OTTER_API_URL=… OTTER_API_KEY=… OTTER_SESSION_ID=… OTTER_TOKEN=… cargo run -p otter-dioxus
//! --features desktop --example 03_handles`

use otter_dioxus::prelude::*;

fn main() {
    otter_dioxus::surface::configure_webview_environment();
    dioxus::launch(app);
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_default()
}

fn app() -> Element {
    rsx! {
        OTSession { application_id: env("OTTER_API_KEY"), session_id: env("OTTER_SESSION_ID"), token: env("OTTER_TOKEN"),
            Me {}
            Wave {}
            OTSubscriber { style: "width:320px;height:240px" }
        }
    }
}

/// Your preview and what it has sent so far.
#[component]
fn Me() -> Element {
    let mut handle = use_signal(|| None::<PublisherHandle>);
    let mut sent = use_signal(String::new);
    rsx! {
        OTPublisher { style: "width:320px;height:240px", on_publisher: move |h| handle.set(Some(h)) }
        button {
            disabled: handle.read().is_none(),
            onclick: move |_| {
                let stats = handle().and_then(|h| h.stats());
                sent.set(stats.map(|s| format!("{} frames, {} bytes", s.frames_encoded, s.bytes_sent)).unwrap_or_default());
            },
            "What did I send?"
        }
        p { "{sent}" }
    }
}

/// Sends a `wave` signal to everyone through the session handle.
#[component]
fn Wave() -> Element {
    let context = use_session();
    rsx! {
        button {
            onclick: move |_| async move {
                if let Some(session) = context.session() {
                    let _ = session.signal(SignalRequest::new("wave", "👋")).await;
                }
            },
            "Wave"
        }
    }
}
