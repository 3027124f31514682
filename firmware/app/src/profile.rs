//! The ESP32 profile: how the firmware's iroh endpoint is configured, on the board and on Linux.
//!
//! These are the limits of the iroh ESP32 examples' no-PSRAM servers, chosen to fit a chip with
//! about 300 KiB of free heap; the virtual board uses the very same ones so that the suite
//! tests on Linux what a board does.

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;

use iroh::dns::DnsResolver;
use iroh::endpoint::{
    BindError, InvalidSocketAddr, NetReportConfig, PortmapperConfig, QuicTransportConfig, VarInt,
    presets,
};
use iroh::tls::CaTlsConfig;
use iroh::{Endpoint, RelayMode, SecretKey};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

/// The echo protocol's ALPN, as the iroh ESP32 examples serve it.
pub const ECHO_ALPN: &[u8] = b"echo/0";

/// Concurrent bidirectional streams a peer may open: echo needs one.
pub const MAX_BIDI_STREAMS: u32 = 1;
/// Concurrent unidirectional streams a peer may open: none.
pub const MAX_UNI_STREAMS: u32 = 0;
/// Receive window of one stream, in bytes.
pub const STREAM_RECEIVE_WINDOW: u32 = 16 * 1024;
/// Receive window of a connection, in bytes.
pub const CONNECTION_RECEIVE_WINDOW: u32 = 32 * 1024;
/// Send window of a connection, in bytes.
pub const CONNECTION_SEND_WINDOW: u64 = 32 * 1024;
/// TLS session tickets cached for resumption: none (a board never dials back).
pub const MAX_TLS_TICKETS: usize = 0;

/// The QUIC transport limits: one bidi stream, no uni streams, small windows, no datagrams.
pub fn transport_config() -> QuicTransportConfig {
    QuicTransportConfig::builder()
        .max_concurrent_bidi_streams(VarInt::from_u32(MAX_BIDI_STREAMS))
        .max_concurrent_uni_streams(VarInt::from_u32(MAX_UNI_STREAMS))
        .stream_receive_window(VarInt::from_u32(STREAM_RECEIVE_WINDOW))
        .receive_window(VarInt::from_u32(CONNECTION_RECEIVE_WINDOW))
        .send_window(CONNECTION_SEND_WINDOW)
        .datagram_receive_buffer_size(None)
        .build()
}

/// The firmware's crypto provider (TLS13_AES_128_GCM_SHA256, X25519, Ed25519).
pub fn crypto_provider() -> Arc<CryptoProvider> {
    Arc::new(fw_crypto::provider())
}

/// Binds an endpoint with the profile: the given crypto provider and secret, the transport
/// limits above, no TLS tickets, no relays, no address lookup, no port mapping, no DNS, no web
/// PKI, and one socket on exactly `bind`. Nothing it does sends a packet anywhere but to the
/// peers that dial it.
pub async fn bind_endpoint(
    secret_key: SecretKey,
    bind: SocketAddr,
    crypto: Arc<CryptoProvider>,
) -> Result<Endpoint, BindEndpointError> {
    let builder = builder(secret_key, bind, crypto).map_err(BindEndpointError::Address)?;
    // On the heap: iroh's bind future and the builder it holds are tens of KiB, too much to
    // move around on a 48 KiB main task stack.
    Box::pin(builder.bind())
        .await
        .map_err(BindEndpointError::Bind)
}

/// The endpoint builder of [`bind_endpoint`], made in a plain function so its temporaries leave
/// the stack before the bind runs.
fn builder(
    secret_key: SecretKey,
    bind: SocketAddr,
    crypto: Arc<CryptoProvider>,
) -> Result<iroh::endpoint::Builder, InvalidSocketAddr> {
    Endpoint::builder(presets::Empty)
        .crypto_provider(crypto)
        .secret_key(secret_key)
        .transport_config(transport_config())
        .max_tls_tickets(MAX_TLS_TICKETS)
        .relay_mode(RelayMode::Disabled)
        .clear_address_lookup()
        .portmapper_config(PortmapperConfig::Disabled)
        .net_report_config(NetReportConfig::minimal())
        // A resolver with no nameservers and no fallback: it answers nothing and asks no one.
        .dns_resolver(DnsResolver::builder().disable_fallback().build())
        // iroh builds an HTTPS client config for relays and lookups even when both are off;
        // give it a verifier that trusts nothing instead of the embedded web PKI roots.
        .ca_tls_config(CaTlsConfig::custom_server_cert_verifier(Arc::new(
            |provider| Ok(Arc::new(TrustNothing { provider }) as Arc<dyn ServerCertVerifier>),
        )))
        .clear_ip_transports()
        // TLS secrets to the file SSLKEYLOGFILE names, where it is set: the virtual board's
        // suites decrypt their captures with them. A board has no such variable.
        .keylog(std::env::var_os("SSLKEYLOGFILE").is_some())
        .bind_addr(bind)
}

/// Why the endpoint could not be bound.
#[derive(Debug)]
pub enum BindEndpointError {
    /// The bind address was refused before anything was bound.
    Address(InvalidSocketAddr),
    /// Binding failed (the address is in use or not on this host, or the configuration is bad).
    Bind(BindError),
}

impl fmt::Display for BindEndpointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BindEndpointError::Address(err) => {
                write!(f, "invalid bind address: {}", crate::error_chain(err))
            }
            BindEndpointError::Bind(err) => {
                write!(f, "cannot bind the endpoint: {}", crate::error_chain(err))
            }
        }
    }
}

impl std::error::Error for BindEndpointError {}

/// A web PKI verifier that refuses every certificate: the firmware never talks HTTPS.
#[derive(Debug)]
struct TrustNothing {
    provider: Arc<CryptoProvider>,
}

/// What every check of [`TrustNothing`] answers.
fn no_https() -> rustls::Error {
    rustls::Error::General("this firmware makes no HTTPS connections".into())
}

impl ServerCertVerifier for TrustNothing {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Err(no_https())
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Err(no_https())
    }

    fn verify_tls13_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Err(no_https())
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
