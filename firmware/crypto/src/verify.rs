//! Ed25519 signature verification (RFC 8032), the only scheme the profile accepts.

use ed25519_dalek::{Signature, VerifyingKey};
use rustls::SignatureScheme;
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{
    AlgorithmIdentifier, InvalidSignature, SignatureVerificationAlgorithm, alg_id,
};

/// Ed25519 verification for certificates and TLS 1.3 CertificateVerify messages.
///
/// Uses `verify_strict`: it refuses small-order public keys and non-canonical signatures,
/// as iroh does for its own signatures.
#[derive(Debug)]
pub struct Ed25519Verify;

/// The one verification algorithm, for custom certificate verifiers (iroh's raw public key
/// verifiers pass such a table to `verify_tls13_signature_with_raw_key`).
pub static ED25519: &dyn SignatureVerificationAlgorithm = &Ed25519Verify;

/// The provider's signature verification table: Ed25519 (0x0807) only.
pub static SUPPORTED_SIG_ALGS: WebPkiSupportedAlgorithms = WebPkiSupportedAlgorithms {
    all: &[ED25519],
    mapping: &[(SignatureScheme::ED25519, &[ED25519])],
};

impl SignatureVerificationAlgorithm for Ed25519Verify {
    fn verify_signature(
        &self,
        public_key: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), InvalidSignature> {
        let public_key: &[u8; 32] = public_key.try_into().map_err(|_| InvalidSignature)?;
        let key = VerifyingKey::from_bytes(public_key).map_err(|_| InvalidSignature)?;
        let signature = Signature::from_slice(signature).map_err(|_| InvalidSignature)?;
        key.verify_strict(message, &signature)
            .map_err(|_| InvalidSignature)
    }

    fn public_key_alg_id(&self) -> AlgorithmIdentifier {
        alg_id::ED25519
    }

    fn signature_alg_id(&self) -> AlgorithmIdentifier {
        alg_id::ED25519
    }
}
