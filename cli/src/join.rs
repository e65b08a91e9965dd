//! `otter join`: a headless participant that prints every event as a JSON line.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use otter_rtc::{ConnectionId, Session, SessionEvent, SessionOptions, SignalRequest};

use crate::event_json::event_json;

#[derive(Args)]
pub struct JoinArgs {
    // Fields are read by join_media too.
    /// The server's base URL.
    #[arg(long, env = "OTTER_URL", default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// The application ID (the project's API key).
    #[arg(long, env = "OTTER_API_KEY")]
    pub api_key: String,
    /// The session to join.
    #[arg(long, env = "OTTER_SESSION")]
    pub session: String,
    /// A token for that session.
    #[arg(long, env = "OTTER_TOKEN", hide_env_values = true)]
    pub token: String,
    /// What video to publish: none, test-pattern, noise (defeats compression: the encoder sends its
    /// whole target bitrate), or camera[:DEVICE].
    #[arg(long, default_value = "none")]
    pub publish: String,
    /// Video bitrate target in bits per second (`1500k`, `2M` or a number); default: suits the size.
    #[arg(long, value_parser = crate::join_media::parse_bitrate)]
    pub video_bitrate: Option<u32>,
    /// What audio to publish: none, tone[:HZ] or microphone[:DEVICE].
    #[arg(long, default_value = "none")]
    pub audio: String,
    /// Video size to publish, WIDTHxHEIGHT.
    #[arg(long, default_value = "640x480")]
    pub resolution: String,
    /// Video frames per second to publish.
    #[arg(long, default_value_t = 30)]
    pub fps: u32,
    /// Video codec to publish with.
    #[arg(long, default_value = "vp8", value_parser = ["vp8", "h264"])]
    pub codec: String,
    /// Publish VP8 video as one layer instead of simulcast (full, half and quarter size).
    #[arg(long)]
    pub no_simulcast: bool,
    /// The published stream's name.
    #[arg(long, default_value = "")]
    pub name: String,
    /// Subscribe to every stream (`all`) or none.
    #[arg(long, default_value = "all", value_parser = ["none", "all"])]
    pub subscribe: String,
    /// A signal to send once connected, as TYPE:DATA (repeatable).
    #[arg(long = "signal", value_name = "TYPE:DATA")]
    pub signals: Vec<String>,
    /// Send the --signal signals to this connection only.
    #[arg(long)]
    pub signal_to: Option<String>,
    /// Stay this many seconds, then leave and exit 0 (default: until SIGINT/SIGTERM).
    #[arg(long)]
    pub duration: Option<f64>,
    /// How long to wait for the server when connecting, in seconds.
    #[arg(long, default_value_t = 15.0)]
    pub connect_timeout: f64,
    #[command(flatten)]
    pub ice: crate::join_ice::IceArgs,
}

pub async fn run(args: JoinArgs) -> anyhow::Result<ExitCode> {
    let signals = args
        .signals
        .iter()
        .map(|s| {
            let (t, d) = s.split_once(':').unwrap_or((s.as_str(), ""));
            let request = SignalRequest::new(t, d);
            match &args.signal_to {
                Some(to) => {
                    Ok(request.to(ConnectionId::new(to.as_str()).context("invalid --signal-to")?))
                }
                None => Ok(request),
            }
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let options = SessionOptions {
        connect_timeout: Duration::from_secs_f64(args.connect_timeout),
        ice_config: args.ice.config()?,
        ..SessionOptions::with_api_url(&args.url)
    };
    let session = Session::init(&args.api_key, &args.session, options);
    let mut events = session.events();
    // Prints every event; ends when the session object is gone. Reports how the session ended.
    let (ended_tx, mut ended) = tokio::sync::watch::channel(None);
    let printer = tokio::spawn(async move {
        while let Some(event) = events.recv().await {
            crate::emit(&event_json(&event));
            if let SessionEvent::SessionDisconnected(d) = &event {
                ended_tx.send_replace(Some(d.reason));
            }
        }
    });
    if session.connect(&args.token).await.is_err() {
        // The error event says why; let the printer finish it.
        drop(session);
        let _ = tokio::time::timeout(Duration::from_secs(2), printer).await;
        return Ok(ExitCode::FAILURE);
    }
    let publisher = match crate::join_media::publisher_properties(&args)? {
        Some(props) => match session.publish(props).await {
            Ok(p) => {
                crate::join_media::print_publisher_events(&p);
                Some(p)
            }
            Err(e) => {
                crate::emit(
                    &serde_json::json!({"event": "error", "publisher": true, "code": e.code, "name": e.name, "message": e.message}),
                );
                None
            }
        },
        None => None,
    };
    let subscriptions: crate::join_media::Subscriptions = Default::default();
    let media_tasks = if args.subscribe == "all" {
        vec![
            crate::join_media::subscribe_all(session.clone(), subscriptions.clone()),
            crate::join_media::stats_every_second(subscriptions.clone()),
        ]
    } else {
        Vec::new()
    };
    for signal in signals {
        if let Err(e) = session.signal(signal).await {
            crate::emit(
                &serde_json::json!({"event": "signal_failed", "code": e.code, "name": e.name, "message": e.message}),
            );
        }
    }
    let stay = async {
        match args.duration {
            Some(secs) => tokio::time::sleep(Duration::from_secs_f64(secs)).await,
            None => crate::stop_signal().await,
        }
    };
    let publisher_stats = async {
        match &publisher {
            Some(p) => crate::join_media::publisher_stats_every_second(p).await,
            None => std::future::pending().await,
        }
    };
    let lost = tokio::select! {
        _ = stay => false,
        _ = ended.wait_for(|r| r.is_some()) => true,
        _ = publisher_stats => false,
    };
    for task in media_tasks {
        task.abort();
    }
    for (_, sub) in subscriptions.lock().await.drain() {
        crate::join_media::print_stats(&sub);
        sub.unsubscribe().await;
    }
    if let Some(p) = publisher {
        p.unpublish().await;
    }
    session.disconnect().await;
    drop(session);
    let _ = tokio::time::timeout(Duration::from_secs(2), printer).await;
    // Leaving on our own terms is success; being dropped or removed is not.
    Ok(if lost {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}
