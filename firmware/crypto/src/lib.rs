//! Pure-Rust rustls crypto provider for the firmware.
