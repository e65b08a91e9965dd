//! Refs: handles on a mounted component's engine object — React Native's `ref`
//! (`publisher.getRtcStatsReport()`).
//! Weak: a handle never keeps a publisher or subscription alive; after its component unmounts, every
//! method returns None.

use std::rc::{Rc, Weak};

use otter_rtc::{Publisher, PublisherStats, Stream, Subscriber, SubscriberStats};

/// A handle on an `OTPublisher`'s publisher, given to its `on_publisher` callback once it publishes.
///
/// ```no_run
/// use otter_dioxus::prelude::*;
///
/// #[component]
/// fn Me() -> Element {
///     let mut handle = use_signal(|| None::<PublisherHandle>);
///     rsx! {
///         OTPublisher { on_publisher: move |h| handle.set(Some(h)) }
///         button {
///             onclick: move |_| async move {
///                 let Some(h) = handle() else { return };
///                 if let Some(report) = h.get_rtc_stats_report().await {
///                     println!("{report}");
///                 }
///             },
///             "Stats"
///         }
///     }
/// }
/// ```
#[derive(Clone)]
pub struct PublisherHandle(pub(crate) Weak<Publisher>);

impl PublisherHandle {
    pub(crate) fn new(publisher: &Rc<Publisher>) -> Self {
        Self(Rc::downgrade(publisher))
    }

    /// The published stream.
    pub fn stream(&self) -> Option<Stream> {
        Some(self.0.upgrade()?.stream().clone())
    }

    /// What has been sent so far.
    pub fn stats(&self) -> Option<PublisherStats> {
        Some(self.0.upgrade()?.stats())
    }

    /// The W3C stats report (a JSON array), also delivered to the `rtc_stats_report` handler.
    pub async fn get_rtc_stats_report(&self) -> Option<serde_json::Value> {
        let publisher = self.0.upgrade()?;
        Some(publisher.get_rtc_stats_report().await)
    }
}

/// A handle on an `OTSubscriberView`'s subscription, given to its `on_subscriber` callback once it
/// subscribes.
#[derive(Clone)]
pub struct SubscriberHandle(pub(crate) Weak<Subscriber>);

impl SubscriberHandle {
    pub(crate) fn new(subscriber: &Rc<Subscriber>) -> Self {
        Self(Rc::downgrade(subscriber))
    }

    /// The stream received.
    pub fn stream(&self) -> Option<Stream> {
        Some(self.0.upgrade()?.stream().clone())
    }

    /// What has been received so far (frames, bytes, losses, latency).
    pub fn stats(&self) -> Option<SubscriberStats> {
        Some(self.0.upgrade()?.stats())
    }

    /// The W3C stats report (a JSON array), also delivered to the `rtc_stats_report` handler.
    pub async fn get_rtc_stats_report(&self) -> Option<serde_json::Value> {
        let subscriber = self.0.upgrade()?;
        Some(subscriber.get_rtc_stats_report().await)
    }
}
