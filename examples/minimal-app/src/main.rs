//! The README's "A call in ten lines", as a user's crate would hold it. Run it with a session to join:
//! `OTTER_API_KEY=… OTTER_SESSION_ID=… OTTER_TOKEN=… cargo run` (an `otter serve` prints a key, and
//! `otter session create` / `otter token` make the other two).

use otter_dioxus::prelude::*;

fn main() {
    otter_dioxus::surface::configure_webview_environment();
    dioxus::launch(app);
}

fn app() -> Element {
    let env = |name: &str| std::env::var(name).unwrap_or_default();
    let handlers = SessionEventHandlers::default()
        .connection_created(|e: ConnectionEvent| println!("{} joined", e.connection.data));
    rsx! {
        OTSession { application_id: env("OTTER_API_KEY"), session_id: env("OTTER_SESSION_ID"),
            token: env("OTTER_TOKEN"), event_handlers: handlers,
            OTPublisher { style: "width:320px;height:240px" }  // your camera, mirrored
            OTSubscriber { style: "width:640px;height:480px" } // one view per other stream
        }
    }
}
