//! Ed25519 signing keys (RFC 8032; TLS 1.3 scheme `ed25519`, 0x0807).

use std::sync::Arc;

use ed25519_dalek::Signer as _;
use ed25519_dalek::pkcs8::DecodePrivateKey;
use rustls::crypto::KeyProvider;
use rustls::pki_types::{PrivateKeyDer, SubjectPublicKeyInfoDer, alg_id};
use rustls::sign::{Signer, SigningKey, public_key_to_spki};
use rustls::{Error, SignatureAlgorithm, SignatureScheme};

/// Loads Ed25519 private keys in PKCS#8 (v1 or v2) DER, the only form an Ed25519 key has.
#[derive(Debug)]
pub struct Ed25519KeyProvider;

impl KeyProvider for Ed25519KeyProvider {
    fn load_private_key(
        &self,
        key_der: PrivateKeyDer<'static>,
    ) -> Result<Arc<dyn SigningKey>, Error> {
        let PrivateKeyDer::Pkcs8(der) = key_der else {
            return Err(Error::General(
                "only Ed25519 keys in PKCS#8 form are supported".into(),
            ));
        };
        let key = ed25519_dalek::SigningKey::from_pkcs8_der(der.secret_pkcs8_der())
            .map_err(|e| Error::General(format!("not an Ed25519 PKCS#8 key: {e}")))?;
        Ok(Arc::new(Ed25519SigningKey(Arc::new(key))))
    }
}

/// An Ed25519 key that signs TLS 1.3 handshakes.
///
/// iroh signs with its own `SecretKey` and does not need this type; it is what
/// [`Ed25519KeyProvider`] returns, and what a raw-public-key configuration outside iroh can
/// put in a `CertifiedKey`.
#[derive(Clone, Debug)]
pub struct Ed25519SigningKey(Arc<ed25519_dalek::SigningKey>);

impl Ed25519SigningKey {
    /// The key with this 32-byte RFC 8032 seed (what iroh calls the secret key).
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        Self(Arc::new(ed25519_dalek::SigningKey::from_bytes(seed)))
    }

    /// The 32-byte public key (iroh's endpoint id).
    pub fn public_key_bytes(&self) -> [u8; 32] {
        self.0.verifying_key().to_bytes()
    }

    /// The public key as a 44-byte SubjectPublicKeyInfo: the RFC 7250 raw public key.
    pub fn spki(&self) -> SubjectPublicKeyInfoDer<'static> {
        public_key_to_spki(&alg_id::ED25519, self.public_key_bytes())
    }
}

impl SigningKey for Ed25519SigningKey {
    fn choose_scheme(&self, offered: &[SignatureScheme]) -> Option<Box<dyn Signer>> {
        offered
            .contains(&SignatureScheme::ED25519)
            .then(|| Box::new(self.clone()) as Box<dyn Signer>)
    }

    fn public_key(&self) -> Option<SubjectPublicKeyInfoDer<'_>> {
        Some(self.spki())
    }

    fn algorithm(&self) -> SignatureAlgorithm {
        SignatureAlgorithm::ED25519
    }
}

impl Signer for Ed25519SigningKey {
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Error> {
        Ok(self.0.sign(message).to_bytes().to_vec())
    }

    fn scheme(&self) -> SignatureScheme {
        SignatureScheme::ED25519
    }
}
