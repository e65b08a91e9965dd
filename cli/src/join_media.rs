//! The media side of `otter join`: what to publish, subscribing to every stream, and the `stats` lines.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use otter_media::VideoCodec;
use otter_rtc::{
    AudioSourceChoice, PreferredCodecs, PublisherEvent, PublisherProperties, Session, SessionEvent,
    StreamId, Subscriber, SubscriberEvent, SubscriberProperties, VideoSourceChoice,
};
use serde_json::json;
use tokio::sync::Mutex;

use crate::join::JoinArgs;

/// What `--publish`, `--audio`, `--resolution`, `--fps`, `--codec`, `--video-bitrate` and `--name` ask
/// for; None = publish nothing.
pub fn publisher_properties(args: &JoinArgs) -> anyhow::Result<Option<PublisherProperties>> {
    let (video_kind, video_device) = split(&args.publish);
    let (audio_kind, audio_arg) = split(&args.audio);
    let mut props = PublisherProperties {
        name: args.name.clone(),
        frame_rate: args.fps,
        video_bitrate: args.video_bitrate,
        simulcast: !args.no_simulcast,
        ..Default::default()
    };
    match video_kind {
        "none" => props.video_track = false,
        "test-pattern" => props.video_source = VideoSourceChoice::TestPattern,
        "noise" => {
            props.video_source = VideoSourceChoice::Custom(Arc::new(otter_rtc::media::NoiseSource))
        }
        "camera" => {
            props.video_source = VideoSourceChoice::Camera;
            props.camera_device = video_device.map(str::to_owned);
        }
        other => {
            bail!("--publish must be none, test-pattern, noise or camera[:DEVICE], not {other:?}")
        }
    }
    match audio_kind {
        "none" => props.audio_track = false,
        "tone" => {
            let hz = audio_arg
                .map(str::parse::<f32>)
                .transpose()
                .context("--audio tone:HZ needs a number")?
                .unwrap_or(440.0);
            props.audio_source = AudioSourceChoice::Tone(hz);
        }
        "microphone" => {
            props.audio_source = AudioSourceChoice::Microphone;
            props.microphone_device = audio_arg.map(str::to_owned);
        }
        other => bail!("--audio must be none, tone[:HZ] or microphone[:DEVICE], not {other:?}"),
    }
    let (w, h) = args
        .resolution
        .split_once('x')
        .context("--resolution must be WIDTHxHEIGHT")?;
    props.resolution = (
        w.parse().context("bad width")?,
        h.parse().context("bad height")?,
    );
    props.preferred_video_codecs = PreferredCodecs::List(vec![if args.codec == "h264" {
        VideoCodec::H264
    } else {
        VideoCodec::Vp8
    }]);
    Ok((props.video_track || props.audio_track).then_some(props))
}

/// Parses a bitrate: `1500k`, `1.5M`, `1500000`.
pub fn parse_bitrate(arg: &str) -> Result<u32, String> {
    let lower = arg.trim().to_ascii_lowercase();
    let (number, scale) = match lower.strip_suffix('k') {
        Some(n) => (n, 1e3),
        None => match lower.strip_suffix('m') {
            Some(n) => (n, 1e6),
            None => (lower.as_str(), 1.0),
        },
    };
    match number.parse::<f64>() {
        Ok(v) if v > 0.0 && v * scale < u32::MAX as f64 => Ok((v * scale).round() as u32),
        _ => Err(format!("not a bitrate: {arg:?} (try 1500k)")),
    }
}

fn split(arg: &str) -> (&str, Option<&str>) {
    match arg.split_once(':') {
        Some((kind, rest)) => (kind, Some(rest)),
        None => (arg, None),
    }
}

/// Prints a publisher's events until it is dropped.
pub fn print_publisher_events(publisher: &otter_rtc::Publisher) -> tokio::task::JoinHandle<()> {
    let mut events = publisher.events();
    let stream_id = publisher.stream().stream_id.to_string();
    tokio::spawn(async move {
        while let Some(event) = events.recv().await {
            let line = match event {
                PublisherEvent::StreamCreated(s) => {
                    json!({"event": "stream_created", "publisher": true, "stream_id": s.stream_id.as_str(), "has_audio": s.has_audio, "has_video": s.has_video})
                }
                PublisherEvent::Error(e) => {
                    json!({"event": "error", "publisher": true, "stream_id": stream_id, "code": e.code, "name": e.name, "message": e.message})
                }
                PublisherEvent::StreamDestroyed { stream, reason } => {
                    json!({"event": "stream_destroyed", "publisher": true, "stream_id": stream.stream_id.as_str(), "reason": reason})
                }
                _ => continue, // audio levels are in the stats lines
            };
            crate::emit(&line);
        }
    })
}

/// Prints a `publisher_stats` line once a second, forever (the caller stops waiting on it): what the
/// congestion controller estimates the uplink carries and what the encoders send.
pub async fn publisher_stats_every_second(publisher: &otter_rtc::Publisher) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
    tick.tick().await;
    loop {
        tick.tick().await;
        let s = publisher.stats();
        let (width, height, fps) = s.sent_format.unwrap_or_default();
        crate::emit(&json!({
            "event": "publisher_stats",
            "stream_id": publisher.stream().stream_id.as_str(),
            "send_estimate_bps": s.send_estimate_bps,
            "video_bitrate_bps": s.video_bitrate_bps,
            "width": width,
            "height": height,
            "fps": fps,
            "frames_encoded": s.frames_encoded,
            "keyframes": s.keyframes,
            "bytes_sent": s.bytes_sent,
        }));
    }
}

/// Subscriptions by stream.
pub type Subscriptions = Arc<Mutex<HashMap<StreamId, Subscriber>>>;

/// Subscribes to every stream of others, present and future, until the session's events end.
pub fn subscribe_all(
    session: Session,
    subscriptions: Subscriptions,
) -> tokio::task::JoinHandle<()> {
    let mut events = session.events();
    tokio::spawn(async move {
        let own = session.connection().map(|c| c.connection_id);
        for stream in session.streams() {
            if Some(&stream.connection.connection_id) != own.as_ref() {
                subscribe(&session, &stream, &subscriptions).await;
            }
        }
        while let Some(event) = events.recv().await {
            match event {
                SessionEvent::StreamCreated(e) => {
                    subscribe(&session, &e.stream, &subscriptions).await
                }
                SessionEvent::StreamDestroyed(e) => {
                    if let Some(sub) = subscriptions.lock().await.remove(&e.stream.stream_id) {
                        print_stats(&sub);
                        sub.unsubscribe().await;
                    }
                }
                _ => {}
            }
        }
    })
}

async fn subscribe(session: &Session, stream: &otter_rtc::Stream, subscriptions: &Subscriptions) {
    match session
        .subscribe(stream, SubscriberProperties::default())
        .await
    {
        Ok(sub) => {
            let mut events = sub.events();
            let stream_id = stream.stream_id.to_string();
            tokio::spawn(async move {
                while let Some(event) = events.recv().await {
                    let name = match event {
                        SubscriberEvent::Connected => "subscriber_connected",
                        SubscriberEvent::VideoDataReceived => "video_data_received",
                        SubscriberEvent::Error(e) => {
                            crate::emit(
                                &json!({"event": "error", "subscriber": true, "stream_id": stream_id, "code": e.code, "name": e.name, "message": e.message}),
                            );
                            continue;
                        }
                        SubscriberEvent::VideoDisabled(reason)
                        | SubscriberEvent::VideoEnabled(reason) => {
                            let name = if matches!(event, SubscriberEvent::VideoEnabled(_)) {
                                "video_enabled"
                            } else {
                                "video_disabled"
                            };
                            crate::emit(
                                &json!({"event": name, "stream_id": stream_id, "reason": video_reason(reason)}),
                            );
                            continue;
                        }
                        SubscriberEvent::VideoDisableWarning => "video_disable_warning",
                        SubscriberEvent::VideoDisableWarningLifted => {
                            "video_disable_warning_lifted"
                        }
                        SubscriberEvent::Disconnected => "subscriber_disconnected",
                        SubscriberEvent::Reconnected => "subscriber_reconnected",
                        _ => continue,
                    };
                    crate::emit(&json!({"event": name, "stream_id": stream_id}));
                }
            });
            subscriptions
                .lock()
                .await
                .insert(stream.stream_id.clone(), sub);
        }
        Err(e) => crate::emit(
            &json!({"event": "error", "subscriber": true, "stream_id": stream.stream_id.as_str(), "code": e.code, "name": e.name, "message": e.message}),
        ),
    }
}

/// OpenTok's name of a [`VideoReason`].
fn video_reason(reason: otter_rtc::VideoReason) -> &'static str {
    match reason {
        otter_rtc::VideoReason::PublishVideo => "publishVideo",
        otter_rtc::VideoReason::SubscribeToVideo => "subscribeToVideo",
        otter_rtc::VideoReason::Quality => "quality",
        otter_rtc::VideoReason::CodecNotSupported => "codecNotSupported",
    }
}

/// One `stats` line (CLI.md); `fps` is over the last `interval` when given.
pub fn print_stats(sub: &Subscriber) {
    print_stats_with_rate(sub, None);
}

fn print_stats_with_rate(sub: &Subscriber, fps: Option<f64>) {
    let s = sub.stats();
    let mut line = json!({
        "event": "stats",
        "stream_id": sub.stream().stream_id.as_str(),
        "frames_decoded": s.frames_decoded,
        "fps": fps,
        "width": s.width,
        "height": s.height,
        "bytes_received": s.bytes_received,
        "packets_lost": s.packets_lost,
        "audio_level": s.audio_level,
        "audio_freq_hz": s.audio_freq_hz,
        "audio_playout_delay_ms": s.audio_playout_delay_ms,
        "audio_gaps": s.audio_gaps,
    });
    if s.pattern_frames_verified > 0 {
        line["pattern_frames_verified"] = json!(s.pattern_frames_verified);
        line["pattern_latency_ms_p50"] = json!(s.pattern_latency_ms_p50);
    }
    crate::emit(&line);
}

/// Prints stats for every subscription once a second, with its frame rate.
pub fn stats_every_second(subscriptions: Subscriptions) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.tick().await;
        let mut last: HashMap<StreamId, (u64, std::time::Instant)> = HashMap::new();
        loop {
            tick.tick().await;
            for (id, sub) in subscriptions.lock().await.iter() {
                let now = std::time::Instant::now();
                let frames = sub.stats().frames_decoded;
                let fps = last.insert(id.clone(), (frames, now)).map(|(before, at)| {
                    (frames - before) as f64 / now.duration_since(at).as_secs_f64()
                });
                print_stats_with_rate(sub, fps.map(|f| (f * 10.0).round() / 10.0));
            }
        }
    })
}
