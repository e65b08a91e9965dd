//! What an app's back end does for the demo: where the server is, and sessions and tokens made with the
//! project's secret (over the OpenTok-shaped REST API, as the official server SDKs would). With no
//! server URL the demo runs a session server inside itself.

use otter_server::config::Project;
use otter_server::tokens::{self, TokenFormat, TokenOptions};
use otter_server::{ListenOptions, RunningServer, ServerConfig};
use tokio::sync::OnceCell;

/// The embedded server: started on first use, kept for the life of the process.
static EMBEDDED: OnceCell<(RunningServer, Project)> = OnceCell::const_new();

/// A server and the credentials to use it.
#[derive(Clone, Debug)]
pub struct Backend {
    /// `http://HOST:PORT`.
    pub url: String,
    /// The API key (`application_id`) and secret.
    pub project: Project,
}

impl PartialEq for Backend {
    fn eq(&self, other: &Self) -> bool {
        self.url == other.url && self.project.api_key == other.project.api_key
    }
}

impl Backend {
    /// The server at `url` with this project, or the embedded server when `url` is empty.
    pub async fn new(url: &str, api_key: &str, api_secret: &str) -> Result<Self, String> {
        let url = url.trim().trim_end_matches('/');
        if url.is_empty() {
            let (server, project) = EMBEDDED
                .get_or_try_init(|| async {
                    let config = ServerConfig::development();
                    let project = config.projects[0].clone();
                    let server = otter_server::start(config, ListenOptions::default())
                        .await
                        .map_err(|e| format!("The built-in server could not start: {e}"))?;
                    tracing::info!(url = %server.url(), "built-in session server started");
                    Ok::<_, String>((server, project))
                })
                .await?;
            return Ok(Self {
                url: server.url(),
                project: project.clone(),
            });
        }
        if !url.starts_with("http://") && !url.starts_with("https://") {
            return Err(format!(
                "“{url}” is not a server URL: it should start with http:// or https://"
            ));
        }
        Ok(Self {
            url: url.to_string(),
            project: Project {
                api_key: api_key.trim().to_string(),
                api_secret: api_secret.trim().to_string(),
            },
        })
    }

    /// Whether this back end can make sessions and tokens (it knows the secret).
    pub fn can_mint(&self) -> bool {
        !self.project.api_key.is_empty() && !self.project.api_secret.is_empty()
    }

    /// A new routed session, made through the REST API.
    pub async fn create_session(&self) -> Result<String, String> {
        if !self.can_mint() {
            return Err(
                "To create a session the demo needs the project's API key and secret \
                 (Advanced, or --api-key / --api-secret)."
                    .into(),
            );
        }
        let response = reqwest::Client::new()
            .post(format!("{}/session/create", self.url))
            .header(
                "X-OPENTOK-AUTH",
                tokens::mint_rest_auth(&self.project, otter_server::clock::unix_secs()),
            )
            .header("Accept", "application/json")
            .form(&[("p2p.preference", "disabled")])
            .timeout(std::time::Duration::from_secs(10))
            .send()
            .await
            .map_err(|e| format!("The server at {} cannot be reached ({e}).", self.url))?;
        let status = response.status();
        let body: serde_json::Value = response.json().await.unwrap_or_default();
        if !status.is_success() {
            let why = body["message"].as_str().unwrap_or("no reason given");
            return Err(format!(
                "The server refused to create a session: {why} ({status})."
            ));
        }
        body[0]["session_id"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| "The server's answer had no session ID.".into())
    }

    /// A publisher token for `session`, carrying the display name as connection data.
    pub fn token(&self, session: &str, name: &str) -> Result<String, String> {
        if !self.can_mint() {
            return Err("Without the API secret the demo needs a token (Advanced).".into());
        }
        let session = otter_rtc::SessionId::new(session)
            .map_err(|e| format!("“{session}” is not a session ID ({e})."))?;
        let options = TokenOptions {
            data: name.chars().take(200).collect(),
            ..TokenOptions::default()
        };
        tokens::mint(
            &self.project,
            &session,
            &options,
            TokenFormat::Jwt,
            otter_server::clock::unix_secs(),
        )
        .map_err(|e| format!("Cannot make a token: {e}"))
    }
}
