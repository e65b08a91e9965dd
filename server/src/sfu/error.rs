//! The errors the SFU's handle returns.

/// Why an SFU request failed. Remote input (SDP) problems are [`SfuError::BadSdp`]; nothing remote panics.
#[derive(Debug, thiserror::Error)]
pub enum SfuError {
    /// No publisher with this stream id.
    #[error("unknown stream")]
    UnknownStream,
    /// No subscription with this id.
    #[error("unknown subscription")]
    UnknownSubscription,
    /// The stream id is already published.
    #[error("stream already published")]
    StreamExists,
    /// The subscription id is already in use.
    #[error("subscription already exists")]
    SubscriptionExists,
    /// The offer could not be parsed or negotiated.
    #[error("bad SDP: {0}")]
    BadSdp(String),
    /// The offer parsed but does not fit the role (e.g. a publisher offer that sends nothing).
    #[error("unsupported offer: {0}")]
    Unsupported(String),
    /// The SFU has shut down (or its task ended).
    #[error("SFU stopped")]
    Stopped,
}
