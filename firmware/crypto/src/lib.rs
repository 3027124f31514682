//! A pure-Rust [`rustls::crypto::CryptoProvider`] with the firmware's TLS/QUIC profile.
//!
//! The profile is the one the iroh ESP32 examples ship, chosen for flash size:
//!
//! - cipher suite `TLS13_AES_128_GCM_SHA256` only, with QUIC packet and header protection
//!   (QUIC Initial packets need this suite anyway, RFC 9001 §5.2);
//! - key exchange group X25519 only;
//! - signatures Ed25519 only (iroh identities are Ed25519 keys; verification is strict).
//!
//! Everything is built on RustCrypto and dalek crates: no C and no assembly, so the same code
//! compiles for Linux (the virtual board) and for the ESP32 targets.
//!
//! iroh built without its `tls-ring`/`tls-aws-lc-rs` features has no provider of its own; the
//! application passes this one to `Endpoint::builder().crypto_provider(Arc::new(provider()))`.
//! iroh uses it for the TLS handshake (X25519, AES-128-GCM, HKDF, Ed25519 verification),
//! for QUIC packet and header protection, and for its handshake-token key (the first suite's
//! AEAD). It signs with its own Ed25519 secret key and computes reset tokens with BLAKE3.

mod aead;
mod hash;
mod kx;
mod quic;
mod rand;
mod sign;
mod verify;

use rustls::crypto::{CipherSuiteCommon, CryptoProvider, SupportedKxGroup};
use rustls::{CipherSuite, SupportedCipherSuite, Tls13CipherSuite};

pub use kx::X25519KeyExchange;
pub use rand::OsRandom;
pub use sign::{Ed25519KeyProvider, Ed25519SigningKey};
pub use verify::{ED25519, SUPPORTED_SIG_ALGS};

/// The provider: the only suite, group, signature scheme, random source and key loader below.
pub fn provider() -> CryptoProvider {
    CryptoProvider {
        cipher_suites: ALL_CIPHER_SUITES.to_vec(),
        kx_groups: ALL_KX_GROUPS.to_vec(),
        signature_verification_algorithms: SUPPORTED_SIG_ALGS,
        secure_random: &OsRandom,
        key_provider: &Ed25519KeyProvider,
    }
}

/// Every cipher suite of the profile.
pub static ALL_CIPHER_SUITES: &[SupportedCipherSuite] = &[TLS13_AES_128_GCM_SHA256];

/// Every key exchange group of the profile.
pub static ALL_KX_GROUPS: &[&dyn SupportedKxGroup] = &[X25519];

/// TLS 1.3 `TLS_AES_128_GCM_SHA256` (0x1301), usable for QUIC.
pub const TLS13_AES_128_GCM_SHA256: SupportedCipherSuite =
    SupportedCipherSuite::Tls13(TLS13_AES_128_GCM_SHA256_INTERNAL);

/// The same suite as a [`Tls13CipherSuite`], for code that needs the TLS 1.3 details
/// (for example `rustls::quic::Keys::initial`).
pub static TLS13_AES_128_GCM_SHA256_INTERNAL: &Tls13CipherSuite = &Tls13CipherSuite {
    common: CipherSuiteCommon {
        suite: CipherSuite::TLS13_AES_128_GCM_SHA256,
        hash_provider: &hash::Sha256,
        // RFC 8446 §5.5: about 2^24.5 full-size records per key for AES-GCM.
        confidentiality_limit: 1 << 24,
    },
    hkdf_provider: &hash::HkdfSha256,
    aead_alg: &aead::Aes128Gcm,
    quic: Some(&quic::Aes128GcmQuic),
};

/// The X25519 key exchange group (RFC 7748).
pub static X25519: &dyn SupportedKxGroup = &kx::X25519;
