//! `OTSession`: mounting connects, unmounting disconnects, identity props changing reconnects, and the
//! latest `event_handlers` receive every event. Descendants reach the session through [`use_session`].

use std::cell::RefCell;
use std::rc::Rc;

use dioxus::core::Task;
use dioxus::prelude::*;
use otter_rtc::{Session, SessionOptions, SignalRequest};

use crate::handlers::SessionEventHandlers;

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

/// A session and the task that connects it and relays its events.
struct Live {
    identity: Identity,
    task: Task,
}

/// Connects and relays events until the task is cancelled (unmount or identity change).
async fn run(session: Session, token: String, handlers: Rc<RefCell<SessionEventHandlers>>) {
    let mut events = session.events();
    let connecting = session.clone();
    // Errors arrive as `error` events too, so the result needs no separate handling here.
    spawn(async move {
        let _ = connecting.connect(&token).await;
    });
    while let Some(event) = events.recv().await {
        // Clone out, so a handler may replace the handlers (by re-rendering) without a borrow conflict.
        let current = handlers.borrow().clone();
        current.dispatch(event);
    }
}

/// An OpenTok-style session: mounting connects, unmounting disconnects, a change of `application_id`,
/// `session_id`, `token` or `options` reconnects, and `event_handlers` receives every session event.
///
/// ```no_run
/// use otter_dioxus::prelude::*;
///
/// fn app() -> Element {
///     let joined = use_signal(|| 0);
///     let handlers = SessionEventHandlers::default()
///         // Handlers are `Fn`; a signal is `Copy`, so take a mutable copy inside.
///         .connection_created(move |_: ConnectionEvent| *joined.clone().write() += 1)
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
#[allow(non_snake_case)]
pub fn OTSession(props: OTSessionProps) -> Element {
    let handlers = use_hook(|| Rc::new(RefCell::new(SessionEventHandlers::default())));
    *handlers.borrow_mut() = props.event_handlers.clone();
    let mut session = use_signal(|| None::<Session>);
    use_context_provider(|| SessionContext { session });
    let live = use_hook(|| Rc::new(RefCell::new(None::<Live>)));
    let identity = Identity {
        application_id: props.application_id.clone(),
        session_id: props.session_id.clone(),
        token: props.token.clone(),
        options: props.options.clone(),
    };
    if live.borrow().as_ref().map(|l| &l.identity) != Some(&identity) {
        // A new identity: the old connection ends (its task is cancelled and its session dropped, which
        // leaves in the background) and a new one starts.
        if let Some(old) = live.borrow_mut().take() {
            old.task.cancel();
            // Its own `session_disconnected` would come after the task is gone: report the leave here.
            let was_joined = session
                .peek()
                .as_ref()
                .is_some_and(|s| s.connection().is_some());
            if let (true, Ok(session_id)) = (
                was_joined,
                otter_rtc::SessionId::new(old.identity.session_id),
            ) {
                let event = otter_rtc::SessionDisconnectedEvent {
                    session_id,
                    reason: otter_rtc::DisconnectReason::ClientDisconnected,
                };
                handlers
                    .borrow()
                    .clone()
                    .dispatch(otter_rtc::SessionEvent::SessionDisconnected(event));
            }
        }
        let s = Session::init(
            &identity.application_id,
            &identity.session_id,
            identity.options.clone(),
        );
        let task = spawn(run(s.clone(), identity.token.clone(), handlers.clone()));
        session.set(Some(s));
        *live.borrow_mut() = Some(Live { identity, task });
    }
    let sent_signal = use_hook(|| Rc::new(RefCell::new(None::<SignalRequest>)));
    if props.signal != *sent_signal.borrow() {
        *sent_signal.borrow_mut() = props.signal.clone();
        if let (Some(request), Some(s)) = (props.signal.clone(), session.peek().clone()) {
            spawn(async move {
                // Sent once connected: the engine queues it while connecting would fail, so wait.
                let mut state = s.watch_state();
                let _ = state
                    .wait_for(|st| st.status == otter_rtc::SessionStatus::Connected)
                    .await;
                let _ = s.signal(request).await;
            });
        }
    }
    use_drop({
        let live = live.clone();
        move || {
            if let Some(old) = live.borrow_mut().take() {
                old.task.cancel();
            }
        }
    });
    rsx! {
        div { class: props.class.clone().unwrap_or_default(), style: props.style.clone().unwrap_or_default(), {props.children} }
    }
}
