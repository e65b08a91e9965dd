//! The smallest call: `OTSession` with your preview and everyone else, and handlers that write signals
//! (a status line and a reconnect banner).
//!
//! `OTTER_API_URL=… OTTER_API_KEY=… OTTER_SESSION_ID=… OTTER_TOKEN=… cargo run -p otter-dioxus
//! --features desktop --example 01_session` (`otter serve` prints a key; `otter session create` and
//! `otter token` make the other two).

use otter_dioxus::prelude::*;

fn main() {
    otter_dioxus::surface::configure_webview_environment();
    dioxus::launch(app);
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_default()
}

fn app() -> Element {
    let mut others = use_signal(|| 0);
    let mut status = use_signal(|| "Connecting…".to_string());
    let handlers = SessionEventHandlers::new()
        .session_connected(move |_| status.set("Connected".into()))
        .session_reconnecting(move |_| status.set("Reconnecting…".into()))
        .session_reconnected(move |_| status.set("Connected".into()))
        .connection_created(move |_| others += 1)
        .connection_destroyed(move |_| others -= 1)
        .error(move |e: ErrorEvent| status.set(format!("Error: {}", e.error)));
    rsx! {
        OTSession {
            application_id: env("OTTER_API_KEY"),
            session_id: env("OTTER_SESSION_ID"),
            token: env("OTTER_TOKEN"),
            event_handlers: handlers,
            p { "{status} — {others} others here" }
            div { style: "display:flex;gap:8px;flex-wrap:wrap",
                OTPublisher { style: "width:320px;height:240px" }
                OTSubscriber { style: "width:320px;height:240px" }
            }
        }
    }
}
