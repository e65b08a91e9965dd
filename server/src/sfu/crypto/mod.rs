//! A pure-Rust crypto backend for str0m.
//!
//! str0m 0.25 takes its crypto through a [`CryptoProvider`]: DTLS, SRTP ciphers, SHA-1/SHA-256 and the
//! HMAC-SHA1 that STUN uses. Its own pure-Rust backend crate (`str0m-rust-crypto` 0.7) is not available to
//! this workspace, and the brief rules out the C backends (aws-lc-rs, OpenSSL), so we plug one in here:
//! DTLS is dimpl's RustCrypto build (`dtls.rs`), SRTP is the RustCrypto `aes`/`ctr`/`aes-gcm` crates
//! (`srtp.rs`), hashes come from `sha1`/`sha2`/`hmac`. Every `Rtc` the SFU builds (and the tests' client
//! peers) gets [`provider`] explicitly, so nothing depends on a process-wide default.
//!
//! When the upstream crate becomes available this whole module can be replaced by
//! `str0m_rust_crypto::default_provider()`.

mod dtls;
mod srtp;

use std::sync::{Arc, OnceLock};

use hmac::{Hmac, Mac};
use sha1::{Digest, Sha1};
use sha2::Sha256;
use str0m::config::DtlsCert;
use str0m::crypto::{CryptoProvider, Sha1HmacProvider, Sha1Provider, Sha256Provider};

/// The shared pure-Rust crypto provider; cheap to clone (an `Arc` of static references).
pub fn provider() -> Arc<CryptoProvider> {
    static PROVIDER: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    PROVIDER
        .get_or_init(|| {
            Arc::new(CryptoProvider {
                srtp_provider: &srtp::RustSrtp,
                sha1_hmac_provider: &RustHashes,
                sha1_provider: &RustHashes,
                sha256_provider: &RustHashes,
                dtls_provider: &dtls::DimplRustDtls,
            })
        })
        .clone()
}

/// A fresh self-signed DTLS certificate (ECDSA P-256), for `RtcConfig::set_dtls_cert`.
pub fn certificate() -> anyhow::Result<DtlsCert> {
    dtls::self_signed_certificate().map_err(|e| anyhow::anyhow!("DTLS certificate: {e}"))
}

/// SHA-1, SHA-256 and HMAC-SHA1 (STUN message integrity).
#[derive(Debug)]
struct RustHashes;

impl Sha1HmacProvider for RustHashes {
    fn sha1_hmac(&self, key: &[u8], payloads: &[&[u8]]) -> [u8; 20] {
        // HMAC accepts keys of any length, so `new_from_slice` cannot fail; the fallback keeps the
        // "no panics" rule without an `expect`.
        let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(key) else {
            return [0; 20];
        };
        for p in payloads {
            mac.update(p);
        }
        mac.finalize().into_bytes().into()
    }
}

impl Sha1Provider for RustHashes {
    fn sha1(&self, data: &[u8]) -> [u8; 20] {
        Sha1::digest(data).into()
    }
}

impl Sha256Provider for RustHashes {
    fn sha256(&self, data: &[u8]) -> [u8; 32] {
        Sha256::digest(data).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_sha1_matches_rfc2202_case_2() {
        let mac = RustHashes.sha1_hmac(b"Jefe", &[b"what do ya want ", b"for nothing?"]);
        let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
    }
}
