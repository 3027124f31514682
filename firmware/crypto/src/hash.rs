//! SHA-256 (the transcript hash) and HKDF-SHA256 (the TLS 1.3 key schedule, RFC 8446 §7.1).

use hkdf::Hkdf;
use hmac::{Hmac, KeyInit, Mac};
use rustls::crypto::hash::{self, HashAlgorithm};
use rustls::crypto::tls13::{HkdfExpander, OkmBlock, OutputLengthError};
use rustls::crypto::{hmac as rustls_hmac, tls13};
use sha2::Digest;

pub(crate) struct Sha256;

impl hash::Hash for Sha256 {
    fn start(&self) -> Box<dyn hash::Context> {
        Box::new(Sha256Context(sha2::Sha256::new()))
    }

    fn hash(&self, data: &[u8]) -> hash::Output {
        hash::Output::new(&sha2::Sha256::digest(data))
    }

    fn output_len(&self) -> usize {
        32
    }

    fn algorithm(&self) -> HashAlgorithm {
        HashAlgorithm::SHA256
    }
}

struct Sha256Context(sha2::Sha256);

impl hash::Context for Sha256Context {
    fn fork_finish(&self) -> hash::Output {
        hash::Output::new(&self.0.clone().finalize())
    }

    fn fork(&self) -> Box<dyn hash::Context> {
        Box::new(Sha256Context(self.0.clone()))
    }

    fn finish(self: Box<Self>) -> hash::Output {
        hash::Output::new(&self.0.finalize())
    }

    fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }
}

pub(crate) struct HkdfSha256;

impl tls13::Hkdf for HkdfSha256 {
    fn extract_from_zero_ikm(&self, salt: Option<&[u8]>) -> Box<dyn HkdfExpander> {
        self.extract_from_secret(salt, &[0u8; 32])
    }

    fn extract_from_secret(&self, salt: Option<&[u8]>, secret: &[u8]) -> Box<dyn HkdfExpander> {
        // A missing salt is HashLen zero bytes (RFC 5869 §2.2); the hkdf crate does the same.
        Box::new(HkdfSha256Expander(Hkdf::<sha2::Sha256>::new(salt, secret)))
    }

    fn expander_for_okm(&self, okm: &OkmBlock) -> Box<dyn HkdfExpander> {
        Box::new(HkdfSha256Expander(
            // rustls only hands us blocks it produced with this hash, so the length fits.
            Hkdf::<sha2::Sha256>::from_prk(okm.as_ref()).expect("PRK is at least HashLen bytes"),
        ))
    }

    fn hmac_sign(&self, key: &OkmBlock, message: &[u8]) -> rustls_hmac::Tag {
        let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(key.as_ref())
            .expect("HMAC accepts keys of any length");
        mac.update(message);
        rustls_hmac::Tag::new(&mac.finalize().into_bytes())
    }
}

struct HkdfSha256Expander(Hkdf<sha2::Sha256>);

impl HkdfExpander for HkdfSha256Expander {
    fn expand_slice(&self, info: &[&[u8]], output: &mut [u8]) -> Result<(), OutputLengthError> {
        self.0
            .expand_multi_info(info, output)
            .map_err(|_| OutputLengthError)
    }

    fn expand_block(&self, info: &[&[u8]]) -> OkmBlock {
        let mut block = [0u8; 32];
        self.0
            .expand_multi_info(info, &mut block)
            .expect("HashLen is a valid HKDF output length");
        let okm = OkmBlock::new(&block);
        zeroize::Zeroize::zeroize(&mut block);
        okm
    }

    fn hash_len(&self) -> usize {
        32
    }
}
