//! Dioxus components for Otter sessions, shaped like the OpenTok React Native library: mount an
//! [`OTSession`] and it connects, unmount it and it disconnects, and `event_handlers` receives every
//! session event.
//!
//! ```no_run
//! use otter_dioxus::prelude::*;
//!
//! fn app() -> Element {
//!     let mut joined = use_signal(|| false);
//!     let handlers = SessionEventHandlers::new()
//!         .session_connected(move |e: SessionConnectedEvent| {
//!             println!("connected as {}", e.connection.connection_id);
//!             joined.set(true);
//!         });
//!     rsx! {
//!         OTSession { application_id: "KEY", session_id: "SESSION", token: "TOKEN", event_handlers: handlers }
//!     }
//! }
//! ```

pub mod event_handlers;
pub mod publisher;
pub mod refs;
pub mod session;
pub mod subscriber;
pub mod surface;
mod view;

pub use event_handlers::SessionEventHandlers;
pub use publisher::{OTPublisher, OTPublisherProps, PublisherEventHandlers};
pub use refs::{PublisherHandle, SubscriberHandle};
pub use session::{use_session, use_session_state, OTSession, OTSessionProps, SessionContext};
pub use subscriber::{
    OTSubscriber, OTSubscriberProps, OTSubscriberView, OTSubscriberViewProps,
    SubscriberEventHandlers,
};

/// What an app needs: `use otter_dioxus::prelude::*;`.
pub mod prelude {
    pub use crate::{
        use_session, use_session_state, OTPublisher, OTSession, OTSubscriber, OTSubscriberView,
        PublisherEventHandlers, PublisherHandle, SessionEventHandlers, SubscriberEventHandlers,
        SubscriberHandle,
    };
    pub use dioxus::prelude::*;
    pub use otter_rtc::{
        AudioSourceChoice, ConnectionDestroyedEvent, ConnectionEvent, ErrorEvent,
        PublisherProperties, SessionConnectedEvent, SessionDisconnectedEvent, SessionOptions,
        SignalEvent, SignalRequest, StreamEvent, SubscriberProperties, VideoSourceChoice,
    };
}
