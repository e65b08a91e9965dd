//! Session tokens and REST credentials in the OpenTok formats, so tokens minted by the official server
//! SDKs are accepted here and tokens minted here are accepted by anything that checks OpenTok tokens.
//!
//! - Session tokens: the OpenTok JWT ([`TokenFormat::Jwt`]) and the legacy `T1==` token
//!   ([`TokenFormat::Legacy`]). [`verify`] accepts both.
//! - REST credentials: the `X-OPENTOK-AUTH` header, a short-lived HS256 JWT ([`verify_rest_auth`]).

pub mod jwt;
pub mod legacy;

use std::time::Duration;

use otter_protocol::token::{MAX_CONNECTION_DATA_CHARS, MAX_TOKEN_TTL_SECS};
use otter_protocol::{Role, SessionId, TokenClaims};
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::config::{Project, ServerConfig};

/// Why a token was refused. Every variant means `OT_AUTHENTICATION_ERROR` (1004) to a client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not a token in any known format.
    #[error("malformed token: {0}")]
    Malformed(&'static str),
    /// The signature does not match the project's secret.
    #[error("token signature does not match")]
    BadSignature,
    /// Past its expiry time.
    #[error("token has expired")]
    Expired,
    /// Made for another session.
    #[error("token is for another session")]
    WrongSession,
    /// Signed for an API key this server does not serve, or not the session's.
    #[error("token is for another project")]
    WrongProject,
    /// A role that does not exist.
    #[error("token has an unknown role")]
    BadRole,
    /// `connection_data` over 1 000 characters.
    #[error("connection data is longer than {MAX_CONNECTION_DATA_CHARS} characters")]
    DataTooLong,
    /// An expiry in the past or beyond 30 days.
    #[error("token expiry must be in the future and at most 30 days ahead")]
    BadExpiry,
}

/// How a minted token is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TokenFormat {
    /// The OpenTok JWT (what current SDKs make).
    #[default]
    Jwt,
    /// The legacy `T1==` token.
    Legacy,
}

/// What a new token grants.
#[derive(Debug, Clone)]
pub struct TokenOptions {
    /// The role (default `publisher`).
    pub role: Role,
    /// `connection_data`, at most 1 000 characters.
    pub data: String,
    /// Lifetime (default 24 h, at most 30 days).
    pub expire_in: Duration,
    /// Layout classes for archives.
    pub initial_layout_class_list: Vec<String>,
}

impl Default for TokenOptions {
    fn default() -> Self {
        Self {
            role: Role::Publisher,
            data: String::new(),
            expire_in: Duration::from_secs(otter_protocol::token::DEFAULT_TOKEN_TTL_SECS),
            initial_layout_class_list: Vec::new(),
        }
    }
}

/// The claims of an OpenTok JWT session token.
#[derive(Serialize, Deserialize)]
struct JwtClaims {
    iss: String,
    #[serde(default)]
    ist: String,
    #[serde(default)]
    iat: u64,
    exp: u64,
    #[serde(default)]
    nonce: serde_json::Value,
    #[serde(default)]
    role: Option<String>,
    #[serde(default)]
    scope: String,
    session_id: String,
    #[serde(default)]
    create_time: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expire_time: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    connection_data: Option<String>,
    #[serde(default)]
    initial_layout_class_list: serde_json::Value,
}

/// Makes a token for `session_id`, signed with `project`'s secret.
pub fn mint(
    project: &Project,
    session_id: &SessionId,
    options: &TokenOptions,
    format: TokenFormat,
    now_secs: u64,
) -> Result<String, TokenError> {
    if session_id.api_key() != project.api_key {
        return Err(TokenError::WrongProject);
    }
    if options.data.chars().count() > MAX_CONNECTION_DATA_CHARS {
        return Err(TokenError::DataTooLong);
    }
    let ttl = options.expire_in.as_secs();
    if ttl == 0 || ttl > MAX_TOKEN_TTL_SECS {
        return Err(TokenError::BadExpiry);
    }
    let expire = now_secs + ttl;
    let nonce = rand::thread_rng().gen_range(0.0f64..1.0);
    let layout = options.initial_layout_class_list.join(" ");
    Ok(match format {
        TokenFormat::Jwt => jwt::sign(
            &JwtClaims {
                iss: project.api_key.clone(),
                ist: "project".into(),
                iat: now_secs,
                exp: expire,
                nonce: nonce.into(),
                role: Some(options.role.as_str().into()),
                scope: "session.connect".into(),
                session_id: session_id.to_string(),
                create_time: Some(now_secs),
                expire_time: Some(expire),
                connection_data: Some(options.data.clone()),
                initial_layout_class_list: layout.into(),
            },
            &project.api_secret,
        ),
        TokenFormat::Legacy => {
            // The field order of the npm `opentok` package.
            let mut fields = vec![
                ("session_id", session_id.to_string()),
                ("create_time", now_secs.to_string()),
                ("nonce", nonce.to_string()),
                ("role", options.role.as_str().to_string()),
                ("expire_time", expire.to_string()),
            ];
            if !options.data.is_empty() {
                fields.push(("connection_data", options.data.clone()));
            }
            fields.push(("initial_layout_class_list", layout));
            fields.push(("scope", "session.connect".to_string()));
            legacy::sign(&project.api_key, &project.api_secret, &fields)
        }
    })
}

/// Checks a session token for `session_id`: format, project, signature, session, role, expiry, data.
pub fn verify(
    token: &str,
    config: &ServerConfig,
    session_id: &SessionId,
    now_secs: u64,
) -> Result<TokenClaims, TokenError> {
    let claims = if token.starts_with(legacy::PREFIX) {
        let parsed = legacy::Parsed::parse(token)?;
        let project = project_for(config, session_id, &parsed.api_key)?;
        claims_from_form(&project.api_key, parsed.verify(&project.api_secret)?)?
    } else {
        let peeked: JwtClaims = jwt::peek(token)?;
        let project = project_for(config, session_id, &peeked.iss)?;
        let c: JwtClaims = jwt::verify(token, &project.api_secret)?;
        if c.scope != "session.connect" {
            return Err(TokenError::Malformed("JWT scope is not session.connect"));
        }
        TokenClaims {
            api_key: c.iss,
            session_id: c.session_id,
            role: parse_role(c.role.as_deref())?,
            create_time: c.create_time.unwrap_or(c.iat),
            expire_time: c.exp,
            nonce: match c.nonce {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            },
            connection_data: c.connection_data.unwrap_or_default(),
            initial_layout_class_list: layout_list(&c.initial_layout_class_list),
        }
    };
    if claims.session_id != session_id.as_str() {
        return Err(TokenError::WrongSession);
    }
    if claims.expire_time <= now_secs {
        return Err(TokenError::Expired);
    }
    if claims.connection_data.chars().count() > MAX_CONNECTION_DATA_CHARS {
        return Err(TokenError::DataTooLong);
    }
    Ok(claims)
}

fn project_for<'a>(
    config: &'a ServerConfig,
    session_id: &SessionId,
    api_key: &str,
) -> Result<&'a Project, TokenError> {
    if api_key != session_id.api_key() {
        return Err(TokenError::WrongProject);
    }
    config.project(api_key).ok_or(TokenError::WrongProject)
}

fn parse_role(role: Option<&str>) -> Result<Role, TokenError> {
    match role {
        None | Some("") => Ok(Role::Publisher),
        Some(r) => Role::parse(r).ok_or(TokenError::BadRole),
    }
}

fn layout_list(v: &serde_json::Value) -> Vec<String> {
    match v {
        serde_json::Value::String(s) => s.split_whitespace().map(str::to_owned).collect(),
        serde_json::Value::Array(a) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

fn claims_from_form(
    api_key: &str,
    fields: Vec<(String, String)>,
) -> Result<TokenClaims, TokenError> {
    let get = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let number = |name: &str| -> Result<Option<u64>, TokenError> {
        match get(name) {
            None | Some("") => Ok(None),
            // Some SDKs write times with a fraction.
            Some(v) => v
                .split('.')
                .next()
                .and_then(|i| i.parse().ok())
                .map(Some)
                .ok_or(TokenError::Malformed("T1 time field is not a number")),
        }
    };
    let create_time = number("create_time")?.unwrap_or(0);
    Ok(TokenClaims {
        api_key: api_key.to_owned(),
        session_id: get("session_id")
            .ok_or(TokenError::Malformed("T1 token has no session_id"))?
            .to_owned(),
        role: parse_role(get("role"))?,
        create_time,
        // A legacy token without expire_time gets the default lifetime from its creation.
        expire_time: number("expire_time")?
            .unwrap_or(create_time.saturating_add(otter_protocol::token::DEFAULT_TOKEN_TTL_SECS)),
        nonce: get("nonce").unwrap_or_default().to_owned(),
        connection_data: get("connection_data").unwrap_or_default().to_owned(),
        initial_layout_class_list: get("initial_layout_class_list")
            .map(|s| s.split_whitespace().map(str::to_owned).collect())
            .unwrap_or_default(),
    })
}

/// The claims of an `X-OPENTOK-AUTH` REST credential: exactly these, as the OpenTok SDKs send them. A
/// session token is signed with the same secret and also says `ist: project`; its session claims
/// (`scope`, `session_id`, `role`, …) are what tell it apart, so any claim beyond these refuses it.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RestClaims {
    iss: String,
    ist: String,
    iat: u64,
    exp: u64,
    /// A nonce: the SDKs send a string (Node: a UUID, Python: a random number as text).
    #[serde(default)]
    jti: Option<serde_json::Value>,
}

/// Clock slack allowed between the caller and the server.
const CLOCK_SKEW_SECS: u64 = 60;

/// The longest lifetime a REST credential may claim (OpenTok SDKs use 5 minutes), plus clock slack.
const REST_AUTH_MAX_AHEAD_SECS: u64 = 5 * 60 + CLOCK_SKEW_SECS;

/// Claims only a session token carries.
const SESSION_CLAIMS: [&str; 6] = [
    "scope",
    "session_id",
    "role",
    "nonce",
    "connection_data",
    "initial_layout_class_list",
];

/// Makes an `X-OPENTOK-AUTH` value for `project`, valid for 5 minutes.
pub fn mint_rest_auth(project: &Project, now_secs: u64) -> String {
    jwt::sign(
        &RestClaims {
            iss: project.api_key.clone(),
            ist: "project".into(),
            iat: now_secs,
            exp: now_secs + 300,
            jti: Some(format!("{:016x}", rand::thread_rng().gen::<u64>()).into()),
        },
        &project.api_secret,
    )
}

/// Checks an `X-OPENTOK-AUTH` value against the project `api_key` (None = any configured project).
/// Returns the authenticated project.
pub fn verify_rest_auth<'a>(
    header: &str,
    config: &'a ServerConfig,
    api_key: Option<&str>,
    now_secs: u64,
) -> Result<&'a Project, TokenError> {
    let raw: serde_json::Value = jwt::peek(header)?;
    if SESSION_CLAIMS.iter().any(|c| raw.get(c).is_some()) {
        return Err(TokenError::Malformed(
            "a session token is not a REST credential",
        ));
    }
    let peeked: RestClaims = serde_json::from_value(raw)
        .map_err(|_| TokenError::Malformed("X-OPENTOK-AUTH claims are not a REST credential's"))?;
    if api_key.is_some_and(|k| k != peeked.iss) {
        return Err(TokenError::WrongProject);
    }
    let project = config
        .project(&peeked.iss)
        .ok_or(TokenError::WrongProject)?;
    let claims: RestClaims = jwt::verify(header, &project.api_secret)?;
    if claims.ist != "project" {
        return Err(TokenError::Malformed("X-OPENTOK-AUTH ist is not project"));
    }
    if claims.exp <= now_secs {
        return Err(TokenError::Expired);
    }
    if claims.exp > now_secs + REST_AUTH_MAX_AHEAD_SECS || claims.iat > now_secs + CLOCK_SKEW_SECS {
        return Err(TokenError::BadExpiry);
    }
    Ok(project)
}

#[cfg(test)]
mod tests;
