use super::*;
use crate::session_ids::new_session_id;

fn setup() -> (ServerConfig, SessionId) {
    let config = ServerConfig::with_project("4711", "very-secret");
    let sid = new_session_id(&config.projects[0], "");
    (config, sid)
}

#[test]
fn both_formats_verify() {
    let (config, sid) = setup();
    let opts = TokenOptions {
        role: Role::Moderator,
        data: "name=Ann & co".into(),
        ..Default::default()
    };
    for format in [TokenFormat::Jwt, TokenFormat::Legacy] {
        let t = mint(&config.projects[0], &sid, &opts, format, 1_000).unwrap();
        let c = verify(&t, &config, &sid, 1_001).unwrap();
        assert_eq!(c.role, Role::Moderator, "{format:?}");
        assert_eq!(c.connection_data, "name=Ann & co");
        assert_eq!(c.session_id, sid.as_str());
        assert_eq!(c.expire_time, 1_000 + 24 * 3600);
    }
}

#[test]
fn refusals() {
    let (config, sid) = setup();
    let p = &config.projects[0];
    let opts = TokenOptions::default();
    for format in [TokenFormat::Jwt, TokenFormat::Legacy] {
        let t = mint(p, &sid, &opts, format, 1_000).unwrap();
        assert_eq!(
            verify(&t, &config, &sid, 1_000 + 24 * 3600),
            Err(TokenError::Expired)
        );
        let other = new_session_id(p, "");
        assert_eq!(
            verify(&t, &config, &other, 1_001),
            Err(TokenError::WrongSession)
        );
        let wrong_secret = Project {
            api_key: p.api_key.clone(),
            api_secret: "nope".into(),
        };
        let forged = mint(&wrong_secret, &sid, &opts, format, 1_000).unwrap();
        assert_eq!(
            verify(&forged, &config, &sid, 1_001),
            Err(TokenError::BadSignature)
        );
    }
    let long = TokenOptions {
        data: "x".repeat(1001),
        ..Default::default()
    };
    assert_eq!(
        mint(p, &sid, &long, TokenFormat::Jwt, 0),
        Err(TokenError::DataTooLong)
    );
    let forever = TokenOptions {
        expire_in: Duration::from_secs(31 * 24 * 3600),
        ..Default::default()
    };
    assert_eq!(
        mint(p, &sid, &forever, TokenFormat::Jwt, 0),
        Err(TokenError::BadExpiry)
    );
    for garbage in ["", "T1==", "T1==!!!!", "a.b.c", "a.b", "eyJ.eyJ.x", "\u{0}"] {
        assert!(verify(garbage, &config, &sid, 0).is_err(), "{garbage:?}");
    }
}

#[test]
fn other_project_is_refused() {
    let (config, sid) = setup();
    let other = Project {
        api_key: "999".into(),
        api_secret: "s".into(),
    };
    let other_sid = new_session_id(&other, "");
    let t = mint(
        &other,
        &other_sid,
        &TokenOptions::default(),
        TokenFormat::Jwt,
        0,
    )
    .unwrap();
    assert_eq!(
        verify(&t, &config, &other_sid, 1),
        Err(TokenError::WrongProject)
    );
    assert_eq!(verify(&t, &config, &sid, 1), Err(TokenError::WrongProject));
}

#[test]
fn rest_auth() {
    let (config, _) = setup();
    let p = &config.projects[0];
    let h = mint_rest_auth(p, 100);
    assert_eq!(
        verify_rest_auth(&h, &config, Some("4711"), 101)
            .unwrap()
            .api_key,
        "4711"
    );
    assert!(verify_rest_auth(&h, &config, Some("other"), 101).is_err());
    assert_eq!(
        verify_rest_auth(&h, &config, None, 500).unwrap_err(),
        TokenError::Expired
    );
    let far = jwt::sign(
        &RestClaims {
            iss: "4711".into(),
            ist: "project".into(),
            iat: 0,
            exp: 100_000,
            jti: None,
        },
        &p.api_secret,
    );
    assert_eq!(
        verify_rest_auth(&far, &config, None, 1).unwrap_err(),
        TokenError::BadExpiry
    );
}

/// F1: a session token, whatever its role and however close to expiry, is never a REST credential.
#[test]
fn a_session_token_is_not_a_rest_credential() {
    let (config, sid) = setup();
    let p = &config.projects[0];
    for ttl in [60u64, 300, 24 * 3600] {
        for role in [Role::Subscriber, Role::Moderator] {
            let opts = TokenOptions {
                role,
                expire_in: Duration::from_secs(ttl),
                ..Default::default()
            };
            let t = mint(p, &sid, &opts, TokenFormat::Jwt, 1_000).unwrap();
            for now in [1_001, 1_000 + ttl - 100] {
                assert!(
                    verify_rest_auth(&t, &config, None, now).is_err(),
                    "a {role:?} token with {ttl} s to live passed as REST auth at {now}"
                );
            }
        }
    }
    // Any session claim makes it a session token, even on an otherwise REST-shaped claim set.
    for extra in ["scope", "session_id", "role", "nonce", "connection_data"] {
        let mut claims =
            serde_json::json!({"iss": "4711", "ist": "project", "iat": 100, "exp": 300});
        claims[extra] = serde_json::json!("session.connect");
        let t = jwt::sign(&claims, &p.api_secret);
        assert!(verify_rest_auth(&t, &config, None, 101).is_err(), "{extra}");
    }
}

/// F1, the other way: a REST credential opens no session (and so no WHIP/WHEP resource).
#[test]
fn a_rest_credential_is_not_a_session_token() {
    let (config, sid) = setup();
    let h = mint_rest_auth(&config.projects[0], 100);
    assert!(verify(&h, &config, &sid, 101).is_err());
}

/// A credential issued in the future (beyond clock slack) is refused.
#[test]
fn rest_auth_from_the_future_is_refused() {
    let (config, _) = setup();
    let secret = &config.projects[0].api_secret;
    let at = |iat: u64| {
        jwt::sign(
            &serde_json::json!({"iss": "4711", "ist": "project", "iat": iat, "exp": 10_300}),
            secret,
        )
    };
    assert!(verify_rest_auth(&at(10_030), &config, None, 10_000).is_ok());
    assert!(verify_rest_auth(&at(10_200), &config, None, 10_000).is_err());
}
