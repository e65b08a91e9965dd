//! A test hook (`--probe FILE`): four times a second, reads what the page shows — screen, participant
//! count, banner, errors, where the tiles and form fields are — and writes it as JSON to FILE, so UI
//! tests can assert on the rendered page and find where to click and what to screenshot.

use std::path::PathBuf;
use std::time::Duration;

use dioxus::prelude::*;

const READ_PAGE: &str = r##"
const q = (s) => document.querySelector(s);
const rect = (e) => { const r = e.getBoundingClientRect(); return [r.x, r.y, r.width, r.height]; };
const text = (s) => { const e = q(s); return e ? e.textContent : null; };
return {
  screen: (q("[data-screen]") || {dataset: {}}).dataset.screen || null,
  participants: text("#participant-count"),
  banner: !!q("#reconnect-banner"),
  error: text("#join-error"),
  progress: text("#join-progress"),
  tiles: [...document.querySelectorAll(".tile")].map((t) => ({
    rect: rect(t), video: !!t.querySelector("canvas"), name: t.dataset.name || null,
  })),
  fields: Object.fromEntries([...document.querySelectorAll("[data-field]")].map((e) => [e.dataset.field, rect(e)])),
  values: Object.fromEntries([...document.querySelectorAll("input[data-field]")].map((e) => [e.dataset.field, e.value])),
  messages: [...document.querySelectorAll(".messages li:not(.empty)")].map((e) => e.textContent),
  frames_drawn: 0,
};
"##;

/// Starts the probe for the life of the app.
pub fn use_probe(path: PathBuf) {
    use_hook(move || {
        spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(250)).await;
                let Ok(mut page) = document::eval(READ_PAGE).await else {
                    continue;
                };
                page["frames_drawn"] = otter_dioxus::surface::frames_drawn().into();
                let tmp = path.with_extension("tmp");
                if std::fs::write(&tmp, page.to_string()).is_ok() {
                    let _ = std::fs::rename(&tmp, &path);
                }
            }
        })
    });
}
