//! Randomness from the operating system: getrandom(2) on Linux, `esp_fill_random` (the
//! hardware RNG) on ESP-IDF.

use rustls::crypto::{GetRandomFailed, SecureRandom};

/// The provider's [`SecureRandom`].
#[derive(Debug)]
pub struct OsRandom;

impl SecureRandom for OsRandom {
    fn fill(&self, buf: &mut [u8]) -> Result<(), GetRandomFailed> {
        fill_random(buf)
    }
}

pub(crate) fn fill_random(buf: &mut [u8]) -> Result<(), GetRandomFailed> {
    getrandom::fill(buf).map_err(|_| GetRandomFailed)
}
