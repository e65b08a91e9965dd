//! `SessionEventHandlers`: one optional closure per session event (API.md §2.2), set with a builder.
//! Compared by identity, so replacing a handler is a change; the latest handlers are always the ones
//! called (the component keeps them in a holder overwritten on every render — no stale closures).

use std::rc::Rc;

use otter_rtc::{
    ConnectionDestroyedEvent, ConnectionEvent, ErrorEvent, MuteForcedEvent, SessionConnectedEvent,
    SessionDisconnectedEvent, SessionEvent, SessionReconnectEvent, SignalEvent,
    StreamDestroyedEvent, StreamEvent, StreamPropertyChangedEvent,
};

/// A handler for events of type `E`.
pub type Handler<E> = Rc<dyn Fn(E)>;

macro_rules! handlers {
    ($( $(#[$doc:meta])* $key:ident : $event:ty => $variant:ident ),* $(,)?) => {
        /// The handlers of an [`crate::OTSession`], keyed as in API.md §2.2.
        ///
        /// ```
        /// use otter_dioxus::prelude::*;
        ///
        /// let handlers = SessionEventHandlers::default()
        ///     .session_connected(|e: SessionConnectedEvent| println!("I am {}", e.connection.connection_id))
        ///     .signal(|e: SignalEvent| println!("{}: {}", e.signal_type, e.data));
        /// assert!(handlers.session_connected.is_some() && handlers.error.is_none());
        /// ```
        #[derive(Clone, Default)]
        pub struct SessionEventHandlers {
            $( $(#[$doc])* pub $key: Option<Handler<$event>>, )*
        }

        impl SessionEventHandlers {
            $(
                $(#[$doc])*
                pub fn $key(mut self, handler: impl Fn($event) + 'static) -> Self {
                    self.$key = Some(Rc::new(handler));
                    self
                }
            )*

            /// Calls the handler for `event`, if one is set.
            pub fn dispatch(&self, event: SessionEvent) {
                match event {
                    $( SessionEvent::$variant(e) => if let Some(h) = &self.$key { h(e) }, )*
                    _ => {}
                }
            }
        }

        impl PartialEq for SessionEventHandlers {
            fn eq(&self, other: &Self) -> bool {
                $( same(&self.$key, &other.$key) && )* true
            }
        }
    };
}

fn same<E>(a: &Option<Handler<E>>, b: &Option<Handler<E>>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => Rc::ptr_eq(a, b),
        (None, None) => true,
        _ => false,
    }
}

handlers! {
    /// This client connected.
    session_connected: SessionConnectedEvent => SessionConnected,
    /// This client left or lost the session.
    session_disconnected: SessionDisconnectedEvent => SessionDisconnected,
    /// The link dropped; retrying.
    session_reconnecting: SessionReconnectEvent => SessionReconnecting,
    /// The link is back.
    session_reconnected: SessionReconnectEvent => SessionReconnected,
    /// Another client joined.
    connection_created: ConnectionEvent => ConnectionCreated,
    /// Another client left.
    connection_destroyed: ConnectionDestroyedEvent => ConnectionDestroyed,
    /// A stream of another client appeared.
    stream_created: StreamEvent => StreamCreated,
    /// Such a stream ended.
    stream_destroyed: StreamDestroyedEvent => StreamDestroyed,
    /// A stream's audio, video, size or type changed.
    stream_property_changed: StreamPropertyChangedEvent => StreamPropertyChanged,
    /// A signal arrived.
    signal: SignalEvent => Signal,
    /// A moderator muted everyone, or lifted it.
    mute_forced: MuteForcedEvent => MuteForced,
    /// Connecting or the session failed.
    error: ErrorEvent => Error,
}
