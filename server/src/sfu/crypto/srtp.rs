//! SRTP ciphers on the RustCrypto crates: AES-CM for `AES_CM_128_HMAC_SHA1_80` (str0m computes the HMAC
//! itself through the SHA-1 provider) and AES-GCM for the AEAD profiles.
//!
//! Each cipher keeps its expanded key, so a packet costs a key-schedule copy, not a key expansion, and
//! nothing on the per-packet path allocates (the AAD join buffer is reused).

use aes::cipher::consts::{U12, U16};
use aes::cipher::generic_array::GenericArray;
use aes::cipher::{BlockEncrypt, InnerIvInit, KeyInit, StreamCipher};
use aes::{Aes128, Aes256};
use aes_gcm::aead::AeadInPlace;
use aes_gcm::{Aes128Gcm, Aes256Gcm};
use str0m::crypto::{
    AeadAes128GcmCipher, AeadAes256GcmCipher, Aes128CmSha1_80Cipher, CryptoError, SrtpProvider,
    SupportedAeadAes128Gcm, SupportedAeadAes256Gcm, SupportedAes128CmSha1_80,
};

const GCM_TAG_LEN: usize = 16;

/// The SRTP factory str0m asks for ciphers and key-derivation rounds.
#[derive(Debug)]
pub(super) struct RustSrtp;

impl SrtpProvider for RustSrtp {
    fn aes_128_cm_sha1_80(&self) -> &'static dyn SupportedAes128CmSha1_80 {
        &RustSrtp
    }
    fn aead_aes_128_gcm(&self) -> &'static dyn SupportedAeadAes128Gcm {
        &RustSrtp
    }
    fn aead_aes_256_gcm(&self) -> &'static dyn SupportedAeadAes256Gcm {
        &RustSrtp
    }
    fn srtp_aes_128_ecb_round(&self, key: &[u8], input: &[u8], output: &mut [u8]) {
        match Aes128::new_from_slice(key) {
            Ok(cipher) => ecb_round(&cipher, input, output),
            Err(_) => derivation_failed(output),
        }
    }
    fn srtp_aes_256_ecb_round(&self, key: &[u8], input: &[u8], output: &mut [u8]) {
        match Aes256::new_from_slice(key) {
            Ok(cipher) => ecb_round(&cipher, input, output),
            Err(_) => derivation_failed(output),
        }
    }
}

/// One AES block (the SRTP key-derivation PRF); str0m passes a 16-byte input and reads 16 bytes back.
fn ecb_round(cipher: &impl BlockEncrypt, input: &[u8], output: &mut [u8]) {
    if input.len() < 16 || output.len() < 16 {
        return derivation_failed(output);
    }
    let mut block = GenericArray::clone_from_slice(&input[..16]);
    cipher.encrypt_block(&mut block);
    output[..16].copy_from_slice(&block);
}

/// The key-derivation interface cannot return an error. Never leave the output as it was (zeros would
/// be a key anyone can guess): fill it with random bytes, so the peer's SRTP simply fails to
/// authenticate. str0m always passes 16/32-byte keys and 16-byte blocks, so this is a broken invariant.
fn derivation_failed(output: &mut [u8]) {
    debug_assert!(false, "SRTP key derivation called with the wrong sizes");
    tracing::error!("SRTP key derivation called with the wrong sizes; this peer's media will fail");
    rand::RngCore::fill_bytes(&mut rand::thread_rng(), output);
}

impl SupportedAes128CmSha1_80 for RustSrtp {
    fn create_cipher(&self, key: [u8; 16], _encrypt: bool) -> Box<dyn Aes128CmSha1_80Cipher> {
        Box::new(AesCm(Aes128::new(&key.into())))
    }
}

impl SupportedAeadAes128Gcm for RustSrtp {
    fn create_cipher(&self, key: [u8; 16], _encrypt: bool) -> Box<dyn AeadAes128GcmCipher> {
        Box::new(Gcm {
            aead: Aes128Gcm::new(&key.into()),
            aad: Vec::new(),
        })
    }
}

impl SupportedAeadAes256Gcm for RustSrtp {
    fn create_cipher(&self, key: [u8; 32], _encrypt: bool) -> Box<dyn AeadAes256GcmCipher> {
        Box::new(Gcm {
            aead: Aes256Gcm::new(&key.into()),
            aad: Vec::new(),
        })
    }
}

/// AES-128 in counter mode; encryption and decryption are the same keystream XOR.
struct AesCm(Aes128);

impl std::fmt::Debug for AesCm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AesCm")
    }
}

impl AesCm {
    fn apply(&self, iv: &[u8; 16], input: &[u8], output: &mut [u8]) -> Result<(), CryptoError> {
        let out = output
            .get_mut(..input.len())
            .ok_or_else(|| CryptoError::Other("SRTP output buffer too small".into()))?;
        let core = ctr::CtrCore::<Aes128, ctr::flavors::Ctr128BE>::inner_iv_init(
            self.0.clone(),
            iv.into(),
        );
        let mut ctr = ctr::Ctr128BE::<Aes128>::from_core(core);
        ctr.apply_keystream_b2b(input, out)
            .map_err(|_| CryptoError::Other("SRTP keystream length".into()))
    }
}

impl Aes128CmSha1_80Cipher for AesCm {
    fn encrypt(
        &mut self,
        iv: &[u8; 16],
        input: &[u8],
        output: &mut [u8],
    ) -> Result<(), CryptoError> {
        self.apply(iv, input, output)
    }
    fn decrypt(
        &mut self,
        iv: &[u8; 16],
        input: &[u8],
        output: &mut [u8],
    ) -> Result<(), CryptoError> {
        self.apply(iv, input, output)
    }
}

/// AES-GCM (RFC 7714): output is ciphertext followed by the 16-byte tag.
struct Gcm<A> {
    aead: A,
    /// str0m may split the AAD in two slices (SRTCP); GCM needs it contiguous, so join it here.
    aad: Vec<u8>,
}

impl<A> std::fmt::Debug for Gcm<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Gcm")
    }
}

impl<A: AeadInPlace<NonceSize = U12, TagSize = U16>> Gcm<A> {
    fn seal(
        &self,
        iv: &[u8; 12],
        aad: &[u8],
        input: &[u8],
        output: &mut [u8],
    ) -> Result<(), CryptoError> {
        let n = input.len();
        if output.len() < n + GCM_TAG_LEN {
            return Err(CryptoError::Other("SRTP output buffer too small".into()));
        }
        output[..n].copy_from_slice(input);
        let tag = self
            .aead
            .encrypt_in_place_detached(&GenericArray::from(*iv), aad, &mut output[..n])
            .map_err(|_| CryptoError::Other("AES-GCM encrypt".into()))?;
        output[n..n + GCM_TAG_LEN].copy_from_slice(&tag);
        Ok(())
    }

    fn open(
        &mut self,
        iv: &[u8; 12],
        aads: &[&[u8]],
        input: &[u8],
        output: &mut [u8],
    ) -> Result<usize, CryptoError> {
        let n = input
            .len()
            .checked_sub(GCM_TAG_LEN)
            .ok_or_else(|| CryptoError::Other("SRTP packet shorter than its tag".into()))?;
        if output.len() < n {
            return Err(CryptoError::Other("SRTP output buffer too small".into()));
        }
        let (ciphertext, tag) = input.split_at(n);
        let tag: [u8; GCM_TAG_LEN] = tag
            .try_into()
            .map_err(|_| CryptoError::Other("SRTP tag length".into()))?;
        output[..n].copy_from_slice(ciphertext);
        let aad: &[u8] = match aads {
            [] => &[],
            [one] => one,
            many => {
                self.aad.clear();
                for part in many {
                    self.aad.extend_from_slice(part);
                }
                &self.aad
            }
        };
        self.aead
            .decrypt_in_place_detached(
                &GenericArray::from(*iv),
                aad,
                &mut output[..n],
                &GenericArray::from(tag),
            )
            .map_err(|_| CryptoError::Other("AES-GCM authentication failed".into()))?;
        Ok(n)
    }
}

impl AeadAes128GcmCipher for Gcm<Aes128Gcm> {
    fn encrypt(
        &mut self,
        iv: &[u8; 12],
        aad: &[u8],
        input: &[u8],
        output: &mut [u8],
    ) -> Result<(), CryptoError> {
        self.seal(iv, aad, input, output)
    }
    fn decrypt(
        &mut self,
        iv: &[u8; 12],
        aads: &[&[u8]],
        input: &[u8],
        output: &mut [u8],
    ) -> Result<usize, CryptoError> {
        self.open(iv, aads, input, output)
    }
}

impl AeadAes256GcmCipher for Gcm<Aes256Gcm> {
    fn encrypt(
        &mut self,
        iv: &[u8; 12],
        aad: &[u8],
        input: &[u8],
        output: &mut [u8],
    ) -> Result<(), CryptoError> {
        self.seal(iv, aad, input, output)
    }
    fn decrypt(
        &mut self,
        iv: &[u8; 12],
        aads: &[&[u8]],
        input: &[u8],
        output: &mut [u8],
    ) -> Result<usize, CryptoError> {
        self.open(iv, aads, input, output)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// L10: a key of the wrong size never derives a (guessable) key silently.
    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "wrong sizes")]
    fn key_derivation_with_wrong_sizes_is_a_hard_error() {
        let mut out = [0u8; 16];
        RustSrtp.srtp_aes_128_ecb_round(&[1; 5], &[0; 16], &mut out);
    }

    #[test]
    fn gcm_round_trips_with_split_aad() {
        let mut enc = SupportedAeadAes128Gcm::create_cipher(&RustSrtp, [7; 16], true);
        let mut dec = SupportedAeadAes128Gcm::create_cipher(&RustSrtp, [7; 16], false);
        let iv = [3; 12];
        let mut sealed = [0u8; 5 + GCM_TAG_LEN];
        enc.encrypt(&iv, b"headerAAD", b"hello", &mut sealed)
            .unwrap();
        let mut plain = [0u8; 5];
        let n = dec
            .decrypt(&iv, &[b"header", b"AAD"], &sealed, &mut plain)
            .unwrap();
        assert_eq!(&plain[..n], b"hello");
        sealed[0] ^= 1;
        assert!(dec
            .decrypt(&iv, &[b"headerAAD"], &sealed, &mut plain)
            .is_err());
    }

    #[test]
    fn aes_cm_is_its_own_inverse() {
        let mut c = SupportedAes128CmSha1_80::create_cipher(&RustSrtp, [1; 16], true);
        let iv = [9; 16];
        let mut enc = [0u8; 40];
        c.encrypt(&iv, &[5; 33], &mut enc).unwrap();
        let mut dec = [0u8; 33];
        c.decrypt(&iv, &enc[..33], &mut dec).unwrap();
        assert_eq!(dec, [5; 33]);
    }
}
