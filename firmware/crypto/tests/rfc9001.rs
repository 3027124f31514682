//! Known answers from RFC 9001 Appendix A (QUIC v1 packet protection) for the AES-128-GCM suite:
//! initial secrets, keys, IVs and header protection keys for DCID 0x8394c8f03e515708 (A.1),
//! the header protection mask (A.2), the complete protected client Initial (A.2) and server
//! Initial (A.3). A.4 (Retry) is computed by noq itself, not by the provider; A.5 is
//! ChaCha20-Poly1305, which this provider does not offer.

use fw_crypto::TLS13_AES_128_GCM_SHA256_INTERNAL as SUITE;
use hex_literal::hex;
use rustls::Side;
use rustls::crypto::cipher::{AeadKey, Iv};
use rustls::crypto::tls13::{HkdfExpander, OkmBlock};
use rustls::quic::{DirectionalKeys, Keys, Version};

const DCID: [u8; 8] = hex!("8394c8f03e515708");
const INITIAL_SALT_V1: [u8; 20] = hex!("38762cf7f55934b34d179ae6a4c80cadccbb7f0a");

const CLIENT_HEADER: [u8; 22] = hex!("c300000001088394c8f03e5157080000449e00000002");
const CLIENT_CRYPTO_FRAME: [u8; 245] = hex!(
    "060040f1010000ed0303ebf8fa56f12939b9584a3896472ec40bb863cfd3e868"
    "04fe3a47f06a2b69484c00000413011302010000c000000010000e00000b6578"
    "616d706c652e636f6dff01000100000a00080006001d00170018001000070005"
    "04616c706e000500050100000000003300260024001d00209370b2c9caa47fba"
    "baf4559fedba753de171fa71f50f1ce15d43e994ec74d748002b000302030400"
    "0d0010000e0403050306030203080408050806002d00020101001c0002400100"
    "3900320408ffffffffffffffff05048000ffff07048000ffff08011001048000"
    "75300901100f088394c8f03e51570806048000ffff"
);
const CLIENT_PROTECTED: [u8; 1200] = hex!(
    "c000000001088394c8f03e5157080000449e7b9aec34d1b1c98dd7689fb8ec11"
    "d242b123dc9bd8bab936b47d92ec356c0bab7df5976d27cd449f63300099f399"
    "1c260ec4c60d17b31f8429157bb35a1282a643a8d2262cad67500cadb8e7378c"
    "8eb7539ec4d4905fed1bee1fc8aafba17c750e2c7ace01e6005f80fcb7df6212"
    "30c83711b39343fa028cea7f7fb5ff89eac2308249a02252155e2347b63d58c5"
    "457afd84d05dfffdb20392844ae812154682e9cf012f9021a6f0be17ddd0c208"
    "4dce25ff9b06cde535d0f920a2db1bf362c23e596d11a4f5a6cf3948838a3aec"
    "4e15daf8500a6ef69ec4e3feb6b1d98e610ac8b7ec3faf6ad760b7bad1db4ba3"
    "485e8a94dc250ae3fdb41ed15fb6a8e5eba0fc3dd60bc8e30c5c4287e53805db"
    "059ae0648db2f64264ed5e39be2e20d82df566da8dd5998ccabdae053060ae6c"
    "7b4378e846d29f37ed7b4ea9ec5d82e7961b7f25a9323851f681d582363aa5f8"
    "9937f5a67258bf63ad6f1a0b1d96dbd4faddfcefc5266ba6611722395c906556"
    "be52afe3f565636ad1b17d508b73d8743eeb524be22b3dcbc2c7468d54119c74"
    "68449a13d8e3b95811a198f3491de3e7fe942b330407abf82a4ed7c1b311663a"
    "c69890f4157015853d91e923037c227a33cdd5ec281ca3f79c44546b9d90ca00"
    "f064c99e3dd97911d39fe9c5d0b23a229a234cb36186c4819e8b9c5927726632"
    "291d6a418211cc2962e20fe47feb3edf330f2c603a9d48c0fcb5699dbfe58964"
    "25c5bac4aee82e57a85aaf4e2513e4f05796b07ba2ee47d80506f8d2c25e50fd"
    "14de71e6c418559302f939b0e1abd576f279c4b2e0feb85c1f28ff18f58891ff"
    "ef132eef2fa09346aee33c28eb130ff28f5b766953334113211996d20011a198"
    "e3fc433f9f2541010ae17c1bf202580f6047472fb36857fe843b19f5984009dd"
    "c324044e847a4f4a0ab34f719595de37252d6235365e9b84392b061085349d73"
    "203a4a13e96f5432ec0fd4a1ee65accdd5e3904df54c1da510b0ff20dcc0c77f"
    "cb2c0e0eb605cb0504db87632cf3d8b4dae6e705769d1de354270123cb11450e"
    "fc60ac47683d7b8d0f811365565fd98c4c8eb936bcab8d069fc33bd801b03ade"
    "a2e1fbc5aa463d08ca19896d2bf59a071b851e6c239052172f296bfb5e724047"
    "90a2181014f3b94a4e97d117b438130368cc39dbb2d198065ae3986547926cd2"
    "162f40a29f0c3c8745c0f50fba3852e566d44575c29d39a03f0cda721984b6f4"
    "40591f355e12d439ff150aab7613499dbd49adabc8676eef023b15b65bfc5ca0"
    "6948109f23f350db82123535eb8a7433bdabcb909271a6ecbcb58b936a88cd4e"
    "8f2e6ff5800175f113253d8fa9ca8885c2f552e657dc603f252e1a8e308f76f0"
    "be79e2fb8f5d5fbbe2e30ecadd220723c8c0aea8078cdfcb3868263ff8f09400"
    "54da48781893a7e49ad5aff4af300cd804a6b6279ab3ff3afb64491c85194aab"
    "760d58a606654f9f4400e8b38591356fbf6425aca26dc85244259ff2b19c41b9"
    "f96f3ca9ec1dde434da7d2d392b905ddf3d1f9af93d1af5950bd493f5aa731b4"
    "056df31bd267b6b90a079831aaf579be0a39013137aac6d404f518cfd4684064"
    "7e78bfe706ca4cf5e9c5453e9f7cfd2b8b4c8d169a44e55c88d4a9a7f9474241"
    "e221af44860018ab0856972e194cd934"
);

const SERVER_HEADER: [u8; 20] = hex!("c1000000010008f067a5502a4262b50040750001");
const SERVER_PAYLOAD: [u8; 99] = hex!(
    "02000000000600405a020000560303eefce7f7b37ba1d1632e96677825ddf739"
    "88cfc79825df566dc5430b9a045a1200130100002e00330024001d00209d3c94"
    "0d89690b84d08a60993c144eca684d1081287c834d5311bcf32bb9da1a002b00"
    "020304"
);
const SERVER_PROTECTED: [u8; 135] = hex!(
    "cf000000010008f067a5502a4262b5004075c0d95a482cd0991cd25b0aac406a"
    "5816b6394100f37a1c69797554780bb38cc5a99f5ede4cf73c3ec2493a1839b3"
    "dbcba3f6ea46c5b7684df3548e7ddeb9c3bf9c73cc3f3bded74b562bfb19fb84"
    "022f8ef4cdd93795d77d06edbb7aaf2f58891850abbdca3d20398c276456cbc4"
    "2158407dd074ee"
);

/// HKDF-Expand-Label (RFC 8446 §7.1) through the provider's HKDF.
fn expand_label(expander: &dyn HkdfExpander, label: &[u8], out: &mut [u8]) {
    let length = (out.len() as u16).to_be_bytes();
    let label_len = [6 + label.len() as u8];
    let info: [&[u8]; 5] = [&length, &label_len, b"tls13 ", label, &[0]];
    expander.expand_slice(&info, out).unwrap();
}

struct InitialKeys {
    secret: [u8; 32],
    key: [u8; 16],
    iv: [u8; 12],
    hp: [u8; 16],
}

fn initial_keys(label: &[u8]) -> InitialKeys {
    let initial = SUITE
        .hkdf_provider
        .extract_from_secret(Some(&INITIAL_SALT_V1), &DCID);
    let mut secret = [0u8; 32];
    expand_label(initial.as_ref(), label, &mut secret);
    let expander = SUITE
        .hkdf_provider
        .expander_for_okm(&OkmBlock::new(&secret));
    let mut keys = InitialKeys {
        secret,
        key: [0; 16],
        iv: [0; 12],
        hp: [0; 16],
    };
    expand_label(expander.as_ref(), b"quic key", &mut keys.key);
    expand_label(expander.as_ref(), b"quic iv", &mut keys.iv);
    expand_label(expander.as_ref(), b"quic hp", &mut keys.hp);
    keys
}

fn aead_key(key: [u8; 16]) -> AeadKey {
    let mut padded = [0u8; 32];
    padded[..16].copy_from_slice(&key);
    AeadKey::from(padded)
}

fn quic() -> &'static dyn rustls::quic::Algorithm {
    SUITE.quic.expect("the suite supports QUIC")
}

#[test]
fn a1_initial_secret() {
    let initial_secret = hex!("7db5df06e7a69e432496adedb00851923595221596ae2ae9fb8115c1e9ed0a44");
    // HKDF-Extract(initial_salt, dcid) is HMAC(initial_salt, dcid).
    let prk = SUITE
        .hkdf_provider
        .hmac_sign(&OkmBlock::new(&INITIAL_SALT_V1), &DCID);
    assert_eq!(prk.as_ref(), initial_secret);
}

#[test]
fn a1_client_keys() {
    let keys = initial_keys(b"client in");
    assert_eq!(
        keys.secret,
        hex!("c00cf151ca5be075ed0ebfb5c80323c42d6b7db67881289af4008f1f6c357aea")
    );
    assert_eq!(keys.key, hex!("1f369613dd76d5467730efcbe3b1a22d"));
    assert_eq!(keys.iv, hex!("fa044b2f42a3fd3b46fb255c"));
    assert_eq!(keys.hp, hex!("9f50449e04a0e810283a1e9933adedd2"));
}

#[test]
fn a1_server_keys() {
    let keys = initial_keys(b"server in");
    assert_eq!(
        keys.secret,
        hex!("3c199828fd139efd216c155ad844cc81fb82fa8d7446fa7d78be803acdda951b")
    );
    assert_eq!(keys.key, hex!("cf3a5331653c364c88f0f379b6067e37"));
    assert_eq!(keys.iv, hex!("0ac1493ca1905853b0bba03e"));
    assert_eq!(keys.hp, hex!("c206b8d9b9f0f37644430b490eeaa314"));
}

#[test]
fn a2_header_protection_mask() {
    // sample = d1b1c98dd7689fb8ec11d242b123dc9b, mask = 437b9aec36: applying it to a long
    // header with first byte 0xc3 and packet number 00000002 gives c0 and 7b9aec34.
    let hp = quic().header_protection_key(aead_key(initial_keys(b"client in").hp));
    let sample = hex!("d1b1c98dd7689fb8ec11d242b123dc9b");
    let mut first = 0xc3;
    let mut pn = hex!("00000002");
    hp.encrypt_in_place(&sample, &mut first, &mut pn).unwrap();
    assert_eq!((first, pn), (0xc0, hex!("7b9aec34")));
    hp.decrypt_in_place(&sample, &mut first, &mut pn).unwrap();
    assert_eq!((first, pn), (0xc3, hex!("00000002")));

    // A short header protects 5 bits of the first byte: 0x43 ^ (0x43 & 0x1f) = 0x40.
    let mut first = 0x43;
    let mut pn = hex!("00000002");
    hp.encrypt_in_place(&sample, &mut first, &mut pn).unwrap();
    assert_eq!((first, pn), (0x40, hex!("7b9aec34")));

    // A wrong sample length or a packet number longer than 4 bytes changes nothing.
    let mut first = 0xc3;
    let mut pn = hex!("00000002");
    assert!(
        hp.encrypt_in_place(&sample[..15], &mut first, &mut pn)
            .is_err()
    );
    let mut long_pn = [0u8; 5];
    assert!(
        hp.encrypt_in_place(&sample, &mut first, &mut long_pn)
            .is_err()
    );
    assert_eq!((first, pn, long_pn), (0xc3, hex!("00000002"), [0u8; 5]));
}

/// Protects a long-header packet: payload AEAD with the header as AAD, then header protection
/// with the sample taken 4 bytes after the start of the packet number (RFC 9001 §5.4.2).
fn protect(
    keys: &DirectionalKeys,
    pn: u64,
    header: &[u8],
    payload: &[u8],
    pn_len: usize,
) -> Vec<u8> {
    let mut packet = header.to_vec();
    let mut body = payload.to_vec();
    let tag = keys
        .packet
        .encrypt_in_place_for_path(0, pn, header, &mut body)
        .unwrap();
    packet.extend_from_slice(&body);
    packet.extend_from_slice(tag.as_ref());

    let pn_offset = header.len() - pn_len;
    let sample_at = pn_offset + 4;
    let sample = packet[sample_at..sample_at + 16].to_vec();
    let (head, rest) = packet.split_at_mut(pn_offset);
    keys.header
        .encrypt_in_place(&sample, &mut head[0], &mut rest[..pn_len])
        .unwrap();
    packet
}

/// Removes protection from a long-header packet whose packet number starts at `pn_offset`;
/// returns the packet number length and the plaintext payload.
fn unprotect(keys: &DirectionalKeys, packet: &[u8], pn_offset: usize) -> (usize, u64, Vec<u8>) {
    let mut packet = packet.to_vec();
    let sample = packet[pn_offset + 4..pn_offset + 20].to_vec();
    let (head, rest) = packet.split_at_mut(pn_offset);
    keys.header
        .decrypt_in_place(&sample, &mut head[0], &mut rest[..4])
        .unwrap();
    let pn_len = (packet[0] & 0x03) as usize + 1;
    let pn = packet[pn_offset..pn_offset + pn_len]
        .iter()
        .fold(0u64, |n, b| (n << 8) | u64::from(*b));
    let (header, body) = packet.split_at_mut(pn_offset + pn_len);
    let plain = keys
        .packet
        .decrypt_in_place(pn, header, body)
        .unwrap()
        .to_vec();
    (pn_len, pn, plain)
}

#[test]
fn a2_client_initial() {
    let client = Keys::initial(Version::V1, SUITE, quic(), &DCID, Side::Client);
    let mut payload = CLIENT_CRYPTO_FRAME.to_vec();
    payload.resize(1162, 0); // PADDING frames up to a 1200-byte datagram
    let packet = protect(&client.local, 2, &CLIENT_HEADER, &payload, 4);
    assert_eq!(packet, CLIENT_PROTECTED);

    let server = Keys::initial(Version::V1, SUITE, quic(), &DCID, Side::Server);
    let (pn_len, pn, plain) = unprotect(&server.remote, &CLIENT_PROTECTED, 18);
    assert_eq!((pn_len, pn), (4, 2));
    assert_eq!(plain, payload);
}

#[test]
fn a3_server_initial() {
    let server = Keys::initial(Version::V1, SUITE, quic(), &DCID, Side::Server);
    let packet = protect(&server.local, 1, &SERVER_HEADER, &SERVER_PAYLOAD, 2);
    assert_eq!(packet, SERVER_PROTECTED);

    let client = Keys::initial(Version::V1, SUITE, quic(), &DCID, Side::Client);
    let (pn_len, pn, plain) = unprotect(&client.remote, &SERVER_PROTECTED, 18);
    assert_eq!((pn_len, pn), (2, 1));
    assert_eq!(plain, SERVER_PAYLOAD);
}

#[test]
fn packet_key_with_explicit_keys_matches_a2() {
    // The same client Initial from the raw A.1 key and IV, through the single-path API.
    let keys = initial_keys(b"client in");
    let packet_key = quic().packet_key(aead_key(keys.key), Iv::from(keys.iv));
    let mut body = CLIENT_CRYPTO_FRAME.to_vec();
    body.resize(1162, 0);
    let tag = packet_key
        .encrypt_in_place(2, &CLIENT_HEADER, &mut body)
        .unwrap();
    assert_eq!(body[..], CLIENT_PROTECTED[22..22 + 1162]);
    assert_eq!(tag.as_ref(), &CLIENT_PROTECTED[22 + 1162..]);
    assert_eq!(packet_key.tag_len(), 16);
    assert_eq!(packet_key.confidentiality_limit(), 1 << 23);
    assert_eq!(packet_key.integrity_limit(), 1 << 52);
}

#[test]
fn multipath_nonce_includes_the_path_id() {
    let keys = initial_keys(b"client in");
    let key = quic().packet_key(aead_key(keys.key), Iv::from(keys.iv));
    let header = b"header";
    let plain = b"payload on some path".to_vec();

    // Path 0 is the single-path nonce.
    let mut on_path0 = plain.clone();
    let tag0 = key
        .encrypt_in_place_for_path(0, 7, header, &mut on_path0)
        .unwrap();
    let mut single = plain.clone();
    let tag_single = key.encrypt_in_place(7, header, &mut single).unwrap();
    assert_eq!((on_path0, tag0.as_ref()), (single, tag_single.as_ref()));

    // Path 1 uses iv XOR (00000001 ‖ pn): different ciphertext, opened only on path 1.
    let mut sealed = plain.clone();
    let tag = key
        .encrypt_in_place_for_path(1, 7, header, &mut sealed)
        .unwrap();
    sealed.extend_from_slice(tag.as_ref());
    let mut wrong_path = sealed.clone();
    assert!(
        key.decrypt_in_place_for_path(0, 7, header, &mut wrong_path)
            .is_err()
    );
    let mut wrong_pn = sealed.clone();
    assert!(
        key.decrypt_in_place_for_path(1, 8, header, &mut wrong_pn)
            .is_err()
    );
    let opened = key
        .decrypt_in_place_for_path(1, 7, header, &mut sealed)
        .unwrap();
    assert_eq!(opened, plain);
}

#[test]
fn packet_decryption_refuses_tampering() {
    let server = Keys::initial(Version::V1, SUITE, quic(), &DCID, Side::Server);
    let (header, body) = SERVER_PROTECTED.split_at(20);
    // Unprotected header of A.3, with the protected payload: opens as is...
    let mut ok = body.to_vec();
    let client = Keys::initial(Version::V1, SUITE, quic(), &DCID, Side::Client);
    assert!(
        client
            .remote
            .packet
            .decrypt_in_place(1, &SERVER_HEADER, &mut ok)
            .is_ok()
    );
    // ...but not with the protected header as AAD, a flipped byte, or a short buffer.
    let mut bad = body.to_vec();
    assert!(
        client
            .remote
            .packet
            .decrypt_in_place(1, header, &mut bad)
            .is_err()
    );
    for i in [0, 50, body.len() - 1] {
        let mut bad = body.to_vec();
        bad[i] ^= 0x80;
        assert!(
            client
                .remote
                .packet
                .decrypt_in_place(1, &SERVER_HEADER, &mut bad)
                .is_err()
        );
    }
    let mut short = [0u8; 15];
    assert!(
        server
            .remote
            .packet
            .decrypt_in_place(1, &SERVER_HEADER, &mut short)
            .is_err()
    );
}
