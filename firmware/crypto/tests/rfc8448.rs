//! Known answers from RFC 8448 §3, "Simple 1-RTT Handshake" (TLS_AES_128_GCM_SHA256, x25519):
//! the X25519 shared secret, the whole key schedule, both Finished MACs and the record
//! protection of the client's Finished and first application data record.

use fw_crypto::{TLS13_AES_128_GCM_SHA256_INTERNAL as SUITE, X25519KeyExchange};
use hex_literal::hex;
use rustls::crypto::ActiveKeyExchange;
use rustls::crypto::cipher::{
    AeadKey, InboundOpaqueMessage, Iv, OutboundChunks, OutboundPlainMessage,
};
use rustls::crypto::tls13::{HkdfExpander, OkmBlock};
use rustls::{ContentType, ProtocolVersion};

const CLIENT_PRIVATE: [u8; 32] =
    hex!("49af42ba7f7994852d713ef2784bcbcaa7911de26adc5642cb634540e7ea5005");
const CLIENT_PUBLIC: [u8; 32] =
    hex!("99381de560e4bd43d23d8e435a7dbafeb3c06e51c13cae4d5413691e529aaf2c");
const SERVER_PRIVATE: [u8; 32] =
    hex!("b1580eeadf6dd589b8ef4f2d5652578cc810e9980191ec8d058308cea216a21e");
const SERVER_PUBLIC: [u8; 32] =
    hex!("c9828876112095fe66762bdbf7c672e156d6cc253b833df1dd69b1b04e751f0f");
const SHARED_SECRET: [u8; 32] =
    hex!("8bd4054fb55b9d63fdfbacf9f04b9f0d35e6d63f537563efd46272900f89492d");

const CLIENT_HELLO: &[u8] = &hex!(
    "010000c00303cb34ecb1e78163ba1c38c6dacb196a6dffa21a8d9912ec18a2ef6283024dece7000006130113031302010000910000000b0009000006736572766572ff01000100000a00140012001d0017001800190100010101020103010400230000003300260024001d002099381de560e4bd43d23d8e435a7dbafeb3c06e51c13cae4d5413691e529aaf2c002b0003020304000d0020001e040305030603020308040805080604010501060102010402050206020202002d00020101001c00024001"
);
const SERVER_HELLO: &[u8] = &hex!(
    "020000560303a6af06a4121860dc5e6e60249cd34c95930c8ac5cb1434dac155772ed3e2692800130100002e00330024001d0020c9828876112095fe66762bdbf7c672e156d6cc253b833df1dd69b1b04e751f0f002b00020304"
);
const ENCRYPTED_EXTENSIONS: &[u8] =
    &hex!("080000240022000a00140012001d00170018001901000101010201030104001c0002400100000000");
const CERTIFICATE: &[u8] = &hex!(
    "0b0001b9000001b50001b0308201ac30820115a003020102020102300d06092a864886f70d01010b0500300e310c300a06035504031303727361301e170d3136303733303031323335395a170d3236303733303031323335395a300e310c300a0603550403130372736130819f300d06092a864886f70d010101050003818d0030818902818100b4bb498f8279303d980836399b36c6988c0c68de55e1bdb826d3901a2461eafd2de49a91d015abbc9a95137ace6c1af19eaa6af98c7ced43120998e187a80ee0ccb0524b1b018c3e0b63264d449a6d38e22a5fda430846748030530ef0461c8ca9d9efbfae8ea6d1d03e2bd193eff0ab9a8002c47428a6d35a8d88d79f7f1e3f0203010001a31a301830090603551d1304023000300b0603551d0f0404030205a0300d06092a864886f70d01010b05000381810085aad2a0e5b9276b908c65f73a7267170618a54c5f8a7b337d2df7a594365417f2eae8f8a58c8f8172f9319cf36b7fd6c55b80f21a03015156726096fd335e5e67f2dbf102702e608ccae6bec1fc63a42a99be5c3eb7107c3c54e9b9eb2bd5203b1c3b84e0a8b2f759409ba3eac9d91d402dcc0cc8f8961229ac9187b42b4de10000"
);
const CERTIFICATE_VERIFY: &[u8] = &hex!(
    "0f000084080400805a747c5d88fa9bd2e55ab085a61015b7211f824cd484145ab3ff52f1fda8477b0b7abc90db78e2d33a5c141a078653fa6bef780c5ea248eeaaa785c4f394cab6d30bbe8d4859ee511f602957b15411ac027671459e46445c9ea58c181e818e95b8c3fb0bf3278409d3be152a3da5043e063dda65cdf5aea20d53dfacd42f74f3"
);
const SERVER_FINISHED: &[u8] =
    &hex!("140000209b9b141d906337fbd2cbdce71df4deda4ab42c309572cb7fffee5454b78f0718");
const CLIENT_FINISHED: &[u8] =
    &hex!("14000020a8ec436d677634ae525ac1fcebe11a039ec17694fac6e98527b642f2edd5ce61");

/// The client's Finished, protected under the client handshake traffic keys, sequence 0.
const CLIENT_FINISHED_RECORD: &[u8] = &hex!(
    "170303003575ec4dc238cce60b298044a71e219c56cc77b0517fe9b93c7a4bfc44d87f38f80338ac98fc46deb384bd1caeacab6867d726c40546"
);
/// 50 bytes 00..31 of application data under the client application traffic keys, sequence 0.
const CLIENT_APP_RECORD: &[u8] = &hex!(
    "1703030043a23f7054b62c94d0affafe8228ba55cbefacea42f914aa66bcab3f2b9819a8a5b46b395bd54a9a20441e2b62974e1f5a6292a2977014bd1e3deae63aeebb21694915e4"
);

/// HKDF-Expand-Label (RFC 8446 §7.1) through the provider's HKDF.
fn expand_label(expander: &dyn HkdfExpander, label: &[u8], context: &[u8], out: &mut [u8]) {
    let length = (out.len() as u16).to_be_bytes();
    let label_len = [6 + label.len() as u8];
    let context_len = [context.len() as u8];
    let info: [&[u8]; 6] = [&length, &label_len, b"tls13 ", label, &context_len, context];
    expander.expand_slice(&info, out).unwrap();
}

fn derive_secret(secret: &[u8], label: &[u8], transcript_hash: &[u8]) -> [u8; 32] {
    let expander = SUITE.hkdf_provider.expander_for_okm(&OkmBlock::new(secret));
    let mut out = [0u8; 32];
    expand_label(expander.as_ref(), label, transcript_hash, &mut out);
    out
}

fn transcript_hash(messages: &[&[u8]]) -> Vec<u8> {
    let mut ctx = SUITE.common.hash_provider.start();
    for m in messages {
        ctx.update(m);
    }
    ctx.finish().as_ref().to_vec()
}

fn traffic_key_iv(secret: &[u8]) -> ([u8; 16], [u8; 12]) {
    let expander = SUITE.hkdf_provider.expander_for_okm(&OkmBlock::new(secret));
    let (mut key, mut iv) = ([0u8; 16], [0u8; 12]);
    expand_label(expander.as_ref(), b"key", &[], &mut key);
    expand_label(expander.as_ref(), b"iv", &[], &mut iv);
    (key, iv)
}

/// rustls builds `AeadKey`s only from 32-byte arrays; AES-128-GCM uses the first 16 bytes.
fn aead_key(key: [u8; 16]) -> AeadKey {
    let mut padded = [0u8; 32];
    padded[..16].copy_from_slice(&key);
    AeadKey::from(padded)
}

#[test]
fn x25519_public_keys_and_shared_secret() {
    let client = Box::new(X25519KeyExchange::from_private_key(CLIENT_PRIVATE));
    let server = Box::new(X25519KeyExchange::from_private_key(SERVER_PRIVATE));
    assert_eq!(client.pub_key(), CLIENT_PUBLIC);
    assert_eq!(server.pub_key(), SERVER_PUBLIC);
    assert_eq!(
        client.complete(&SERVER_PUBLIC).unwrap().secret_bytes(),
        SHARED_SECRET
    );
    assert_eq!(
        server.complete(&CLIENT_PUBLIC).unwrap().secret_bytes(),
        SHARED_SECRET
    );
}

#[test]
fn x25519_refuses_low_order_and_malformed_peer_keys() {
    // The all-zero point makes the shared secret zero (RFC 7748 §6.1).
    let kx = Box::new(X25519KeyExchange::from_private_key(CLIENT_PRIVATE));
    assert!(kx.complete(&[0u8; 32]).is_err());
    let kx = Box::new(X25519KeyExchange::from_private_key(CLIENT_PRIVATE));
    assert!(kx.complete(&SERVER_PUBLIC[..31]).is_err());
}

#[test]
fn key_schedule() {
    let hkdf = SUITE.hkdf_provider;
    let empty_hash = transcript_hash(&[]);

    // early secret = HKDF-Extract(0, 0): checked through what it derives.
    let early = hkdf.extract_from_zero_ikm(None);
    let early_secret = hex!("33ad0a1c607ec03b09e6cd9893680ce210adf300aa1f2660e1b22e10f170f92a");
    // HKDF-Extract is HMAC(salt, ikm): the provider's HMAC must give the same PRK.
    assert_eq!(
        hkdf.hmac_sign(&OkmBlock::new(&[0u8; 32]), &[0u8; 32])
            .as_ref(),
        early_secret
    );
    let mut derived = [0u8; 32];
    expand_label(early.as_ref(), b"derived", &empty_hash, &mut derived);
    assert_eq!(
        derived,
        hex!("6f2615a108c702c5678f54fc9dbab69716c076189c48250cebeac3576c3611ba")
    );
    assert_eq!(
        derive_secret(&early_secret, b"derived", &empty_hash),
        derived
    );

    // handshake secret = HKDF-Extract(derived, ECDHE), fed straight from the key exchange.
    let client_kx = Box::new(X25519KeyExchange::from_private_key(CLIENT_PRIVATE));
    let handshake = hkdf
        .extract_from_kx_shared_secret(Some(&derived), client_kx, &SERVER_PUBLIC)
        .unwrap();
    let handshake_secret = hex!("1dc826e93606aa6fdc0aadc12f741b01046aa6b99f691ed221a9f0ca043fbeac");
    assert_eq!(
        hkdf.hmac_sign(&OkmBlock::new(&derived), &SHARED_SECRET)
            .as_ref(),
        handshake_secret
    );

    let hello_hash = transcript_hash(&[CLIENT_HELLO, SERVER_HELLO]);
    assert_eq!(
        hello_hash,
        hex!("860c06edc07858ee8e78f0e7428c58edd6b43f2ca3e6e95f02ed063cf0e1cad8")
    );
    let mut c_hs = [0u8; 32];
    expand_label(handshake.as_ref(), b"c hs traffic", &hello_hash, &mut c_hs);
    assert_eq!(
        c_hs,
        hex!("b3eddb126e067f35a780b3abf45e2d8f3b1a950738f52e9600746a0e27a55a21")
    );
    let s_hs = derive_secret(&handshake_secret, b"s hs traffic", &hello_hash);
    assert_eq!(
        s_hs,
        hex!("b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38")
    );

    assert_eq!(
        traffic_key_iv(&s_hs),
        (
            hex!("3fce516009c21727d0f2e4e86ee403bc"),
            hex!("5d313eb2671276ee13000b30")
        )
    );
    assert_eq!(
        traffic_key_iv(&c_hs),
        (
            hex!("dbfaa693d1762c5b666af5d950258d01"),
            hex!("5bd3c71b836e0b76bb73265f")
        )
    );

    let derived_master = derive_secret(&handshake_secret, b"derived", &empty_hash);
    assert_eq!(
        derived_master,
        hex!("43de77e0c77713859a944db9db2590b53190a65b3ee2e4f12dd7a0bb7ce254b4")
    );
    let master = hkdf.extract_from_zero_ikm(Some(&derived_master));
    let master_secret = hex!("18df06843d13a08bf2a449844c5f8a478001bc4d4c627984d5a41da8d0402919");
    assert_eq!(
        hkdf.hmac_sign(&OkmBlock::new(&derived_master), &[0u8; 32])
            .as_ref(),
        master_secret
    );

    let server_fin_hash = transcript_hash(&[
        CLIENT_HELLO,
        SERVER_HELLO,
        ENCRYPTED_EXTENSIONS,
        CERTIFICATE,
        CERTIFICATE_VERIFY,
        SERVER_FINISHED,
    ]);
    assert_eq!(
        server_fin_hash,
        hex!("9608102a0f1ccc6db6250b7b7e417b1a000eaada3daae4777a7686c9ff83df13")
    );
    let mut c_ap = [0u8; 32];
    expand_label(
        master.as_ref(),
        b"c ap traffic",
        &server_fin_hash,
        &mut c_ap,
    );
    assert_eq!(
        c_ap,
        hex!("9e40646ce79a7f9dc05af8889bce6552875afa0b06df0087f792ebb7c17504a5")
    );
    assert_eq!(
        derive_secret(&master_secret, b"s ap traffic", &server_fin_hash),
        hex!("a11af9f05531f856ad47116b45a950328204b4f44bfb6b3a4b4f1f3fcb631643")
    );
    assert_eq!(
        derive_secret(&master_secret, b"exp master", &server_fin_hash),
        hex!("fe22f881176eda18eb8f44529e6792c50c9a3f89452f68d8ae311b4309d3cf50")
    );
    assert_eq!(
        traffic_key_iv(&c_ap),
        (
            hex!("17422dda596ed5d9acd890e3c63f5051"),
            hex!("5b78923dee08579033e523d9")
        )
    );
}

#[test]
fn finished_macs() {
    let s_hs = hex!("b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38");
    let c_hs = hex!("b3eddb126e067f35a780b3abf45e2d8f3b1a950738f52e9600746a0e27a55a21");
    let server_key = derive_secret(&s_hs, b"finished", &[]);
    assert_eq!(
        server_key,
        hex!("008d3b66f816ea559f96b537e885c31fc068bf492c652f01f288a1d8cdc19fc8")
    );
    let hash = transcript_hash(&[
        CLIENT_HELLO,
        SERVER_HELLO,
        ENCRYPTED_EXTENSIONS,
        CERTIFICATE,
        CERTIFICATE_VERIFY,
    ]);
    let tag = SUITE
        .hkdf_provider
        .hmac_sign(&OkmBlock::new(&server_key), &hash);
    assert_eq!(tag.as_ref(), &SERVER_FINISHED[4..]);

    let client_key = derive_secret(&c_hs, b"finished", &[]);
    assert_eq!(
        client_key,
        hex!("b80ad01015fb2f0bd65ff7d4da5d6bf83f84821d1f87fdc7d3c75b5a7b42d9c4")
    );
    let hash = transcript_hash(&[
        CLIENT_HELLO,
        SERVER_HELLO,
        ENCRYPTED_EXTENSIONS,
        CERTIFICATE,
        CERTIFICATE_VERIFY,
        SERVER_FINISHED,
    ]);
    let tag = SUITE
        .hkdf_provider
        .hmac_sign(&OkmBlock::new(&client_key), &hash);
    assert_eq!(tag.as_ref(), &CLIENT_FINISHED[4..]);
}

fn seal(key: [u8; 16], iv: [u8; 12], typ: ContentType, payload: &[u8], seq: u64) -> Vec<u8> {
    let mut enc = SUITE.aead_alg.encrypter(aead_key(key), Iv::from(iv));
    let msg = OutboundPlainMessage {
        typ,
        version: ProtocolVersion::TLSv1_2,
        payload: OutboundChunks::Single(payload),
    };
    enc.encrypt(msg, seq).unwrap().encode()
}

fn open(key: [u8; 16], iv: [u8; 12], record: &[u8], seq: u64) -> (ContentType, Vec<u8>) {
    let mut dec = SUITE.aead_alg.decrypter(aead_key(key), Iv::from(iv));
    let mut fragment = record[5..].to_vec();
    let msg = InboundOpaqueMessage::new(
        ContentType::ApplicationData,
        ProtocolVersion::TLSv1_2,
        &mut fragment,
    );
    let plain = dec.decrypt(msg, seq).unwrap();
    (plain.typ, plain.payload.to_vec())
}

#[test]
fn record_protection_client_finished() {
    let key = hex!("dbfaa693d1762c5b666af5d950258d01");
    let iv = hex!("5bd3c71b836e0b76bb73265f");
    assert_eq!(
        seal(key, iv, ContentType::Handshake, CLIENT_FINISHED, 0),
        CLIENT_FINISHED_RECORD
    );
    assert_eq!(
        open(key, iv, CLIENT_FINISHED_RECORD, 0),
        (ContentType::Handshake, CLIENT_FINISHED.to_vec())
    );
}

#[test]
fn record_protection_application_data() {
    let key = hex!("17422dda596ed5d9acd890e3c63f5051");
    let iv = hex!("5b78923dee08579033e523d9");
    let data: Vec<u8> = (0u8..50).collect();
    assert_eq!(
        seal(key, iv, ContentType::ApplicationData, &data, 0),
        CLIENT_APP_RECORD
    );
    assert_eq!(
        open(key, iv, CLIENT_APP_RECORD, 0),
        (ContentType::ApplicationData, data)
    );
}

#[test]
fn record_protection_refuses_tampering_and_wrong_sequence() {
    let key = hex!("17422dda596ed5d9acd890e3c63f5051");
    let iv = hex!("5b78923dee08579033e523d9");
    let mut dec = SUITE.aead_alg.decrypter(aead_key(key), Iv::from(iv));

    // Wrong sequence number: a different nonce.
    let mut fragment = CLIENT_APP_RECORD[5..].to_vec();
    let msg = InboundOpaqueMessage::new(
        ContentType::ApplicationData,
        ProtocolVersion::TLSv1_2,
        &mut fragment,
    );
    assert!(dec.decrypt(msg, 1).is_err());

    // Every flipped byte of ciphertext or tag fails authentication.
    for i in 5..CLIENT_APP_RECORD.len() {
        let mut fragment = CLIENT_APP_RECORD[5..].to_vec();
        fragment[i - 5] ^= 0x01;
        let msg = InboundOpaqueMessage::new(
            ContentType::ApplicationData,
            ProtocolVersion::TLSv1_2,
            &mut fragment,
        );
        assert!(dec.decrypt(msg, 0).is_err(), "byte {i} flipped");
    }

    // Shorter than a tag.
    let mut fragment = vec![0u8; 15];
    let msg = InboundOpaqueMessage::new(
        ContentType::ApplicationData,
        ProtocolVersion::TLSv1_2,
        &mut fragment,
    );
    assert!(dec.decrypt(msg, 0).is_err());
}
