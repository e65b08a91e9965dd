//! A custom layout: `OTSubscriber`'s `render` callback places the first stream large and the others
//! as thumbnails, and a button turns everyone's audio off and on (a live property change).
//!
//! `OTTER_API_URL=… OTTER_API_KEY=… OTTER_SESSION_ID=… OTTER_TOKEN=… cargo run -p otter-dioxus
//! --features desktop --example 02_custom_layout`

use otter_dioxus::prelude::*;
use otter_rtc::StreamId;

fn main() {
    otter_dioxus::surface::configure_webview_environment();
    dioxus::launch(app);
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_default()
}

fn app() -> Element {
    let mut listening = use_signal(|| true);
    let properties = SubscriberProperties {
        subscribe_to_audio: listening(),
        ..SubscriberProperties::default()
    };
    rsx! {
        OTSession { application_id: env("OTTER_API_KEY"), session_id: env("OTTER_SESSION_ID"), token: env("OTTER_TOKEN"),
            button { onclick: move |_| listening.toggle(), if listening() { "Mute everyone" } else { "Listen" } }
            OTSubscriber { properties, render: move |ids: Vec<StreamId>| rsx! { Stage { ids } } }
            OTPublisher { style: "position:fixed;right:8px;bottom:8px;width:160px;height:120px" }
        }
    }
}

/// The first stream fills the stage; the others sit in a row below it.
#[component]
fn Stage(ids: Vec<StreamId>) -> Element {
    let (main, rest) = match ids.split_first() {
        Some((main, rest)) => (Some(main.clone()), rest.to_vec()),
        None => (None, Vec::new()),
    };
    rsx! {
        if let Some(id) = main {
            OTSubscriberView { key: "{id}", stream_id: id.clone(), style: "width:100%;height:70vh" }
        } else {
            p { "Nobody else is here yet." }
        }
        div { style: "display:flex;gap:4px",
            for id in rest {
                OTSubscriberView { key: "{id}", stream_id: id.clone(), style: "width:160px;height:120px" }
            }
        }
    }
}
