//! Dioxus components for Otter sessions, shaped like the OpenTok React Native library: mount an
//! [`OTSession`] and it connects, unmount it and it disconnects, and `event_handlers` receives every
//! session event.
//!
//! ```no_run
//! use otter_dioxus::prelude::*;
//!
//! fn app() -> Element {
//!     let handlers = SessionEventHandlers::default()
//!         .session_connected(|e: SessionConnectedEvent| println!("connected as {}", e.connection.connection_id));
//!     rsx! {
//!         OTSession { application_id: "KEY", session_id: "SESSION", token: "TOKEN", event_handlers: handlers }
//!     }
//! }
//! ```

pub mod handlers;
pub mod handles;
pub mod publisher;
pub mod session;
pub mod subscriber;
pub mod surface;
mod view;

pub use handlers::SessionEventHandlers;
pub use handles::{PublisherHandle, SubscriberHandle};
pub use publisher::{OTPublisher, OTPublisherProps, PublisherEventHandlers};
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
