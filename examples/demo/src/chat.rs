//! The chat: messages are signals of type `chat` to everyone; the list shows who said what.

use dioxus::prelude::*;
use otter_dioxus::prelude::*;
use otter_rtc::{ConnectionId, SignalEvent, SignalRequest};

use crate::errors::describe;

/// One line of the chat.
#[derive(Clone, Debug, PartialEq)]
pub struct ChatMessage {
    /// The sender's connection (None: the server).
    pub from: Option<ConnectionId>,
    /// The sender's name (their connection data).
    pub name: String,
    pub text: String,
}

impl ChatMessage {
    /// The message a `chat` signal carries.
    pub fn from_signal(e: &SignalEvent) -> Self {
        Self {
            from: e.from.as_ref().map(|c| c.connection_id.clone()),
            name: e.from.as_ref().map_or("Server".into(), |c| c.data.clone()),
            text: e.data.clone(),
        }
    }
}

/// The chat panel.
#[component]
pub fn Chat(messages: Signal<Vec<ChatMessage>>) -> Element {
    let context = use_session();
    let mut draft = use_signal(String::new);
    let mut sent = use_signal(|| 0u64);
    let mut error = use_signal(|| None::<String>);
    let me = context
        .session()
        .and_then(|s| s.connection())
        .map(|c| c.connection_id);
    let send = move |_| {
        let text = draft.peek().trim().to_string();
        let Some(session) = context.session() else {
            return;
        };
        if text.is_empty() {
            return;
        }
        spawn(async move {
            match session.signal(SignalRequest::new("chat", text)).await {
                Ok(()) => {
                    draft.set(String::new());
                    sent += 1;
                    error.set(None);
                }
                Err(e) => error.set(Some(describe(&e))),
            }
        });
    };
    rsx! {
        aside { class: "chat",
            h2 { "Chat" }
            ol { class: "messages",
                if messages.read().is_empty() {
                    li { class: "empty", "No messages yet." }
                }
                for (i, m) in messages.read().iter().enumerate() {
                    li { key: "{i}", class: if m.from.is_some() && m.from == me { "mine" } else { "" },
                        b { "{m.name}" }
                        span { "{m.text}" }
                    }
                }
            }
            if let Some(e) = error() {
                p { class: "error", "{e}" }
            }
            form {
                class: "compose",
                onsubmit: move |e| {
                    e.prevent_default();
                    send(());
                },
                // Keyed: a new key after each message sent gives a fresh, empty input.
                for k in [sent()] {
                    input {
                        key: "{k}",
                        "data-field": "chat",
                        maxlength: "2000",
                        placeholder: "Message everyone",
                        oninput: move |e| draft.set(e.value()),
                    }
                }
                button { r#type: "submit", "Send" }
            }
        }
    }
}
