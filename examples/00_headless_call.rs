//! A whole call without a screen: an embedded session server, two participants who join, greet each
//! other with signals and leave, every event printed as it happens. `make demo` runs it.

use std::time::Duration;

use otter_rtc::{Role, Session, SessionEvent, SessionOptions, SignalRequest};

use otter_server::tokens::{self, TokenFormat, TokenOptions};
use otter_server::{ListenOptions, ServerConfig};

fn describe(event: &SessionEvent) -> String {
    match event {
        SessionEvent::SessionConnected(e) => format!("connected as {}", e.connection.connection_id),
        SessionEvent::SessionDisconnected(e) => format!("disconnected ({:?})", e.reason),
        SessionEvent::ConnectionCreated(e) => format!("{} joined", e.connection.data),
        SessionEvent::ConnectionDestroyed(e) => {
            format!("{} left ({:?})", e.connection.data, e.reason)
        }
        SessionEvent::Signal(e) => format!(
            "signal {:?} from {}: {}",
            e.signal_type,
            e.from.as_ref().map_or("the server", |c| c.data.as_str()),
            e.data
        ),
        SessionEvent::Error(e) => format!("error {}", e.error),
        other => other.name().to_owned(),
    }
}

/// Joins as `name` and prints every event of that participant.
async fn participant(
    url: &str,
    api_key: &str,
    session_id: &str,
    token: String,
    name: &'static str,
) -> Session {
    let session = Session::init(api_key, session_id, SessionOptions::with_api_url(url));
    let mut events = session.events();
    tokio::spawn(async move {
        while let Some(event) = events.recv().await {
            println!("{name:>4} | {}", describe(&event));
        }
    });
    session.connect(&token).await.expect("joins the session");
    session
}

#[tokio::main]
async fn main() {
    let config = ServerConfig::development();
    let project = config.projects[0].clone();
    let server = otter_server::start(config, ListenOptions::default())
        .await
        .expect("server starts");
    let url = server.url();
    let session_id = otter_server::session_ids::new_session_id(&project, "");
    println!("server | {url}, session {session_id}");
    let token = |name: &str| {
        let options = TokenOptions {
            role: Role::Publisher,
            data: name.to_owned(),
            ..Default::default()
        };
        tokens::mint(
            &project,
            &session_id,
            &options,
            TokenFormat::Jwt,
            otter_server::clock::unix_secs(),
        )
        .expect("valid token")
    };

    let ann = participant(
        &url,
        &project.api_key,
        session_id.as_str(),
        token("Ann"),
        "Ann",
    )
    .await;
    let bob = participant(
        &url,
        &project.api_key,
        session_id.as_str(),
        token("Bob"),
        "Bob",
    )
    .await;
    ann.signal(SignalRequest::new("chat", "Hi Bob!"))
        .await
        .expect("signal sent");
    let ann_id = ann.connection().expect("connected").connection_id;
    bob.signal(SignalRequest::new("chat", "Hi Ann, just you.").to(ann_id))
        .await
        .expect("signal sent");
    tokio::time::sleep(Duration::from_millis(300)).await;
    bob.disconnect().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    ann.disconnect().await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    server.shutdown(Duration::from_secs(1)).await;
    println!("server | stopped");
}
