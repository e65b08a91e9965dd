//! New session IDs in the OpenTok shape. A session needs no database: an ID is valid when it is well
//! formed and names a configured project.

use otter_protocol::session_id::SessionIdParts;
use otter_protocol::SessionId;
use rand::Rng;

use crate::config::Project;

/// A fresh session ID of `project`.
pub fn new_session_id(project: &Project, location: &str) -> SessionId {
    let now = crate::clock::unix_millis();
    let random: u64 = rand::thread_rng().gen();
    let parts = SessionIdParts {
        api_key: project.api_key.clone(),
        location: location.to_owned(),
        create_time: now.to_string(),
        random: format!("{random:016x}"),
    };
    SessionId::new(parts.encode()).expect("an encoded SessionIdParts is a valid session ID")
}
