//! X25519 key exchange (RFC 7748; TLS 1.3 use in RFC 8446 §7.4.2).

use rustls::crypto::{ActiveKeyExchange, SharedSecret, SupportedKxGroup};
use rustls::{Error, NamedGroup, PeerMisbehaved};
use x25519_dalek::{PublicKey, StaticSecret};

use crate::rand::fill_random;

#[derive(Debug)]
pub(crate) struct X25519;

impl SupportedKxGroup for X25519 {
    fn start(&self) -> Result<Box<dyn ActiveKeyExchange>, Error> {
        let mut private = [0u8; 32];
        fill_random(&mut private).map_err(|_| rustls::crypto::GetRandomFailed)?;
        let kx = X25519KeyExchange::from_private_key(private);
        zeroize::Zeroize::zeroize(&mut private);
        Ok(Box::new(kx))
    }

    fn name(&self) -> NamedGroup {
        NamedGroup::X25519
    }
}

/// One X25519 key exchange: an ephemeral private key and its public key.
///
/// [`SupportedKxGroup::start`] draws the private key from the operating system; the public
/// constructor exists so known-answer tests (RFC 8448) can run the very same code on given
/// keys.
pub struct X25519KeyExchange {
    secret: StaticSecret,
    public: [u8; 32],
}

impl X25519KeyExchange {
    /// A key exchange with a given 32-byte private key (clamped as RFC 7748 §5 says).
    pub fn from_private_key(private: [u8; 32]) -> Self {
        let secret = StaticSecret::from(private);
        let public = PublicKey::from(&secret).to_bytes();
        Self { secret, public }
    }
}

impl ActiveKeyExchange for X25519KeyExchange {
    fn complete(self: Box<Self>, peer_pub_key: &[u8]) -> Result<SharedSecret, Error> {
        let peer: [u8; 32] = peer_pub_key
            .try_into()
            .map_err(|_| Error::from(PeerMisbehaved::InvalidKeyShare))?;
        let shared = self.secret.diffie_hellman(&PublicKey::from(peer));
        // RFC 8446 §7.4.2: an all-zero result (a low-order peer point) must be refused.
        if !shared.was_contributory() {
            return Err(PeerMisbehaved::InvalidKeyShare.into());
        }
        Ok(SharedSecret::from(&shared.as_bytes()[..]))
    }

    fn pub_key(&self) -> &[u8] {
        &self.public
    }

    fn group(&self) -> NamedGroup {
        NamedGroup::X25519
    }
}
