//! `otter session create` and `otter token`: what a back end does with the project's key and secret.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::{Args, ValueEnum};
use otter_protocol::{Role, SessionId};
use otter_server::tokens::{self, TokenFormat, TokenOptions};
use otter_server::Project;

#[derive(Args)]
pub struct CreateArgs {
    /// The server's base URL.
    #[arg(long, env = "OTTER_URL", default_value = "http://127.0.0.1:8080")]
    url: String,
    /// The project's API key.
    #[arg(long, env = "OTTER_API_KEY")]
    api_key: String,
    /// The project's API secret.
    #[arg(long, env = "OTTER_API_SECRET", hide_env_values = true)]
    api_secret: String,
    /// routed (through the server's SFU) or relayed (OpenTok's peer-to-peer preference).
    #[arg(long, value_enum, default_value_t = MediaMode::Routed)]
    media_mode: MediaMode,
    /// A location hint (IPv4 address).
    #[arg(long)]
    location: Option<String>,
}

#[derive(Clone, Copy, ValueEnum)]
enum MediaMode {
    Routed,
    Relayed,
}

pub async fn create(args: CreateArgs) -> anyhow::Result<ExitCode> {
    let project = Project {
        api_key: args.api_key,
        api_secret: args.api_secret,
    };
    let mut form = vec![(
        "p2p.preference",
        match args.media_mode {
            MediaMode::Routed => "disabled".to_string(),
            MediaMode::Relayed => "enabled".to_string(),
        },
    )];
    if let Some(location) = args.location {
        form.push(("location", location));
    }
    let response = reqwest::Client::new()
        .post(format!("{}/session/create", args.url.trim_end_matches('/')))
        .header(
            "X-OPENTOK-AUTH",
            tokens::mint_rest_auth(&project, otter_server::clock::unix_secs()),
        )
        .header("Accept", "application/json")
        .form(&form)
        .send()
        .await
        .with_context(|| format!("cannot reach {}", args.url))?;
    let status = response.status();
    let body: serde_json::Value = response
        .json()
        .await
        .context("the server's answer is not JSON")?;
    if !status.is_success() {
        bail!(
            "the server refused ({status}): {}",
            body["message"].as_str().unwrap_or("no message")
        );
    }
    let id = body[0]["session_id"]
        .as_str()
        .context("the server's answer has no session_id")?;
    println!("{id}");
    Ok(ExitCode::SUCCESS)
}

#[derive(Args)]
pub struct TokenArgs {
    /// The project's API key.
    #[arg(long, env = "OTTER_API_KEY")]
    api_key: String,
    /// The project's API secret.
    #[arg(long, env = "OTTER_API_SECRET", hide_env_values = true)]
    api_secret: String,
    /// The session the token admits to.
    #[arg(long)]
    session: String,
    /// What the connection may do.
    #[arg(long, default_value = "publisher", value_parser = ["publisher", "subscriber", "publisheronly", "moderator"])]
    role: String,
    /// Connection data other clients see (at most 1 000 characters).
    #[arg(long, default_value = "")]
    data: String,
    /// Lifetime in seconds (at most 30 days).
    #[arg(long, default_value_t = 24 * 3600)]
    expire_in: u64,
    /// A legacy `T1==` token instead of a JWT.
    #[arg(long)]
    legacy: bool,
}

pub fn token(args: TokenArgs) -> anyhow::Result<ExitCode> {
    let session = SessionId::new(args.session.as_str()).context("invalid session ID")?;
    let project = Project {
        api_key: args.api_key,
        api_secret: args.api_secret,
    };
    let options = TokenOptions {
        role: Role::parse(&args.role).context("unknown role")?,
        data: args.data,
        expire_in: Duration::from_secs(args.expire_in),
        initial_layout_class_list: Vec::new(),
    };
    let format = if args.legacy {
        TokenFormat::Legacy
    } else {
        TokenFormat::Jwt
    };
    let token = tokens::mint(
        &project,
        &session,
        &options,
        format,
        otter_server::clock::unix_secs(),
    )
    .context("cannot make the token")?;
    println!("{token}");
    Ok(ExitCode::SUCCESS)
}
