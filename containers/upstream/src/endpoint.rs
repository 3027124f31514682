//! Building a network-silent iroh endpoint, keys, and reading QUIC error codes out of iroh errors.

use std::{net::SocketAddr, path::PathBuf};

use iroh::{
    Endpoint, EndpointId, SecretKey,
    endpoint::{ConnectionError, TransportError, presets},
};

use crate::output::Failure;

/// Binds an endpoint that can only talk to addresses it is given: the `Minimal` preset (crypto
/// provider only: relays disabled, no address lookup), and exactly one UDP socket, at `bind`
/// (the builder's default 0.0.0.0:0 and [::]:0 sockets are removed).
pub async fn bind(
    bind: SocketAddr,
    secret: Option<SecretKey>,
    alpns: Vec<Vec<u8>>,
    keylog: Option<&PathBuf>,
) -> Result<Endpoint, Failure> {
    let mut builder = Endpoint::builder(presets::Minimal)
        .relay_mode(iroh::RelayMode::Disabled)
        .clear_address_lookup()
        .clear_ip_transports()
        .bind_addr(bind)
        .map_err(|err| Failure::Invalid(format!("--bind {bind}: {err}")))?
        .alpns(alpns)
        .keylog(keylog.is_some());
    if let Some(secret) = secret {
        builder = builder.secret_key(secret);
    }
    builder
        .bind()
        .await
        .map_err(|err| Failure::Failed(format!("binding {bind}: {err:#}")))
}

pub fn parse_secret(hex_text: &str) -> Result<SecretKey, Failure> {
    let bytes =
        parse_32_bytes(hex_text).map_err(|err| Failure::Invalid(format!("--secret: {err}")))?;
    Ok(SecretKey::from_bytes(&bytes))
}

/// An endpoint id as iroh parses it: 64 hex or 52 base32 characters, a valid Ed25519 point.
pub fn parse_endpoint_id(text: &str) -> Result<EndpointId, String> {
    text.parse()
        .map_err(|err| format!("{text:?} is not an endpoint id: {err}"))
}

fn parse_32_bytes(hex_text: &str) -> Result<[u8; 32], String> {
    let bytes = hex::decode(hex_text).map_err(|err| format!("{hex_text:?} is not hex: {err}"))?;
    bytes
        .try_into()
        .map_err(|bytes: Vec<u8>| format!("want 32 bytes (64 hex characters), got {}", bytes.len()))
}

pub fn generate_key() -> serde_json::Value {
    let secret = SecretKey::generate();
    serde_json::json!({
        "secret": hex::encode(secret.to_bytes()),
        "endpoint_id": secret.public().to_string(),
    })
}

/// SIGINT and SIGTERM, caught from the moment this is created: create it before announcing
/// readiness, or a signal sent right after the announcement kills the process instead.
pub struct ShutdownSignal {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
}

impl ShutdownSignal {
    pub fn install() -> Result<Self, Failure> {
        use tokio::signal::unix::{SignalKind, signal};
        let catch = |kind: SignalKind, name: &str| {
            signal(kind)
                .map_err(|err| Failure::Failed(format!("installing the {name} handler: {err}")))
        };
        Ok(ShutdownSignal {
            interrupt: catch(SignalKind::interrupt(), "SIGINT")?,
            terminate: catch(SignalKind::terminate(), "SIGTERM")?,
        })
    }

    /// Waits for SIGINT or SIGTERM.
    pub async fn wait(mut self) {
        tokio::select! {
            _ = self.interrupt.recv() => {},
            _ = self.terminate.recv() => {},
        }
    }
}

/// The QUIC error code of a connection that was refused or closed with an error: the
/// transport error code (a TLS alert is 0x100 + alert) or the application close code. `None`
/// when the error carries no code (timeouts, local failures before any packet).
pub fn quic_error_code(err: &(dyn std::error::Error + 'static)) -> Option<u64> {
    let mut current = Some(err);
    while let Some(err) = current {
        if let Some(err) = err.downcast_ref::<ConnectionError>() {
            return connection_error_code(err);
        }
        if let Some(err) = err.downcast_ref::<TransportError>() {
            return Some(u64::from(err.code));
        }
        current = err.source();
    }
    None
}

pub fn connection_error_code(err: &ConnectionError) -> Option<u64> {
    match err {
        ConnectionError::TransportError(err) => Some(u64::from(err.code)),
        ConnectionError::ConnectionClosed(close) => Some(u64::from(close.error_code)),
        ConnectionError::ApplicationClosed(close) => Some(close.error_code.into_inner()),
        _ => None,
    }
}
