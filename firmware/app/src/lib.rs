//! The firmware's application, the same on an ESP32 and on Linux (the virtual board).
//!
//! One boot of the application is [`run`]: it prints the boot banner, binds an iroh endpoint
//! with the ESP32 profile ([`profile`]), serves echo on `echo/0` ([`echo`]), prints the lines
//! the iroh ESP32 examples print, and answers console commands ([`console`]), among them
//! `dial` ([`dial`]: the board as a client), until it is asked to reset or to stop. The board's
//! own parts come in through [`platform`].

pub mod console;
pub mod counters;
pub mod dial;
pub mod echo;
pub mod platform;
pub mod profile;
mod run;

pub use iroh::SecretKey;
pub use run::{Config, Exit, RunError, run};

/// The firmware version printed in the boot banner.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Formats an error with its sources, `outer: inner: innermost`.
pub fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(inner) = source {
        let inner_text = inner.to_string();
        // Some errors repeat their source's text in their own; print it once.
        if !text.ends_with(&inner_text) {
            text.push_str(": ");
            text.push_str(&inner_text);
        }
        source = inner.source();
    }
    text
}

/// Parses a secret key given as 64 hex digits (how IROH_SECRET is written).
pub fn parse_secret_hex(hex: &str) -> Result<SecretKey, String> {
    let hex = hex.trim();
    if hex.len() != 64 {
        return Err(format!(
            "a secret key is 64 hex digits, got {} characters",
            hex.len()
        ));
    }
    let mut bytes = [0u8; 32];
    for (i, pair) in hex.as_bytes().chunks(2).enumerate() {
        let digit = |c: u8| (c as char).to_digit(16);
        match (digit(pair[0]), digit(pair[1])) {
            (Some(hi), Some(lo)) => bytes[i] = (hi * 16 + lo) as u8,
            _ => {
                return Err(format!(
                    "a secret key is 64 hex digits, found {:?} at position {}",
                    String::from_utf8_lossy(pair),
                    2 * i
                ));
            }
        }
    }
    Ok(SecretKey::from_bytes(&bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_hex_round_trips() {
        let hex = "1f".repeat(32);
        let key = parse_secret_hex(&hex).unwrap();
        assert_eq!(key.to_bytes(), [0x1f; 32]);
        assert_eq!(
            parse_secret_hex(&format!(" {hex}\n")).unwrap().to_bytes(),
            [0x1f; 32]
        );
    }

    #[test]
    fn bad_secret_hex_says_what_is_wrong() {
        assert!(
            parse_secret_hex("abc")
                .unwrap_err()
                .contains("got 3 characters")
        );
        let bad = format!("{}zz", "00".repeat(31));
        assert!(
            parse_secret_hex(&bad)
                .unwrap_err()
                .contains("\"zz\" at position 62")
        );
    }
}
