//! QUIC packet protection for the AES-128-GCM suite (RFC 9001 §5).
//!
//! Packet keys: AES-128-GCM with the nonce `iv XOR packet number` (§5.3), or for multipath
//! QUIC `iv XOR (path id ‖ packet number)` (draft-ietf-quic-multipath §2.4); noq, the QUIC
//! stack under iroh, always uses the path form, path 0 being the plain form.
//! Header protection: the mask is AES-128-ECB of the 16-byte ciphertext sample (§5.4.3).

use aes::Aes128;
use aes::cipher::{BlockEncrypt, KeyInit, generic_array::GenericArray};
use aes_gcm::aead::AeadInPlace;
use aes_gcm::{Aes128Gcm as Cipher, Nonce as GcmNonce, Tag as GcmTag};
use rustls::Error;
use rustls::crypto::cipher::{AeadKey, Iv, Nonce};
use rustls::quic;

use crate::aead::{KEY_LEN, TAG_LEN, cipher};

/// Length of the ciphertext sample that header protection reads (RFC 9001 §5.4.2).
const SAMPLE_LEN: usize = 16;

pub(crate) struct Aes128GcmQuic;

impl quic::Algorithm for Aes128GcmQuic {
    fn packet_key(&self, key: AeadKey, iv: Iv) -> Box<dyn quic::PacketKey> {
        Box::new(PacketKey {
            cipher: cipher(&key),
            iv,
        })
    }

    fn header_protection_key(&self, key: AeadKey) -> Box<dyn quic::HeaderProtectionKey> {
        Box::new(HeaderProtectionKey::new(&key))
    }

    fn aead_key_len(&self) -> usize {
        KEY_LEN
    }
}

pub(crate) struct PacketKey {
    cipher: Cipher,
    iv: Iv,
}

impl PacketKey {
    fn seal(&self, nonce: Nonce, header: &[u8], payload: &mut [u8]) -> Result<quic::Tag, Error> {
        let tag = self
            .cipher
            .encrypt_in_place_detached(&GcmNonce::from(nonce.0), header, payload)
            .map_err(|_| Error::EncryptError)?;
        Ok(quic::Tag::from(tag.as_slice()))
    }

    fn open<'a>(
        &self,
        nonce: Nonce,
        header: &[u8],
        payload: &'a mut [u8],
    ) -> Result<&'a [u8], Error> {
        let plain_len = payload
            .len()
            .checked_sub(TAG_LEN)
            .ok_or(Error::DecryptError)?;
        let (ciphertext, tag) = payload.split_at_mut(plain_len);
        let tag = GcmTag::clone_from_slice(tag);
        self.cipher
            .decrypt_in_place_detached(&GcmNonce::from(nonce.0), header, ciphertext, &tag)
            .map_err(|_| Error::DecryptError)?;
        Ok(&payload[..plain_len])
    }
}

impl quic::PacketKey for PacketKey {
    fn encrypt_in_place(
        &self,
        packet_number: u64,
        header: &[u8],
        payload: &mut [u8],
    ) -> Result<quic::Tag, Error> {
        self.seal(Nonce::new(&self.iv, packet_number), header, payload)
    }

    fn encrypt_in_place_for_path(
        &self,
        path_id: u32,
        packet_number: u64,
        header: &[u8],
        payload: &mut [u8],
    ) -> Result<quic::Tag, Error> {
        self.seal(
            Nonce::for_path(path_id, &self.iv, packet_number),
            header,
            payload,
        )
    }

    fn decrypt_in_place<'a>(
        &self,
        packet_number: u64,
        header: &[u8],
        payload: &'a mut [u8],
    ) -> Result<&'a [u8], Error> {
        self.open(Nonce::new(&self.iv, packet_number), header, payload)
    }

    fn decrypt_in_place_for_path<'a>(
        &self,
        path_id: u32,
        packet_number: u64,
        header: &[u8],
        payload: &'a mut [u8],
    ) -> Result<&'a [u8], Error> {
        self.open(
            Nonce::for_path(path_id, &self.iv, packet_number),
            header,
            payload,
        )
    }

    fn tag_len(&self) -> usize {
        TAG_LEN
    }

    /// RFC 9001 §6.6: AEAD_AES_128_GCM may protect 2^23 packets per key.
    fn confidentiality_limit(&self) -> u64 {
        1 << 23
    }

    /// RFC 9001 §6.6: 2^52 forged packets for AEAD_AES_128_GCM.
    fn integrity_limit(&self) -> u64 {
        1 << 52
    }
}

pub(crate) struct HeaderProtectionKey(Aes128);

impl HeaderProtectionKey {
    fn new(key: &AeadKey) -> Self {
        Self(Aes128::new_from_slice(&key.as_ref()[..KEY_LEN]).expect("16-byte AES-128 key"))
    }

    /// The 5-byte mask: the first 5 bytes of AES-ECB(hp_key, sample).
    fn mask(&self, sample: &[u8]) -> Result<[u8; 5], Error> {
        let sample: [u8; SAMPLE_LEN] = sample
            .try_into()
            .map_err(|_| Error::General("sample of invalid length".into()))?;
        let mut block = GenericArray::from(sample);
        self.0.encrypt_block(&mut block);
        let mut mask = [0u8; 5];
        mask.copy_from_slice(&block[..5]);
        Ok(mask)
    }

    /// RFC 9001 §5.4.1 "Header Protection Application", nearly verbatim. Nothing is changed
    /// when an error is returned.
    fn xor_in_place(
        &self,
        sample: &[u8],
        first: &mut u8,
        packet_number: &mut [u8],
        removing: bool,
    ) -> Result<(), Error> {
        let mask = self.mask(sample)?;
        let (first_mask, pn_mask) = mask.split_first().expect("mask is 5 bytes");
        if packet_number.len() > pn_mask.len() {
            return Err(Error::General("packet number too long".into()));
        }

        const LONG_HEADER_FORM: u8 = 0x80;
        let bits = if *first & LONG_HEADER_FORM == LONG_HEADER_FORM {
            0x0f // long header: 4 bits protected
        } else {
            0x1f // short header: 5 bits protected
        };
        // The packet number length is in the unprotected first byte: after unmasking when
        // removing protection, before masking when adding it.
        let first_plain = if removing {
            *first ^ (first_mask & bits)
        } else {
            *first
        };
        let pn_len = (first_plain & 0x03) as usize + 1;

        *first ^= first_mask & bits;
        for (byte, m) in packet_number.iter_mut().zip(pn_mask).take(pn_len) {
            *byte ^= m;
        }
        Ok(())
    }
}

impl quic::HeaderProtectionKey for HeaderProtectionKey {
    fn encrypt_in_place(
        &self,
        sample: &[u8],
        first: &mut u8,
        packet_number: &mut [u8],
    ) -> Result<(), Error> {
        self.xor_in_place(sample, first, packet_number, false)
    }

    fn decrypt_in_place(
        &self,
        sample: &[u8],
        first: &mut u8,
        packet_number: &mut [u8],
    ) -> Result<(), Error> {
        self.xor_in_place(sample, first, packet_number, true)
    }

    fn sample_len(&self) -> usize {
        SAMPLE_LEN
    }
}
