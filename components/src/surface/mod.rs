//! The video surface: draws a [`VideoSink`]'s frames in the page.
//!
//! With the `desktop` feature, [`VideoSurface`] renders a `<canvas>` that a small page script fills: the
//! script asks the app's loopback frame socket (`socket.rs`) for a frame after drawing one, falling back
//! to an asset handler this component registers (`use_asset_handler`); either answers with the newest
//! frame only, so a slow page skips frames and nothing queues. With a GPU, pixels cross as
//! I420 and a WebGL shader converts them (2.7× fewer bytes than RGBA); without one (WebGL would run in
//! a software rasterizer and be read back for compositing) the app converts to RGBA and the page puts
//! it on a 2D canvas, which measured cheaper. Without the feature (headless, tests) the surface renders
//! an empty element that carries its state as data attributes.

pub mod frames;
#[cfg(feature = "desktop")]
mod socket;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use dioxus::prelude::*;
use otter_rtc::media::VideoSink;
use otter_rtc::ScaleBehavior;

/// A frame source for [`VideoSurface`]: compared by identity, so a re-render with the same sink keeps
/// the surface as it is.
#[derive(Clone)]
pub struct FrameSource(pub Arc<VideoSink>);

impl PartialEq for FrameSource {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl From<Arc<VideoSink>> for FrameSource {
    fn from(sink: Arc<VideoSink>) -> Self {
        Self(sink)
    }
}

/// The props of [`VideoSurface`].
#[derive(Props, Clone, PartialEq)]
pub struct VideoSurfaceProps {
    /// Where the frames come from: a subscriber's `video_frames()`, a publisher's `preview_frames()`.
    pub frames: FrameSource,
    /// Fill the element (crop) or fit inside it (letterbox).
    #[props(default)]
    pub scale_behavior: ScaleBehavior,
    /// Mirror horizontally (the local preview).
    #[props(default)]
    pub mirror: bool,
    /// Called with the element's size in CSS pixels when it changes.
    #[props(default)]
    pub on_resize: Option<EventHandler<(u32, u32)>>,
}

static NEXT_SURFACE: AtomicU64 = AtomicU64::new(1);

/// Frames drawn by each mounted surface, as its page script last reported them.
static DRAWN: Mutex<BTreeMap<u64, u64>> = Mutex::new(BTreeMap::new());

/// Prepares the process environment for the desktop webview; call it first thing in `main`, before any
/// thread starts. On a machine without a GPU render node (`/dev/dri/renderD*`) it turns off WebKitGTK's
/// DMA-BUF renderer, whose software fallback costs 3–4× the CPU per video tile (measured 1.19 vs 0.35
/// cores for a 640x480@30 tile under Xvfb). An explicit `WEBKIT_DISABLE_DMABUF_RENDERER` is left alone.
///
/// ```no_run
/// // First thing in main, before the runtime and the window start:
/// otter_dioxus::surface::configure_webview_environment();
/// ```
pub fn configure_webview_environment() {
    if cfg!(target_os = "linux")
        && software_rendering()
        && std::env::var_os("WEBKIT_DISABLE_DMABUF_RENDERER").is_none()
    {
        std::env::set_var("WEBKIT_DISABLE_DMABUF_RENDERER", "1");
    }
}

/// Whether the webview renders without a GPU (Linux: no `/dev/dri/renderD*` node), which makes
/// surfaces draw RGBA on a 2D canvas instead of I420 through WebGL. `OTTER_SURFACE=webgl` or `=2d`
/// overrides the guess (for troubleshooting and tests).
pub fn software_rendering() -> bool {
    match std::env::var("OTTER_SURFACE").as_deref() {
        Ok("webgl") => return false,
        Ok("2d") => return true,
        _ => {}
    }
    cfg!(target_os = "linux")
        && !std::fs::read_dir("/dev/dri").is_ok_and(|dir| {
            dir.flatten()
                .any(|e| e.file_name().to_string_lossy().starts_with("renderD"))
        })
}

/// Notes what a mounted surface's page script reported (a late request from an unmounted one is
/// ignored).
#[cfg_attr(not(feature = "desktop"), allow(dead_code))]
fn record_drawn(id: u64, drawn: u64) {
    if let Some(n) = DRAWN.lock().unwrap_or_else(|p| p.into_inner()).get_mut(&id) {
        *n = drawn;
    }
}

/// How many frames each mounted surface has drawn, in mount order (for stats and benchmarks).
pub fn frames_drawn() -> Vec<u64> {
    DRAWN
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .values()
        .copied()
        .collect()
}

/// Draws `frames` into an element that fills its parent.
///
/// ```no_run
/// use otter_rtc::media::VideoSink;
/// use otter_dioxus::prelude::*;
/// use otter_dioxus::surface::VideoSurface;
///
/// fn app() -> Element {
///     // Any VideoSink: a subscriber's `video_frames()`, a publisher's `preview_frames()`, or the app's.
///     let sink = use_hook(VideoSink::new);
///     rsx! {
///         div { style: "width:640px;height:480px", VideoSurface { frames: sink.into() } }
///     }
/// }
/// ```
#[component]
pub fn VideoSurface(props: VideoSurfaceProps) -> Element {
    let id = use_hook(|| {
        let id = NEXT_SURFACE.fetch_add(1, Ordering::Relaxed);
        DRAWN
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, 0);
        id
    });
    use_drop(move || {
        DRAWN.lock().unwrap_or_else(|p| p.into_inner()).remove(&id);
    });
    // Only in a desktop window: the same build also renders headless (tests, SSR), where the surface is
    // an inert element. Whether there is a window never changes for a mounted component, so the hooks
    // below run in the same order on every render.
    #[cfg(feature = "desktop")]
    if use_hook(desktop::in_window) {
        desktop::use_frame_handler(id, props.frames.0.clone());
    }
    let fit = match props.scale_behavior {
        ScaleBehavior::Fit => "contain",
        _ => "cover",
    };
    let mirror = if props.mirror {
        "transform:scaleX(-1);"
    } else {
        ""
    };
    let on_resize = props.on_resize;
    rsx! {
        canvas {
            id: "otter-surface-{id}",
            "data-otter-surface": "{id}",
            style: "display:block;width:100%;height:100%;object-fit:{fit};{mirror}",
            onresize: move |e: Event<ResizeData>| {
                if let (Some(cb), Ok(size)) = (on_resize, e.get_content_box_size()) {
                    cb.call((size.width.round() as u32, size.height.round() as u32));
                }
            },
        }
    }
}

#[cfg(feature = "desktop")]
mod desktop {
    use std::sync::Arc;
    use std::time::Duration;

    use dioxus::desktop::use_asset_handler;
    use dioxus::desktop::wry::http::{Response, StatusCode};
    use dioxus::prelude::*;
    use otter_rtc::media::VideoSink;

    use super::frames::{next_frame, FrameRequest};
    use super::{record_drawn, socket};

    /// The page script, installed once per page.
    const SCRIPT: &str = include_str!("surface.js");

    /// How long a frame request waits before the page is told to ask again.
    const LONG_POLL: Duration = Duration::from_secs(2);

    /// Whether this component lives in a Dioxus desktop window.
    pub(super) fn in_window() -> bool {
        try_consume_context::<dioxus::desktop::DesktopContext>().is_some()
    }

    /// Registers this surface's asset handler and starts its page script.
    pub(super) fn use_frame_handler(id: u64, sink: Arc<VideoSink>) {
        let name = format!("otter-surface-{id}");
        let socket_url = use_hook(|| socket::register(id, &sink));
        use_asset_handler(&name, move |request, responder| {
            let request = FrameRequest::parse(request.uri().query());
            record_drawn(id, request.drawn);
            let sink = sink.clone();
            // Off the UI thread: the answer waits for the next frame.
            tokio::spawn(async move {
                let response = match next_frame(&sink, request, LONG_POLL).await {
                    Some(body) => Response::builder()
                        .header("Content-Type", "application/octet-stream")
                        .header("Cache-Control", "no-store")
                        .body(body),
                    None => Response::builder()
                        .status(StatusCode::NO_CONTENT)
                        .body(Vec::new()),
                };
                if let Ok(response) = response {
                    responder.respond(response);
                }
            });
        });
        use_effect(move || {
            let socket = socket_url
                .as_deref()
                .map_or("null".to_string(), |u| format!("'{u}'"));
            let software = super::software_rendering();
            let js = format!(
                "{SCRIPT}\nwindow.otterSurface.attach('otter-surface-{id}', '/otter-surface-{id}/frame', {socket}, {software});"
            );
            document::eval(&js);
        });
        use_drop(move || {
            socket::unregister(id);
            document::eval(&format!(
                "window.otterSurface && window.otterSurface.detach('otter-surface-{id}');"
            ));
        });
    }
}
