//! Complete handshakes between a rustls client and server that both use this provider, with
//! RFC 7250 raw public keys (Ed25519, mutual authentication) as iroh configures them: over a
//! TLS byte stream and over QUIC (rustls::quic), plus the provider parts iroh uses directly.

use std::sync::Arc;

use fw_crypto::{Ed25519SigningKey, SUPPORTED_SIG_ALGS, TLS13_AES_128_GCM_SHA256, provider};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{AlwaysResolvesClientRawPublicKeys, ClientConnection};
use rustls::crypto::verify_tls13_signature_with_raw_key;
use rustls::pki_types::{CertificateDer, ServerName, SubjectPublicKeyInfoDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::{AlwaysResolvesServerRawPublicKeys, ServerConnection};
use rustls::sign::CertifiedKey;
use rustls::version::TLS13;
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, DistinguishedName, Error, NamedGroup,
    ServerConfig, SignatureScheme,
};

const SERVER_SEED: [u8; 32] = [0x11; 32];
const CLIENT_SEED: [u8; 32] = [0x22; 32];

/// Accepts exactly one expected raw public key, like iroh's verifiers (iroh/src/tls/verifier.rs).
#[derive(Debug)]
struct ExpectRawKey(SubjectPublicKeyInfoDer<'static>);

impl ExpectRawKey {
    fn check(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
    ) -> Result<(), Error> {
        if !intermediates.is_empty() || end_entity.as_ref() != self.0.as_ref() {
            return Err(Error::InvalidCertificate(CertificateError::UnknownIssuer));
        }
        Ok(())
    }

    fn verify13(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        let spki = SubjectPublicKeyInfoDer::from(cert.as_ref());
        verify_tls13_signature_with_raw_key(message, &spki, dss, &SUPPORTED_SIG_ALGS)
    }
}

impl ServerCertVerifier for ExpectRawKey {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        self.check(end_entity, intermediates)
            .map(|_| ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        Err(Error::PeerIncompatible(
            rustls::PeerIncompatible::Tls12NotOffered,
        ))
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.verify13(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        SUPPORTED_SIG_ALGS.supported_schemes()
    }

    fn requires_raw_public_keys(&self) -> bool {
        true
    }
}

impl ClientCertVerifier for ExpectRawKey {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, Error> {
        self.check(end_entity, intermediates)
            .map(|_| ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        Err(Error::PeerIncompatible(
            rustls::PeerIncompatible::Tls12NotOffered,
        ))
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.verify13(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        SUPPORTED_SIG_ALGS.supported_schemes()
    }

    fn requires_raw_public_keys(&self) -> bool {
        true
    }
}

fn certified_key(seed: &[u8; 32]) -> Arc<CertifiedKey> {
    let key = Ed25519SigningKey::from_seed(seed);
    let spki = CertificateDer::from(key.spki().to_vec());
    Arc::new(CertifiedKey::new(vec![spki], Arc::new(key)))
}

fn spki(seed: &[u8; 32]) -> SubjectPublicKeyInfoDer<'static> {
    Ed25519SigningKey::from_seed(seed).spki()
}

fn client_config(expected_server: &[u8; 32], alpn: &[u8]) -> ClientConfig {
    let mut config = ClientConfig::builder_with_provider(Arc::new(provider()))
        .with_protocol_versions(&[&TLS13])
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(ExpectRawKey(spki(expected_server))))
        .with_client_cert_resolver(Arc::new(AlwaysResolvesClientRawPublicKeys::new(
            certified_key(&CLIENT_SEED),
        )));
    config.alpn_protocols = vec![alpn.to_vec()];
    config.enable_sni = false;
    config
}

fn server_config(expected_client: &[u8; 32], alpn: &[u8]) -> ServerConfig {
    let mut config = ServerConfig::builder_with_provider(Arc::new(provider()))
        .with_protocol_versions(&[&TLS13])
        .unwrap()
        .with_client_cert_verifier(Arc::new(ExpectRawKey(spki(expected_client))))
        .with_cert_resolver(Arc::new(AlwaysResolvesServerRawPublicKeys::new(
            certified_key(&SERVER_SEED),
        )));
    config.alpn_protocols = vec![alpn.to_vec()];
    config
}

fn server_name() -> ServerName<'static> {
    ServerName::try_from("server.invalid").unwrap()
}

/// Moves TLS bytes both ways until neither side has anything to send (at most 20 rounds).
fn pump(client: &mut ClientConnection, server: &mut ServerConnection) -> Result<(), Error> {
    for _ in 0..20 {
        let mut moved = false;
        let mut buf = Vec::new();
        while client.wants_write() {
            client.write_tls(&mut buf).unwrap();
        }
        if !buf.is_empty() {
            moved = true;
            let mut slice = &buf[..];
            while !slice.is_empty() {
                server.read_tls(&mut slice).unwrap();
                server.process_new_packets()?;
            }
        }
        buf.clear();
        while server.wants_write() {
            server.write_tls(&mut buf).unwrap();
        }
        if !buf.is_empty() {
            moved = true;
            let mut slice = &buf[..];
            while !slice.is_empty() {
                client.read_tls(&mut slice).unwrap();
                client.process_new_packets()?;
            }
        }
        if !moved {
            return Ok(());
        }
    }
    panic!("handshake did not settle in 20 rounds");
}

#[test]
fn tls_handshake_with_raw_public_keys() {
    let mut client = ClientConnection::new(
        Arc::new(client_config(&SERVER_SEED, b"echo/0")),
        server_name(),
    )
    .unwrap();
    let mut server =
        ServerConnection::new(Arc::new(server_config(&CLIENT_SEED, b"echo/0"))).unwrap();
    pump(&mut client, &mut server).unwrap();

    assert!(!client.is_handshaking() && !server.is_handshaking());
    for suite in [
        client.negotiated_cipher_suite(),
        server.negotiated_cipher_suite(),
    ] {
        assert_eq!(suite, Some(TLS13_AES_128_GCM_SHA256));
    }
    for group in [
        client.negotiated_key_exchange_group(),
        server.negotiated_key_exchange_group(),
    ] {
        assert_eq!(group.map(|g| g.name()), Some(NamedGroup::X25519));
    }
    assert_eq!(client.alpn_protocol(), Some(&b"echo/0"[..]));
    // Each side saw the other's 44-byte Ed25519 SubjectPublicKeyInfo as its only certificate.
    assert_eq!(
        client.peer_certificates().unwrap(),
        [CertificateDer::from(spki(&SERVER_SEED).to_vec())]
    );
    assert_eq!(
        server.peer_certificates().unwrap(),
        [CertificateDer::from(spki(&CLIENT_SEED).to_vec())]
    );

    // Application data both ways over the AES-128-GCM records.
    use std::io::{Read, Write};
    client.writer().write_all(b"ping from client").unwrap();
    pump(&mut client, &mut server).unwrap();
    let mut got = [0u8; 16];
    server.reader().read_exact(&mut got).unwrap();
    assert_eq!(&got, b"ping from client");
    server.writer().write_all(b"pong from server").unwrap();
    pump(&mut client, &mut server).unwrap();
    client.reader().read_exact(&mut got).unwrap();
    assert_eq!(&got, b"pong from server");
}

#[test]
fn tls_handshake_refuses_an_unexpected_server_key() {
    let mut client = ClientConnection::new(
        Arc::new(client_config(&[0x33; 32], b"echo/0")),
        server_name(),
    )
    .unwrap();
    let mut server =
        ServerConnection::new(Arc::new(server_config(&CLIENT_SEED, b"echo/0"))).unwrap();
    let err = pump(&mut client, &mut server).unwrap_err();
    assert_eq!(
        err,
        Error::InvalidCertificate(CertificateError::UnknownIssuer)
    );
}

#[test]
fn tls_handshake_refuses_an_unexpected_client_key() {
    let mut client = ClientConnection::new(
        Arc::new(client_config(&SERVER_SEED, b"echo/0")),
        server_name(),
    )
    .unwrap();
    let mut server =
        ServerConnection::new(Arc::new(server_config(&[0x44; 32], b"echo/0"))).unwrap();
    let err = pump(&mut client, &mut server).unwrap_err();
    assert_eq!(
        err,
        Error::InvalidCertificate(CertificateError::UnknownIssuer)
    );
}

mod quic {
    use super::*;
    use rustls::quic::{self, Connection, KeyChange, Keys, Version};

    fn transport_params(tag: u8) -> Vec<u8> {
        // Any bytes will do for rustls; QUIC transport parameters are opaque to TLS.
        vec![0x01, 0x02, 0x40, tag]
    }

    struct Side {
        conn: Connection,
        handshake: Option<Keys>,
        one_rtt: Option<(Keys, quic::Secrets)>,
    }

    impl Side {
        /// Writes what TLS has to send, one chunk per encryption level (as QUIC would put
        /// them in different packet spaces), and records the keys it installs.
        fn write(&mut self) -> Vec<Vec<u8>> {
            let mut chunks = Vec::new();
            loop {
                let mut out = Vec::new();
                let change = self.conn.write_hs(&mut out);
                if !out.is_empty() {
                    chunks.push(out);
                }
                match change {
                    Some(KeyChange::Handshake { keys }) => self.handshake = Some(keys),
                    Some(KeyChange::OneRtt { keys, next }) => self.one_rtt = Some((keys, next)),
                    None => return chunks,
                }
            }
        }
    }

    /// Seals `plain` with `from` and opens it with `to` on path 0 and packet number 5.
    fn round_trip(from: &Keys, to: &Keys, plain: &[u8]) -> Result<Vec<u8>, Error> {
        let header = [0x40, 0xaa, 0xbb];
        let mut body = plain.to_vec();
        let tag = from
            .local
            .packet
            .encrypt_in_place_for_path(0, 5, &header, &mut body)?;
        body.extend_from_slice(tag.as_ref());
        let sample = body[..16].to_vec();
        let (mut first, mut pn) = (header[0], [0x05u8]);
        from.local
            .header
            .encrypt_in_place(&sample, &mut first, &mut pn)?;
        to.remote
            .header
            .decrypt_in_place(&sample, &mut first, &mut pn)?;
        if (first, pn) != (header[0], [0x05]) {
            return Err(Error::General(
                "header protection did not round-trip".into(),
            ));
        }
        Ok(to
            .remote
            .packet
            .decrypt_in_place_for_path(0, 5, &header, &mut body)?
            .to_vec())
    }

    #[test]
    fn quic_handshake_derives_matching_keys_at_every_level() {
        let mut client_tls = client_config(&SERVER_SEED, b"echo/0");
        client_tls.enable_early_data = false;
        let mut server_tls = server_config(&CLIENT_SEED, b"echo/0");
        // rustls requires 0 or u32::MAX for QUIC; iroh sets u32::MAX.
        server_tls.max_early_data_size = u32::MAX;

        let mut client = Side {
            conn: quic::ClientConnection::new(
                Arc::new(client_tls),
                Version::V1,
                server_name(),
                transport_params(1),
            )
            .unwrap()
            .into(),
            handshake: None,
            one_rtt: None,
        };
        let mut server = Side {
            conn: quic::ServerConnection::new(
                Arc::new(server_tls),
                Version::V1,
                transport_params(2),
            )
            .unwrap()
            .into(),
            handshake: None,
            one_rtt: None,
        };

        for _ in 0..10 {
            let to_server = client.write();
            for chunk in &to_server {
                server.conn.read_hs(chunk).unwrap();
            }
            let to_client = server.write();
            for chunk in &to_client {
                client.conn.read_hs(chunk).unwrap();
            }
            if to_server.is_empty() && to_client.is_empty() {
                break;
            }
        }
        assert!(!client.conn.is_handshaking() && !server.conn.is_handshaking());
        assert_eq!(
            client.conn.quic_transport_parameters(),
            Some(&transport_params(2)[..])
        );
        assert_eq!(
            server.conn.quic_transport_parameters(),
            Some(&transport_params(1)[..])
        );

        let (client_hs, server_hs) = (client.handshake.unwrap(), server.handshake.unwrap());
        assert_eq!(
            round_trip(&client_hs, &server_hs, b"client handshake").unwrap(),
            b"client handshake"
        );
        assert_eq!(
            round_trip(&server_hs, &client_hs, b"server handshake").unwrap(),
            b"server handshake"
        );

        let (client_1rtt, mut client_next) = client.one_rtt.unwrap();
        let (server_1rtt, mut server_next) = server.one_rtt.unwrap();
        assert_eq!(
            round_trip(&client_1rtt, &server_1rtt, b"client 1-rtt").unwrap(),
            b"client 1-rtt"
        );
        assert_eq!(
            round_trip(&server_1rtt, &client_1rtt, b"server 1-rtt").unwrap(),
            b"server 1-rtt"
        );
        // Handshake keys do not open 1-RTT packets.
        assert!(round_trip(&client_1rtt, &server_hs, b"x").is_err());

        // Key update (RFC 9001 §6): both sides step to the same next generation.
        let client_updated = client_next.next_packet_keys();
        let server_updated = server_next.next_packet_keys();
        let header = [0x44];
        let mut body = b"after key update".to_vec();
        let tag = client_updated
            .local
            .encrypt_in_place(9, &header, &mut body)
            .unwrap();
        body.extend_from_slice(tag.as_ref());
        let mut stale = body.clone();
        assert!(
            server_1rtt
                .remote
                .packet
                .decrypt_in_place(9, &header, &mut stale)
                .is_err()
        );
        assert_eq!(
            server_updated
                .remote
                .decrypt_in_place(9, &header, &mut body)
                .unwrap(),
            b"after key update"
        );
    }
}

mod iroh_token_key {
    //! iroh's `RustlsTokenKey` seals QUIC handshake tokens with the first TLS 1.3 suite's AEAD,
    //! handing it a 32-byte random key and a nonce cut from a u128 (iroh/src/tls/misc.rs).
    use super::*;
    use rustls::crypto::cipher::{
        AeadKey, InboundOpaqueMessage, Iv, OutboundChunks, OutboundPlainMessage,
    };
    use rustls::{ContentType, ProtocolVersion};

    #[test]
    fn a_32_byte_key_seals_and_opens() {
        let suite = provider().cipher_suites[0].tls13().unwrap();
        let key = [0x5a; 32];
        let nonce: [u8; 12] = *0x0123_4567_89ab_cdef_0011_2233_4455_6677u128
            .to_le_bytes()
            .first_chunk()
            .unwrap();
        let data = b"retry token contents".to_vec();

        let sealed = suite
            .aead_alg
            .encrypter(AeadKey::from(key), Iv::from(nonce))
            .encrypt(
                OutboundPlainMessage {
                    typ: ContentType::ApplicationData,
                    version: ProtocolVersion::TLSv1_3,
                    payload: OutboundChunks::Single(&data),
                },
                0,
            )
            .unwrap();
        let mut sealed = sealed.payload.as_ref().to_vec();
        assert_eq!(sealed.len(), data.len() + 1 + 16);

        let mut tampered = sealed.clone();
        tampered[3] ^= 1;
        let open = |buf: &mut Vec<u8>| {
            suite
                .aead_alg
                .decrypter(AeadKey::from(key), Iv::from(nonce))
                .decrypt(
                    InboundOpaqueMessage::new(
                        ContentType::ApplicationData,
                        ProtocolVersion::TLSv1_3,
                        buf,
                    ),
                    0,
                )
                .map(|m| m.payload.to_vec())
        };
        assert!(open(&mut tampered).is_err());
        assert_eq!(open(&mut sealed).unwrap(), data);
    }
}
