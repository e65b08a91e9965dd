//! Just enough JWT for OpenTok: HS256 compact tokens, signed and verified with a project secret.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::de::DeserializeOwned;
use serde::Serialize;
use sha2::Sha256;

use super::TokenError;

const HEADER: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

fn mac(secret: &str) -> Hmac<Sha256> {
    // HMAC accepts keys of any length, so this cannot fail.
    Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length")
}

/// Signs `claims` with HS256.
pub fn sign<T: Serialize>(claims: &T, secret: &str) -> String {
    let payload = serde_json::to_vec(claims).expect("claims always serialize");
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(HEADER),
        URL_SAFE_NO_PAD.encode(payload)
    );
    let mut m = mac(secret);
    m.update(signing_input.as_bytes());
    let sig = URL_SAFE_NO_PAD.encode(m.finalize().into_bytes());
    format!("{signing_input}.{sig}")
}

/// Decodes the claims without checking the signature (to find which project's secret to check with).
pub fn peek<T: DeserializeOwned>(token: &str) -> Result<T, TokenError> {
    let mut parts = token.split('.');
    let (_h, p) = match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(h), Some(p), Some(_), None) => (h, p),
        _ => return Err(TokenError::Malformed("not a three-part JWT")),
    };
    let payload = URL_SAFE_NO_PAD
        .decode(p.trim_end_matches('='))
        .map_err(|_| TokenError::Malformed("JWT payload is not base64url"))?;
    serde_json::from_slice(&payload)
        .map_err(|_| TokenError::Malformed("JWT claims are not the expected JSON"))
}

/// Checks the header (HS256 only) and signature, then decodes the claims.
pub fn verify<T: DeserializeOwned>(token: &str, secret: &str) -> Result<T, TokenError> {
    let (signing_input, sig) = token
        .rsplit_once('.')
        .ok_or(TokenError::Malformed("not a three-part JWT"))?;
    let (header, _) = signing_input
        .split_once('.')
        .ok_or(TokenError::Malformed("not a three-part JWT"))?;
    let header = URL_SAFE_NO_PAD
        .decode(header.trim_end_matches('='))
        .map_err(|_| TokenError::Malformed("JWT header is not base64url"))?;
    let header: serde_json::Value = serde_json::from_slice(&header)
        .map_err(|_| TokenError::Malformed("JWT header is not JSON"))?;
    if header.get("alg").and_then(|a| a.as_str()) != Some("HS256") {
        return Err(TokenError::Malformed("JWT algorithm is not HS256"));
    }
    let sig = URL_SAFE_NO_PAD
        .decode(sig.trim_end_matches('='))
        .map_err(|_| TokenError::Malformed("JWT signature is not base64url"))?;
    let mut m = mac(secret);
    m.update(signing_input.as_bytes());
    m.verify_slice(&sig).map_err(|_| TokenError::BadSignature)?;
    peek(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_then_verify() {
        let t = sign(&serde_json::json!({"iss": "k", "n": 1}), "secret");
        let v: serde_json::Value = verify(&t, "secret").unwrap();
        assert_eq!(v["iss"], "k");
        assert_eq!(
            verify::<serde_json::Value>(&t, "other"),
            Err(TokenError::BadSignature)
        );
        let none = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#),
            t.split('.').nth(1).unwrap()
        );
        assert!(verify::<serde_json::Value>(&format!("{none}."), "secret").is_err());
    }
}
