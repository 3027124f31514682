//! AES-128-GCM TLS 1.3 record protection (RFC 8446 §5.2).

use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::{Aes128Gcm as Cipher, Nonce as GcmNonce, Tag};
use rustls::crypto::cipher::{
    AeadKey, InboundOpaqueMessage, InboundPlainMessage, Iv, MessageDecrypter, MessageEncrypter,
    Nonce, OutboundOpaqueMessage, OutboundPlainMessage, PrefixedPayload, Tls13AeadAlgorithm,
    UnsupportedOperationError, make_tls13_aad,
};
use rustls::{ConnectionTrafficSecrets, ContentType, Error, ProtocolVersion};

pub(crate) const KEY_LEN: usize = 16;
pub(crate) const TAG_LEN: usize = 16;

/// Builds the AES-128-GCM cipher from an [`AeadKey`].
///
/// rustls' key schedule always hands over exactly 16 bytes. iroh's handshake-token key
/// (`RustlsTokenKey`) instead passes a 32-byte random key to the first TLS 1.3 suite of the
/// provider; for AES-128-GCM its first 16 bytes are the key, so that path works instead of
/// panicking.
pub(crate) fn cipher(key: &AeadKey) -> Cipher {
    let key = key.as_ref();
    assert!(
        key.len() >= KEY_LEN,
        "AES-128-GCM needs a 16-byte key, got {} bytes",
        key.len()
    );
    Cipher::new_from_slice(&key[..KEY_LEN]).expect("16-byte AES-128 key")
}

pub(crate) struct Aes128Gcm;

impl Tls13AeadAlgorithm for Aes128Gcm {
    fn encrypter(&self, key: AeadKey, iv: Iv) -> Box<dyn MessageEncrypter> {
        Box::new(Tls13Encrypter {
            cipher: cipher(&key),
            iv,
        })
    }

    fn decrypter(&self, key: AeadKey, iv: Iv) -> Box<dyn MessageDecrypter> {
        Box::new(Tls13Decrypter {
            cipher: cipher(&key),
            iv,
        })
    }

    fn key_len(&self) -> usize {
        KEY_LEN
    }

    fn extract_keys(
        &self,
        key: AeadKey,
        iv: Iv,
    ) -> Result<ConnectionTrafficSecrets, UnsupportedOperationError> {
        Ok(ConnectionTrafficSecrets::Aes128Gcm { key, iv })
    }
}

struct Tls13Encrypter {
    cipher: Cipher,
    iv: Iv,
}

impl MessageEncrypter for Tls13Encrypter {
    fn encrypt(
        &mut self,
        msg: OutboundPlainMessage<'_>,
        seq: u64,
    ) -> Result<OutboundOpaqueMessage, Error> {
        let total_len = self.encrypted_payload_len(msg.payload.len());
        let mut payload = PrefixedPayload::with_capacity(total_len);
        payload.extend_from_chunks(&msg.payload);
        // TLSInnerPlaintext: content ‖ real content type, no padding.
        payload.extend_from_slice(&msg.typ.to_array());

        let nonce = GcmNonce::from(Nonce::new(&self.iv, seq).0);
        let aad = make_tls13_aad(total_len);
        let tag = self
            .cipher
            .encrypt_in_place_detached(&nonce, &aad, payload.as_mut())
            .map_err(|_| Error::EncryptError)?;
        payload.extend_from_slice(&tag);

        // All TLS 1.3 protected records carry legacy version 0x0303 (RFC 8446 §5.1).
        Ok(OutboundOpaqueMessage::new(
            ContentType::ApplicationData,
            ProtocolVersion::TLSv1_2,
            payload,
        ))
    }

    fn encrypted_payload_len(&self, payload_len: usize) -> usize {
        payload_len + 1 + TAG_LEN
    }
}

struct Tls13Decrypter {
    cipher: Cipher,
    iv: Iv,
}

impl MessageDecrypter for Tls13Decrypter {
    fn decrypt<'a>(
        &mut self,
        mut msg: InboundOpaqueMessage<'a>,
        seq: u64,
    ) -> Result<InboundPlainMessage<'a>, Error> {
        let payload = &mut msg.payload;
        let Some(plain_len) = payload.len().checked_sub(TAG_LEN) else {
            return Err(Error::DecryptError);
        };

        let nonce = GcmNonce::from(Nonce::new(&self.iv, seq).0);
        let aad = make_tls13_aad(payload.len());
        let (ciphertext, tag) = payload.split_at_mut(plain_len);
        let tag = Tag::clone_from_slice(tag);
        self.cipher
            .decrypt_in_place_detached(&nonce, &aad, ciphertext, &tag)
            .map_err(|_| Error::DecryptError)?;

        payload.truncate(plain_len);
        msg.into_tls13_unpadded_message()
    }
}
