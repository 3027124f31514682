//! Throughput of the provider's primitives: `cargo bench -p irohconf-fw-crypto`.
//!
//! A plain timing loop (no bench framework, to keep the firmware workspace's build small).
//! Run it with the portable cfgs of the Makefile to see the software AES/GHASH a board uses.

use std::hint::black_box;
use std::time::{Duration, Instant};

use fw_crypto::{ED25519, Ed25519SigningKey, TLS13_AES_128_GCM_SHA256_INTERNAL as SUITE, X25519};
use rustls::Side;
use rustls::quic::{Keys, Version};
use rustls::sign::SigningKey;

/// Runs `f` for about half a second and prints the mean time per call.
fn bench(name: &str, bytes: Option<usize>, mut f: impl FnMut()) {
    for _ in 0..10 {
        f();
    }
    let mut iterations = 0u64;
    let start = Instant::now();
    while start.elapsed() < Duration::from_millis(500) {
        for _ in 0..10 {
            f();
        }
        iterations += 10;
    }
    let per_call = start.elapsed() / iterations as u32;
    match bytes {
        Some(n) => {
            let mib_s = n as f64 / per_call.as_secs_f64() / (1024.0 * 1024.0);
            println!("{name:40} {per_call:>12.2?}/op {mib_s:>10.1} MiB/s");
        }
        None => println!("{name:40} {per_call:>12.2?}/op"),
    }
}

fn main() {
    let keys = Keys::initial(
        Version::V1,
        SUITE,
        SUITE.quic.unwrap(),
        &[7; 8],
        Side::Client,
    );
    let header = [0xc3u8; 22];
    let mut payload = vec![0u8; 1162];
    let mut pn = 0u64;
    bench("QUIC packet seal (1162-byte payload)", Some(1162), || {
        pn += 1;
        black_box(
            keys.local
                .packet
                .encrypt_in_place_for_path(0, pn, &header, &mut payload)
                .unwrap(),
        );
    });
    let sample = [0x5au8; 16];
    bench("QUIC header protection mask", None, || {
        let (mut first, mut pn) = (0xc3u8, [0u8; 4]);
        keys.local
            .header
            .encrypt_in_place(black_box(&sample), &mut first, &mut pn)
            .unwrap();
        black_box((first, pn));
    });
    bench("X25519 key exchange (start + complete)", None, || {
        let peer = X25519.start().unwrap();
        let kx = X25519.start().unwrap();
        black_box(kx.complete(peer.pub_key()).unwrap());
    });
    let key = Ed25519SigningKey::from_seed(&[9; 32]);
    let signer = key
        .choose_scheme(&[rustls::SignatureScheme::ED25519])
        .unwrap();
    let message = [0x42u8; 130]; // the size of a TLS 1.3 CertificateVerify input
    bench("Ed25519 sign (130 bytes)", None, || {
        black_box(signer.sign(black_box(&message)).unwrap());
    });
    let signature = signer.sign(&message).unwrap();
    let public = key.public_key_bytes();
    bench("Ed25519 strict verify (130 bytes)", None, || {
        ED25519
            .verify_signature(&public, black_box(&message), &signature)
            .unwrap();
    });
}
