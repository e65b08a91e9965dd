//! DTLS through dimpl's RustCrypto backend, with self-signed ECDSA P-256 certificates from rcgen.
//!
//! The instance wrapper only forwards: dimpl's `Dtls` already has the sans-IO shape str0m expects.

use std::sync::Arc;
use std::time::Instant;

use str0m::crypto::dtls::{
    DtlsCert, DtlsImplError, DtlsInstance, DtlsOutput, DtlsProvider, DtlsVersion, ProtocolVersion,
};
use str0m::crypto::CryptoError;

/// Creates dimpl DTLS endpoints; dimpl picks its RustCrypto provider because that is the only crypto
/// feature we enable on it.
#[derive(Debug)]
pub(super) struct DimplRustDtls;

impl DtlsProvider for DimplRustDtls {
    fn generate_certificate(&self) -> Option<DtlsCert> {
        match self_signed_certificate() {
            Ok(cert) => Some(cert),
            Err(e) => {
                tracing::error!(error = %e, "DTLS certificate generation failed");
                None
            }
        }
    }

    fn new_dtls(
        &self,
        cert: &DtlsCert,
        now: Instant,
        dtls_version: DtlsVersion,
        mtu: Option<usize>,
    ) -> Result<Box<dyn DtlsInstance>, CryptoError> {
        // A cookie exchange (HelloVerifyRequest) costs one round trip, and spares a spoofed address the
        // server's certificate flight: ICE-lite proves a return path only as far as a STUN request from
        // a token holder who can spoof addresses (security review L5).
        let mut builder = dimpl::Config::builder().use_server_cookie(true);
        if let Some(mtu) = mtu {
            builder = builder.mtu(mtu);
        }
        let config = Arc::new(
            builder
                .build()
                .map_err(|e| CryptoError::Other(format!("dimpl config: {e}")))?,
        );
        let cert = cert.clone();
        let dtls = match dtls_version {
            DtlsVersion::Dtls12 => dimpl::Dtls::new_12(config, cert, now),
            DtlsVersion::Dtls13 => dimpl::Dtls::new_13(config, cert, now),
            DtlsVersion::Auto => dimpl::Dtls::new_auto(config, cert, now),
            other => {
                return Err(CryptoError::Other(format!(
                    "unsupported DTLS version {other}"
                )))
            }
        };
        Ok(Box::new(DimplInstance(dtls)))
    }
}

/// A self-signed P-256 certificate. WebRTC peers check its fingerprint (carried in the SDP), not a chain,
/// so names and validity hardly matter; the serial is random because Firefox rejects repeated serials.
pub(super) fn self_signed_certificate() -> Result<DtlsCert, rcgen::Error> {
    let key_pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new())?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "otter-sfu");
    let serial: [u8; 16] = rand::random();
    params.serial_number = Some(rcgen::SerialNumber::from_slice(&serial));
    let cert = params.self_signed(&key_pair)?;
    Ok(DtlsCert {
        certificate: cert.der().to_vec(),
        private_key: key_pair.serialize_der(),
    })
}

/// str0m's view of one dimpl endpoint.
struct DimplInstance(dimpl::Dtls);

impl std::fmt::Debug for DimplInstance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DimplInstance")
    }
}

impl DtlsInstance for DimplInstance {
    fn set_active(&mut self, active: bool) {
        self.0.set_active(active);
    }
    fn handle_packet(&mut self, packet: &[u8]) -> Result<(), DtlsImplError> {
        self.0.handle_packet(packet)
    }
    fn poll_output<'a>(&mut self, buf: &'a mut [u8]) -> DtlsOutput<'a> {
        self.0.poll_output(buf)
    }
    fn handle_timeout(&mut self, now: Instant) -> Result<(), DtlsImplError> {
        self.0.handle_timeout(now)
    }
    fn send_application_data(&mut self, data: &[u8]) -> Result<usize, DtlsImplError> {
        self.0.send_application_data(data)
    }
    fn is_active(&self) -> bool {
        self.0.is_active()
    }
    fn protocol_version(&self) -> Option<ProtocolVersion> {
        self.0.protocol_version()
    }
    fn is_closing(&self) -> bool {
        self.0.is_closing()
    }
    fn is_closed(&self) -> bool {
        self.0.is_closed()
    }
    fn close(&mut self) -> Result<(), DtlsImplError> {
        self.0.close()
    }
}
