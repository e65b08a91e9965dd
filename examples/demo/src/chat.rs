//! The chat: messages are signals of type [`CHAT_SIGNAL_TYPE`] to everyone; the list shows who said what.

use dioxus::prelude::*;
use otter_dioxus::prelude::*;
use otter_rtc::{ConnectionId, SignalEvent, SignalRequest};

use crate::errors::describe;

/// The signal type of chat messages, sent and received.
pub const CHAT_SIGNAL_TYPE: &str = "chat";

/// Chat lines kept on screen.
const MAX_CHAT_LINES: usize = 500;

/// One line of the chat.
#[derive(Clone, Debug, PartialEq)]
pub struct ChatMessage {
    /// Numbers the lines in arrival order: the list's key, stable while old lines are dropped.
    pub id: u64,
    /// The sender's connection (None: the server).
    pub from: Option<ConnectionId>,
    /// The sender's name (their connection data).
    pub name: String,
    pub text: String,
}

impl ChatMessage {
    /// The message a chat signal carries (None for other signals), not numbered yet.
    pub fn from_signal(e: &SignalEvent) -> Option<Self> {
        (e.signal_type == CHAT_SIGNAL_TYPE).then(|| Self {
            id: 0,
            from: e.from.as_ref().map(|c| c.connection_id.clone()),
            name: e.from.as_ref().map_or("Server".into(), |c| c.data.clone()),
            text: e.data.clone(),
        })
    }
}

/// Adds a chat signal's message to `messages`; other signals are ignored.
pub fn receive(mut messages: Signal<Vec<ChatMessage>>, e: &SignalEvent) {
    if let Some(message) = ChatMessage::from_signal(e) {
        append(&mut messages.write(), message);
    }
}

/// Appends `message` numbered after the last line. Bounded: a long or flooded chat keeps its newest
/// lines only.
fn append(list: &mut Vec<ChatMessage>, mut message: ChatMessage) {
    message.id = list.last().map_or(0, |m| m.id + 1);
    list.push(message);
    if list.len() > MAX_CHAT_LINES {
        let excess = list.len() - MAX_CHAT_LINES;
        list.drain(..excess);
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
            match session
                .signal(SignalRequest::new(CHAT_SIGNAL_TYPE, text))
                .await
            {
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
                for m in messages.read().iter() {
                    li { key: "{m.id}", class: if m.from.is_some() && m.from == me { "mine" } else { "" },
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_keep_their_ids_while_the_oldest_are_dropped() {
        let line = |text: &str| ChatMessage {
            id: 0,
            from: None,
            name: "Server".into(),
            text: text.into(),
        };
        let mut list = Vec::new();
        for i in 0..MAX_CHAT_LINES + 2 {
            append(&mut list, line(&i.to_string()));
        }
        assert_eq!(list.len(), MAX_CHAT_LINES);
        assert_eq!((list[0].id, list[0].text.as_str()), (2, "2"));
        let last = list.last().unwrap();
        assert_eq!(last.id as usize, MAX_CHAT_LINES + 1);
    }
}
