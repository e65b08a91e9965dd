//! The event-handler bags: [`SessionEventHandlers`] here, `PublisherEventHandlers` and
//! `SubscriberEventHandlers` beside their components. One optional closure per event key (API.md §2.2,
//! §3.2, §4), set with a builder that takes an `FnMut`, so a handler may write a captured `Signal`
//! directly. All three bags are made by the one macro below over one store, `Handlers`.

use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;

use otter_rtc::{
    ConnectionDestroyedEvent, ConnectionEvent, ErrorEvent, MuteForcedEvent, SessionConnectedEvent,
    SessionDisconnectedEvent, SessionEvent, SessionReconnectEvent, SignalEvent,
    StreamDestroyedEvent, StreamEvent, StreamPropertyChangedEvent,
};

/// One handler: the app's `FnMut` behind the filter of its key. Shared, so cloning a bag is cheap and a
/// clone calls the same closure (with the same captured state).
type Handler<E> = Rc<RefCell<dyn FnMut(&E)>>;

/// The handlers set on a bag, by key. Each is offered every event of type `E` and acts on those of its
/// key (the builder wraps the app's closure in that filter).
pub(crate) struct Handlers<E> {
    by_key: Vec<(&'static str, Handler<E>)>,
}

impl<E> Handlers<E> {
    /// Sets (or replaces) the handler of `key`.
    pub(crate) fn set(&mut self, key: &'static str, handler: impl FnMut(&E) + 'static) {
        self.by_key.retain(|(k, _)| *k != key);
        self.by_key.push((key, Rc::new(RefCell::new(handler))));
    }

    pub(crate) fn is_set(&self, key: &str) -> bool {
        self.by_key.iter().any(|(k, _)| *k == key)
    }

    /// Offers `event` to every handler. The handlers are cloned out first and each is borrowed only
    /// while it runs, so a handler that causes another event (or a re-render that replaces the bag)
    /// does not find a handler already borrowed; only a handler re-entering itself would.
    pub(crate) fn dispatch(&self, event: &E) {
        let handlers: Vec<_> = self.by_key.iter().map(|(_, h)| h.clone()).collect();
        for handler in handlers {
            (handler.borrow_mut())(event);
        }
    }
}

/// Equal when both hold the very same closures (a clone of one bag), since closures cannot be compared.
impl<E> PartialEq for Handlers<E> {
    fn eq(&self, other: &Self) -> bool {
        self.by_key.len() == other.by_key.len()
            && self
                .by_key
                .iter()
                .zip(&other.by_key)
                .all(|((a, f), (b, g))| a == b && Rc::ptr_eq(f, g))
    }
}

impl<E> Clone for Handlers<E> {
    fn clone(&self) -> Self {
        Self {
            by_key: self.by_key.clone(),
        }
    }
}

impl<E> Default for Handlers<E> {
    fn default() -> Self {
        Self { by_key: Vec::new() }
    }
}

impl<E> fmt::Debug for Handlers<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set()
            .entries(self.by_key.iter().map(|(k, _)| k))
            .finish()
    }
}

/// A handler bag: `$bag` over events of type `$event`, with one builder per key. A key is
/// `name(arguments of the app's closure) = the pattern of its events`, the pattern binding the arguments.
macro_rules! event_handlers {
    (
        $(#[$meta:meta])*
        pub struct $bag:ident for $event:ty {
            $( $(#[$doc:meta])* $key:ident ( $($arg:ident : $ty:ty),* ) = $pat:pat, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Default, Debug)]
        pub struct $bag($crate::event_handlers::Handlers<$event>);

        impl $bag {
            /// No handlers yet (the same as `default()`).
            pub fn new() -> Self {
                Self::default()
            }

            $(
                $(#[$doc])*
                pub fn $key(mut self, mut handler: impl FnMut($($ty),*) + 'static) -> Self {
                    self.0.set(stringify!($key), move |event: &$event| {
                        #[allow(irrefutable_let_patterns)]
                        if let $pat = event {
                            handler($(::std::clone::Clone::clone($arg)),*);
                        }
                    });
                    self
                }
            )*

            /// Whether a handler is set for `key` (a builder's name, such as `"error"`).
            pub fn is_set(&self, key: &str) -> bool {
                self.0.is_set(key)
            }

            /// Calls the handlers `event` is for.
            pub(crate) fn dispatch(&self, event: &$event) {
                self.0.dispatch(event)
            }
        }

        /// Equal only to a clone of itself. A bag built anew in the parent's render therefore
        /// re-renders the component, which then dispatches to the closures of that latest render (as
        /// Dioxus does for its own `Callback` props, which it re-points in place): a handler that
        /// captured a plain value sees the current one. Rendering does no I/O, so the re-render is
        /// cheap; a parent that wants none keeps its bag in a hook and passes clones.
        impl PartialEq for $bag {
            fn eq(&self, other: &Self) -> bool {
                self.0 == other.0
            }
        }
    };
}

pub(crate) use event_handlers;

event_handlers! {
    /// The handlers of an [`crate::OTSession`], keyed as in API.md §2.2.
    ///
    /// ```
    /// use otter_dioxus::prelude::*;
    ///
    /// fn app() -> Element {
    ///     let mut joined = use_signal(|| false);
    ///     let handlers = SessionEventHandlers::new()
    ///         .session_connected(move |_| joined.set(true))
    ///         .signal(|e: SignalEvent| println!("{}: {}", e.signal_type, e.data));
    ///     rsx! {
    ///         OTSession { application_id: "KEY", session_id: "SESSION", token: "TOKEN", event_handlers: handlers,
    ///             if joined() { "In the call" }
    ///         }
    ///     }
    /// }
    ///
    /// let handlers = SessionEventHandlers::new().error(|e: ErrorEvent| eprintln!("{}", e.error));
    /// assert!(handlers.is_set("error") && !handlers.is_set("signal"));
    /// ```
    pub struct SessionEventHandlers for SessionEvent {
        /// This client connected.
        session_connected(e: SessionConnectedEvent) = SessionEvent::SessionConnected(e),
        /// This client left or lost the session.
        session_disconnected(e: SessionDisconnectedEvent) = SessionEvent::SessionDisconnected(e),
        /// The link dropped; retrying.
        session_reconnecting(e: SessionReconnectEvent) = SessionEvent::SessionReconnecting(e),
        /// The link is back.
        session_reconnected(e: SessionReconnectEvent) = SessionEvent::SessionReconnected(e),
        /// Another client joined.
        connection_created(e: ConnectionEvent) = SessionEvent::ConnectionCreated(e),
        /// Another client left.
        connection_destroyed(e: ConnectionDestroyedEvent) = SessionEvent::ConnectionDestroyed(e),
        /// A stream of another client appeared.
        stream_created(e: StreamEvent) = SessionEvent::StreamCreated(e),
        /// Such a stream ended.
        stream_destroyed(e: StreamDestroyedEvent) = SessionEvent::StreamDestroyed(e),
        /// A stream's audio, video, size or type changed.
        stream_property_changed(e: StreamPropertyChangedEvent) = SessionEvent::StreamPropertyChanged(e),
        /// A signal arrived.
        signal(e: SignalEvent) = SessionEvent::Signal(e),
        /// A moderator muted everyone, or lifted it.
        mute_forced(e: MuteForcedEvent) = SessionEvent::MuteForced(e),
        /// Connecting or the session failed.
        error(e: ErrorEvent) = SessionEvent::Error(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_handler_is_fn_mut_and_sees_only_its_key() {
        let seen = Rc::new(RefCell::new(Vec::new()));
        let mut count = 0;
        let handlers = SessionEventHandlers::new().signal({
            let seen = seen.clone();
            move |e: SignalEvent| {
                count += 1;
                seen.borrow_mut().push(format!("{count} {}", e.data));
            }
        });
        let project =
            otter_server::ServerConfig::with_project("100200", "secret").projects[0].clone();
        let session_id = otter_server::session_ids::new_session_id(&project, "");
        let signal = |data: &str| {
            SessionEvent::Signal(SignalEvent {
                session_id: session_id.clone(),
                signal_type: "t".into(),
                data: data.into(),
                from: None,
            })
        };
        handlers.dispatch(&signal("a"));
        handlers.dispatch(&SessionEvent::Error(ErrorEvent {
            session_id: None,
            error: otter_rtc::ErrorCode::InvalidParameter.with_message("x"),
        }));
        handlers.clone().dispatch(&signal("b"));
        assert_eq!(*seen.borrow(), ["1 a", "2 b"]);
        assert_eq!(handlers, handlers.clone(), "a clone is the same bag");
        assert_ne!(
            handlers,
            SessionEventHandlers::new(),
            "a new bag is a change"
        );
    }
}
