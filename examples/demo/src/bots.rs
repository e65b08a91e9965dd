//! `--bots N`: headless participants in the same process, each publishing a moving test pattern, so
//! one person alone sees a full call. They use the engine directly, exactly as the CLI's `otter join`.

use otter_rtc::{PublisherProperties, Session, SessionOptions, VideoSourceChoice};

use crate::backend::Backend;

/// One bot: its session and what it publishes (dropping it leaves the call).
pub struct Bot {
    _session: Session,
    _publisher: otter_rtc::Publisher,
}

/// Joins `n` bots to `session_id`. Bots that fail are logged and skipped: the call goes on without
/// them.
pub async fn join(backend: &Backend, session_id: &str, n: usize) -> Vec<Bot> {
    let mut bots = Vec::new();
    for i in 1..=n {
        let name = format!("Bot {i}");
        match join_one(backend, session_id, &name).await {
            Ok(bot) => bots.push(bot),
            Err(e) => tracing::warn!(bot = %name, error = %e, "a bot could not join"),
        }
    }
    bots
}

async fn join_one(backend: &Backend, session_id: &str, name: &str) -> Result<Bot, String> {
    let token = backend.token(session_id, name)?;
    let options = SessionOptions::with_api_url(&backend.url);
    let session = Session::init(&backend.project.api_key, session_id, options);
    session.connect(&token).await.map_err(|e| e.to_string())?;
    let properties = PublisherProperties {
        name: name.to_string(),
        video_source: VideoSourceChoice::TestPattern,
        // No audio track: a bot has nothing to say.
        audio_track: false,
        publish_audio: false,
        resolution: (640, 480),
        // Half rate: bots are scenery, and the machine runs them beside you.
        frame_rate: 15,
        ..PublisherProperties::default()
    };
    let publisher = session
        .publish(properties)
        .await
        .map_err(|e| e.to_string())?;
    Ok(Bot {
        _session: session,
        _publisher: publisher,
    })
}
