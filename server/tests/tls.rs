//! `https` and `wss` straight from the server (rustls), with a certificate made for the test.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use otter_protocol::{ClientMessage, Role, ServerMessage};
use otter_server::tokens::{self, TokenFormat, TokenOptions};
use otter_server::{ListenOptions, ServerConfig};
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn serves_https_and_wss() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let dir = std::env::temp_dir().join(format!("otter-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.key_pair.serialize_pem()).unwrap();

    let config = ServerConfig::with_project("77", "tls-secret");
    let project = config.projects[0].clone();
    let listen = ListenOptions {
        tls: Some((cert_path, key_path)),
        ..Default::default()
    };
    let server = otter_server::start(config, listen).await.unwrap();
    assert!(server.url().starts_with("https://"));
    let port = server.addr.port();

    // REST over https, trusting only the test certificate.
    let http = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(cert.cert.pem().as_bytes()).unwrap())
        .resolve("localhost", server.addr)
        .build()
        .unwrap();
    let body = http
        .get(format!("https://localhost:{port}/healthz"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(body, "ok");

    // Signalling over wss.
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.cert.der().clone()).unwrap();
    let tls = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_tungstenite::Connector::Rustls(Arc::new(tls));
    let tcp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let (mut ws, _) = tokio_tungstenite::client_async_tls_with_config(
        format!("wss://localhost:{port}/v1/signal"),
        tcp,
        None,
        Some(connector),
    )
    .await
    .unwrap();
    let sid = otter_server::session_ids::new_session_id(&project, "");
    let token = tokens::mint(
        &project,
        &sid,
        &TokenOptions {
            role: Role::Publisher,
            ..Default::default()
        },
        TokenFormat::Jwt,
        otter_server::clock::unix_secs(),
    )
    .unwrap();
    let hello = ClientMessage::Connect {
        version: 1,
        application_id: "77".into(),
        session_id: sid,
        token,
    };
    ws.send(Message::Text(hello.encode().into())).await.unwrap();
    let reply = tokio::time::timeout(Duration::from_secs(10), ws.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let Message::Text(text) = reply else {
        panic!("{reply:?}")
    };
    assert!(
        matches!(
            ServerMessage::decode(&text).unwrap(),
            ServerMessage::Connected { .. }
        ),
        "{text}"
    );
    server.shutdown(Duration::from_secs(1)).await;
    let _ = std::fs::remove_dir_all(dir);
}
