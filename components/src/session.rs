//! `OTSession`: mounting connects, unmounting disconnects, identity props changing reconnects, and the
//! latest `event_handlers` receive every event. Descendants reach the session through [`use_session`].

use std::rc::Rc;

use dioxus::core::Task;
use dioxus::prelude::*;
use otter_rtc::{
    DisconnectReason, Session, SessionDisconnectedEvent, SessionEvent, SessionId, SessionOptions,
    SignalRequest,
};

use crate::event_handlers::SessionEventHandlers;

/// What `OTSession` gives its descendants (a `Copy` handle on signals).
///
/// ```no_run
/// use otter_dioxus::prelude::*;
///
/// #[component]
/// fn Status() -> Element {
///     let context = use_session();
///     let status = context.session().map(|s| format!("{:?}", s.status())).unwrap_or_default();
///     rsx! { "{status}" }
/// }
/// ```
#[derive(Clone, Copy)]
pub struct SessionContext {
    session: Signal<Option<Session>>,
}

impl SessionContext {
    /// The session handle, once mounted (the React Native `ref` methods: `status()`, `signal()`, …).
    pub fn session(&self) -> Option<Session> {
        self.session.read().clone()
    }
}

/// The session of the nearest `OTSession` above. Panics outside one, saying so.
///
/// ```no_run
/// use otter_dioxus::prelude::*;
///
/// #[component]
/// fn Wave() -> Element {
///     let context = use_session();
///     rsx! {
///         button {
///             onclick: move |_| {
///                 if let Some(session) = context.session() {
///                     spawn(async move {
///                         let _ = session.signal(SignalRequest::new("wave", "👋")).await;
///                     });
///                 }
///             },
///             "Wave"
///         }
///     }
/// }
/// ```
pub fn use_session() -> SessionContext {
    try_use_context::<SessionContext>().expect(
        "use_session() must be called inside an OTSession: wrap this component in OTSession { … }",
    )
}

/// A value computed from the nearest session's state (`otter_rtc::SessionState`: status, this connection,
/// the others, the streams), kept current: the caller re-renders when the value changes, and follows the
/// session across reconnects and identity changes. Panics outside an `OTSession`, like [`use_session`].
///
/// ```no_run
/// use otter_dioxus::prelude::*;
///
/// #[component]
/// fn Count() -> Element {
///     let people = use_session_state(|s| s.connections.len() + usize::from(s.connection.is_some()));
///     rsx! { "{people} in call" }
/// }
/// ```
pub fn use_session_state<T: PartialEq + 'static>(
    select: impl Fn(&otter_rtc::SessionState) -> T + 'static,
) -> Signal<T> {
    let context = use_session();
    let select = use_hook(|| Rc::new(select));
    let mut value = use_signal(|| select(&otter_rtc::SessionState::default()));
    // A resource re-runs when the session signal it reads changes (a new identity): the watch follows.
    use_resource(move || {
        let (session, select) = (context.session(), select.clone());
        async move {
            let Some(session) = session else {
                return;
            };
            let mut state = session.watch_state();
            loop {
                let now = select(&state.borrow_and_update());
                if *value.peek() != now {
                    value.set(now);
                }
                if state.changed().await.is_err() {
                    return;
                }
            }
        }
    });
    value
}

/// The props of [`OTSession`] (API.md §2).
#[derive(Props, Clone, PartialEq)]
pub struct OTSessionProps {
    /// The project / application ID (OpenTok's API key).
    #[props(into)]
    pub application_id: String,
    /// The session to join.
    #[props(into)]
    pub session_id: String,
    /// A token for that session.
    #[props(into)]
    pub token: String,
    /// Server URL, timeouts, ICE.
    #[props(default)]
    pub options: SessionOptions,
    /// Sent once connected, and again whenever its value changes.
    #[props(default)]
    pub signal: Option<SignalRequest>,
    /// Called for every session event; the latest handlers are the ones called.
    #[props(default)]
    pub event_handlers: SessionEventHandlers,
    /// CSS class of the wrapping element.
    #[props(default)]
    pub class: Option<String>,
    /// Inline style of the wrapping element.
    #[props(default)]
    pub style: Option<String>,
    /// Publishers, subscribers, anything.
    pub children: Element,
}

/// Who and where: a change of any of these means a new connection.
#[derive(Clone, PartialEq)]
struct Identity {
    application_id: String,
    session_id: String,
    token: String,
    options: SessionOptions,
}

impl Identity {
    /// A session for this identity, not connected yet (no I/O: `Session::init` only makes channels).
    fn session(&self) -> Session {
        Session::init(&self.application_id, &self.session_id, self.options.clone())
    }
}

/// The connection in progress: whose it is and the task that connects it and relays its events.
struct Live {
    identity: Identity,
    task: Task,
}

/// Connects and relays events until the task is cancelled (unmount or identity change).
async fn run(session: Session, token: String, dispatch: Callback<SessionEvent>) {
    let mut events = session.events();
    let connecting = session.clone();
    // Errors arrive as `error` events too, so the result needs no separate handling here.
    spawn(async move {
        let _ = connecting.connect(&token).await;
    });
    while let Some(event) = events.recv().await {
        dispatch.call(event);
    }
}

/// An OpenTok-style session: mounting connects, unmounting disconnects, a change of `application_id`,
/// `session_id`, `token` or `options` reconnects, and `event_handlers` receives every session event.
///
/// ```no_run
/// use otter_dioxus::prelude::*;
///
/// fn app() -> Element {
///     let mut joined = use_signal(|| 0);
///     let handlers = SessionEventHandlers::new()
///         .connection_created(move |_| joined += 1)
///         .error(|e: ErrorEvent| eprintln!("{}", e.error));
///     rsx! {
///         OTSession {
///             application_id: "KEY",
///             session_id: "SESSION",
///             token: "TOKEN",
///             options: SessionOptions::with_api_url("http://127.0.0.1:8080"),
///             event_handlers: handlers,
///             p { "{joined} others joined" }
///             OTPublisher {}
///             OTSubscriber {}
///         }
///     }
/// }
/// ```
#[component]
pub fn OTSession(props: OTSessionProps) -> Element {
    // The handlers of the latest render: `use_callback` keeps one `Callback` and swaps its closure on
    // every render, so the connection task always reaches the current bag.
    let handlers = props.event_handlers.clone();
    let dispatch = use_callback(move |event: SessionEvent| handlers.dispatch(&event));
    let identity = Identity {
        application_id: props.application_id.clone(),
        session_id: props.session_id.clone(),
        token: props.token.clone(),
        options: props.options.clone(),
    };
    // Made in the first render, so children mounting with it find it; the effect below connects it.
    let mut session = use_signal({
        let identity = identity.clone();
        move || Some(identity.session())
    });
    use_context_provider(|| SessionContext { session });
    let mut live = use_signal(|| None::<Live>);

    // Connects on mount and reconnects when the identity changes (and only then, not on every render):
    // an effect, so rendering stays free of I/O.
    use_effect(use_reactive!(|identity| {
        // Also re-run when a signal read by a handler called below changes: then there is nothing to do.
        if live.peek().as_ref().is_some_and(|l| l.identity == identity) {
            return;
        }
        let session_now = match live.take() {
            // The first run: the session made in the first render.
            None => session.peek().clone().unwrap_or_else(|| identity.session()),
            // A new identity: the old connection ends (its task is cancelled and its session dropped,
            // which leaves in the background) and a new one starts.
            Some(old) => {
                old.task.cancel();
                // Its own `session_disconnected` would come after the task is gone: report the leave here.
                let was_joined = session
                    .peek()
                    .as_ref()
                    .is_some_and(|s| s.connection().is_some());
                if let (true, Ok(session_id)) =
                    (was_joined, SessionId::new(old.identity.session_id))
                {
                    dispatch.call(SessionEvent::SessionDisconnected(
                        SessionDisconnectedEvent {
                            session_id,
                            reason: DisconnectReason::ClientDisconnected,
                        },
                    ));
                }
                let new = identity.session();
                session.set(Some(new.clone()));
                new
            }
        };
        let task = spawn(run(session_now, identity.token.clone(), dispatch));
        live.set(Some(Live { identity, task }));
    }));

    // Sends the `signal` prop once connected, and again when its value changes (an equal value
    // re-rendered is not re-sent): an effect on the prop's value.
    let signal = props.signal.clone();
    use_effect(use_reactive!(|signal| {
        let (Some(request), Some(s)) = (signal, session.peek().clone()) else {
            return;
        };
        spawn(async move {
            // Sent once connected: the engine refuses a signal while connecting, so wait.
            let mut state = s.watch_state();
            let _ = state
                .wait_for(|st| st.status == otter_rtc::SessionStatus::Connected)
                .await;
            let _ = s.signal(request).await;
        });
    }));

    rsx! {
        div { class: props.class.clone().unwrap_or_default(), style: props.style.clone().unwrap_or_default(), {props.children} }
    }
}
