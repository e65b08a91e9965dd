//! What a video view draws around its frames: the frame surface when there is video, a placeholder
//! (initial and name) when there is not, a name tag, and muted-microphone / camera-off marks. Shared by
//! `OTSubscriberView` and `OTPublisher`'s preview. Plain elements with inline styles, so a view looks
//! right without any stylesheet; `class` and `style` on the components restyle the box.

use std::sync::Arc;

use dioxus::prelude::*;
use otter_rtc::ScaleBehavior;

use crate::surface::{FrameSource, VideoSurface};

/// What one view shows.
#[derive(Props, Clone, PartialEq)]
pub(crate) struct ViewProps {
    /// The frames, once there is video to show.
    pub frames: Option<FrameSource>,
    /// The name shown on the placeholder and tag.
    pub name: String,
    /// Whether audio is on (off shows the muted mark).
    pub has_audio: bool,
    pub scale_behavior: ScaleBehavior,
    pub mirror: bool,
    pub on_resize: Option<EventHandler<(u32, u32)>>,
}

const BOX: &str =
    "position:relative;overflow:hidden;background:#202124;min-width:64px;min-height:48px;";
const FILL: &str = "position:absolute;inset:0;";
const PLACEHOLDER: &str =
    "position:absolute;inset:0;display:flex;align-items:center;justify-content:center;";
const AVATAR: &str = "width:72px;height:72px;border-radius:50%;background:#5f6368;color:#fff;\
    display:flex;align-items:center;justify-content:center;font:500 32px system-ui,sans-serif;";
const TAG: &str = "position:absolute;left:8px;bottom:8px;display:flex;align-items:center;gap:4px;\
    max-width:calc(100% - 16px);padding:2px 8px;border-radius:4px;background:rgba(0,0,0,.55);\
    color:#fff;font:500 13px system-ui,sans-serif;white-space:nowrap;overflow:hidden;text-overflow:ellipsis;";

/// The inline style of a view's box, with the app's style after ours so it wins.
pub(crate) fn box_style(extra: Option<&str>) -> String {
    format!("{BOX}{}", extra.unwrap_or_default())
}

/// The inside of a view's box.
#[component]
pub(crate) fn ViewContent(props: ViewProps) -> Element {
    let initial = props
        .name
        .chars()
        .next()
        .map(|c| c.to_uppercase().to_string())
        .unwrap_or_default();
    rsx! {
        // A one-item keyed list: another sink is another surface (its own handler, socket and count).
        for frames in props.frames.clone() {
            div { key: "{Arc::as_ptr(&frames.0):p}", style: FILL,
                VideoSurface {
                    frames,
                    scale_behavior: props.scale_behavior,
                    mirror: props.mirror,
                    on_resize: props.on_resize,
                }
            }
        }
        if props.frames.is_none() {
            div { class: "otter-placeholder", style: PLACEHOLDER,
                div { style: AVATAR, "{initial}" }
            }
        }
        if !props.name.is_empty() || !props.has_audio {
            div { class: "otter-name", style: TAG,
                if !props.has_audio {
                    MicOff {}
                }
                "{props.name}"
            }
        }
    }
}

/// A crossed-out microphone.
#[component]
pub(crate) fn MicOff() -> Element {
    rsx! {
        svg {
            view_box: "0 0 24 24",
            width: "16",
            height: "16",
            fill: "none",
            stroke: "#f28b82",
            stroke_width: "2",
            stroke_linecap: "round",
            "aria-label": "microphone off",
            rect { x: "9", y: "3", width: "6", height: "11", rx: "3" }
            path { d: "M5 11a7 7 0 0 0 14 0M12 18v3" }
            path { d: "M4 4l16 16" }
        }
    }
}
