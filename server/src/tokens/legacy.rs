//! The legacy OpenTok token: `T1==` + base64 of `partner_id=KEY&sig=HEX:DATA`, where `sig` is the
//! hex HMAC-SHA1 of DATA with the API secret and DATA is a URL-encoded form.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha1::Sha1;

use super::TokenError;

/// The prefix of every legacy token.
pub const PREFIX: &str = "T1==";

fn mac(secret: &str) -> Hmac<Sha1> {
    Hmac::<Sha1>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Builds a token from ordered form fields.
pub fn sign(api_key: &str, secret: &str, fields: &[(&str, String)]) -> String {
    let data = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields.iter().map(|(k, v)| (*k, v.as_str())))
        .finish();
    let mut m = mac(secret);
    m.update(data.as_bytes());
    let sig = hex(&m.finalize().into_bytes());
    format!(
        "{PREFIX}{}",
        STANDARD.encode(format!("partner_id={api_key}&sig={sig}:{data}"))
    )
}

/// A decoded, not yet verified legacy token.
pub struct Parsed {
    /// `partner_id` from the header part.
    pub api_key: String,
    sig: Vec<u8>,
    data: String,
}

impl Parsed {
    /// Splits a token into its header and data parts.
    pub fn parse(token: &str) -> Result<Self, TokenError> {
        let body = token
            .strip_prefix(PREFIX)
            .ok_or(TokenError::Malformed("not a T1== token"))?;
        let decoded = STANDARD
            .decode(body.trim())
            .map_err(|_| TokenError::Malformed("T1 token is not base64"))?;
        let text = String::from_utf8(decoded)
            .map_err(|_| TokenError::Malformed("T1 token is not UTF-8"))?;
        let (header, data) = text
            .split_once(':')
            .ok_or(TokenError::Malformed("T1 token has no data part"))?;
        let mut api_key = None;
        let mut sig = None;
        for (k, v) in form_urlencoded::parse(header.as_bytes()) {
            match &*k {
                "partner_id" => api_key = Some(v.into_owned()),
                "sig" => sig = Some(v.into_owned()),
                _ => {}
            }
        }
        let sig = sig.ok_or(TokenError::Malformed("T1 token has no signature"))?;
        Ok(Self {
            api_key: api_key.ok_or(TokenError::Malformed("T1 token has no partner_id"))?,
            sig: unhex(&sig).ok_or(TokenError::Malformed("T1 signature is not hex"))?,
            data: data.to_owned(),
        })
    }

    /// Checks the signature and returns the data fields.
    pub fn verify(&self, secret: &str) -> Result<Vec<(String, String)>, TokenError> {
        let mut m = mac(secret);
        m.update(self.data.as_bytes());
        m.verify_slice(&self.sig)
            .map_err(|_| TokenError::BadSignature)?;
        Ok(form_urlencoded::parse(self.data.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect())
    }
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || !s.is_ascii() {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_then_verify() {
        let t = sign(
            "123",
            "sec",
            &[("session_id", "1_abc".into()), ("role", "publisher".into())],
        );
        let p = Parsed::parse(&t).unwrap();
        assert_eq!(p.api_key, "123");
        let fields = p.verify("sec").unwrap();
        assert_eq!(fields[0], ("session_id".into(), "1_abc".into()));
        assert_eq!(p.verify("nope").unwrap_err(), TokenError::BadSignature);
        assert!(Parsed::parse("T1==%%%").is_err());
        assert!(unhex("zz").is_none());
    }
}
