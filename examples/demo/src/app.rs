//! The demo's root: the join screen until a call is set up, then the call; leaving (or losing the
//! call) comes back to the join screen with the form as it was and the reason shown.

use dioxus::prelude::*;

use crate::call::{Call, CallSetup};
use crate::join::{JoinForm, JoinScreen};
use crate::Args;

const STYLE: &str = include_str!("style.css");

/// Which screen is up.
#[derive(Clone, PartialEq)]
pub enum Screen {
    /// The form, with the last error if any.
    Join(Option<String>),
    /// A call in progress.
    Call(CallSetup),
}

/// The root component.
#[component]
pub fn App() -> Element {
    let args = use_context::<Args>();
    let form = use_signal(|| JoinForm::from_args(&args));
    let mut screen = use_signal(|| Screen::Join(None));
    // `--join` (and `--bots N`, whose point is a full call at once) joins at start, once: after leaving,
    // the join screen waits for the button.
    let mut auto_join = use_signal(|| args.join || args.bots > 0);
    if let Some(path) = args.probe.clone() {
        crate::probe::use_probe(path);
    }
    let body = match screen() {
        Screen::Join(error) => rsx! {
            JoinScreen {
                form,
                error,
                auto_join: auto_join(),
                bots: args.bots,
                on_ready: move |setup| {
                    auto_join.set(false);
                    screen.set(Screen::Call(setup));
                },
            }
        },
        Screen::Call(setup) => rsx! {
            Call { setup, on_leave: move |why| screen.set(Screen::Join(why)) }
        },
    };
    rsx! {
        style { {STYLE} }
        {body}
    }
}
