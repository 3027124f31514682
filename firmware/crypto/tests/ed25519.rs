//! Ed25519 signing and strict verification (RFC 8032 §7.1 test vectors), and loading keys
//! through the provider's `KeyProvider`.

use fw_crypto::{ED25519, Ed25519SigningKey, provider};
use hex_literal::hex;
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer, PrivateSec1KeyDer};
use rustls::{SignatureAlgorithm, SignatureScheme};

// RFC 8032 §7.1, TEST 1 (empty message) and TEST 2 (one byte 0x72).
const TEST1_SEED: [u8; 32] =
    hex!("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
const TEST1_PUBLIC: [u8; 32] =
    hex!("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
const TEST1_SIGNATURE: [u8; 64] = hex!(
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
);
const TEST2_PUBLIC: [u8; 32] =
    hex!("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c");
const TEST2_SIGNATURE: [u8; 64] = hex!(
    "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"
);

/// The RFC 8410 PKCS#8 v1 wrapping of an Ed25519 seed.
fn pkcs8(seed: &[u8; 32]) -> Vec<u8> {
    let mut der = hex!("302e020100300506032b657004220420").to_vec();
    der.extend_from_slice(seed);
    der
}

#[test]
fn signs_rfc8032_test1() {
    let key = Ed25519SigningKey::from_seed(&TEST1_SEED);
    assert_eq!(key.public_key_bytes(), TEST1_PUBLIC);
    let signer =
        rustls::sign::SigningKey::choose_scheme(&key, &[SignatureScheme::ED25519]).unwrap();
    assert_eq!(signer.scheme(), SignatureScheme::ED25519);
    assert_eq!(signer.sign(b"").unwrap(), TEST1_SIGNATURE);
}

#[test]
fn seed_zero_gives_the_key_contract_public_key() {
    // The known answer the project's key contract (iroh/key) also checks.
    let key = Ed25519SigningKey::from_seed(&[0u8; 32]);
    assert_eq!(
        key.public_key_bytes(),
        hex!("3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29")
    );
    let mut spki = hex!("302a300506032b6570032100").to_vec();
    spki.extend_from_slice(&key.public_key_bytes());
    assert_eq!(key.spki().as_ref(), spki);
}

#[test]
fn offers_no_scheme_but_ed25519() {
    let key = Ed25519SigningKey::from_seed(&TEST1_SEED);
    let offered = [
        SignatureScheme::ECDSA_NISTP256_SHA256,
        SignatureScheme::RSA_PSS_SHA256,
    ];
    assert!(rustls::sign::SigningKey::choose_scheme(&key, &offered).is_none());
    assert_eq!(
        rustls::sign::SigningKey::algorithm(&key),
        SignatureAlgorithm::ED25519
    );
}

#[test]
fn verifies_rfc8032_vectors() {
    assert!(
        ED25519
            .verify_signature(&TEST1_PUBLIC, b"", &TEST1_SIGNATURE)
            .is_ok()
    );
    assert!(
        ED25519
            .verify_signature(&TEST2_PUBLIC, &[0x72], &TEST2_SIGNATURE)
            .is_ok()
    );
    // Wrong message, wrong key, flipped signature bit, wrong lengths.
    assert!(
        ED25519
            .verify_signature(&TEST2_PUBLIC, &[0x73], &TEST2_SIGNATURE)
            .is_err()
    );
    assert!(
        ED25519
            .verify_signature(&TEST1_PUBLIC, &[0x72], &TEST2_SIGNATURE)
            .is_err()
    );
    let mut flipped = TEST1_SIGNATURE;
    flipped[10] ^= 0x04;
    assert!(
        ED25519
            .verify_signature(&TEST1_PUBLIC, b"", &flipped)
            .is_err()
    );
    assert!(
        ED25519
            .verify_signature(&TEST1_PUBLIC[..31], b"", &TEST1_SIGNATURE)
            .is_err()
    );
    assert!(
        ED25519
            .verify_signature(&TEST1_PUBLIC, b"", &TEST1_SIGNATURE[..63])
            .is_err()
    );
}

#[test]
fn verification_is_strict() {
    // With the identity point as public key and R = identity, S = 0, the cofactorless
    // equation [S]B = R + [k]A holds for every message; only strict verification (which
    // refuses small-order keys) turns it down.
    let identity = hex!("0100000000000000000000000000000000000000000000000000000000000000");
    let mut signature = [0u8; 64];
    signature[..32].copy_from_slice(&identity);
    assert!(
        ED25519
            .verify_signature(&identity, b"any message", &signature)
            .is_err()
    );

    // A non-canonical S (S + L) is refused as well.
    const L: [u8; 32] = hex!("edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010");
    let mut s_plus_l = TEST1_SIGNATURE;
    let mut carry = 0u16;
    for i in 0..32 {
        let sum = u16::from(s_plus_l[32 + i]) + u16::from(L[i]) + carry;
        s_plus_l[32 + i] = sum as u8;
        carry = sum >> 8;
    }
    assert!(
        ED25519
            .verify_signature(&TEST1_PUBLIC, b"", &s_plus_l)
            .is_err()
    );
}

#[test]
fn loads_pkcs8_keys_through_the_key_provider() {
    let loaded = provider()
        .key_provider
        .load_private_key(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(pkcs8(
            &TEST1_SEED,
        ))))
        .unwrap();
    assert_eq!(loaded.algorithm(), SignatureAlgorithm::ED25519);
    let signer = loaded.choose_scheme(&[SignatureScheme::ED25519]).unwrap();
    assert_eq!(signer.sign(b"").unwrap(), TEST1_SIGNATURE);
    assert_eq!(
        loaded.public_key().unwrap().as_ref(),
        Ed25519SigningKey::from_seed(&TEST1_SEED).spki().as_ref()
    );
}

#[test]
fn refuses_keys_it_cannot_use() {
    let keys = provider().key_provider;
    let sec1 = PrivateKeyDer::Sec1(PrivateSec1KeyDer::from(vec![0x30, 0x00]));
    let err = keys.load_private_key(sec1).unwrap_err();
    assert!(err.to_string().contains("PKCS#8"), "{err}");

    let mut truncated = pkcs8(&TEST1_SEED);
    truncated.truncate(40);
    let err = keys
        .load_private_key(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(truncated)))
        .unwrap_err();
    assert!(
        err.to_string().contains("not an Ed25519 PKCS#8 key"),
        "{err}"
    );
}

#[test]
fn secure_random_fills_buffers() {
    let random = provider().secure_random;
    let (mut a, mut b) = ([0u8; 32], [0u8; 32]);
    random.fill(&mut a).unwrap();
    random.fill(&mut b).unwrap();
    // 2^-256 odds of a false failure.
    assert_ne!(a, b);
}
