//! `serve` and `dial`: the echo protocol of iroh's `examples/echo.rs` (one bidirectional stream
//! per echo: the client writes its payload and finishes, the server copies it back and finishes,
//! the client closes the connection with code 0), and the upload protocol of the benchmarks on
//! the ALPN `irohconf/upload/0` (the same, except that the server reads the payload to its end
//! and answers with its length only, 8 bytes big-endian).

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use iroh::{
    EndpointAddr, EndpointId, TransportAddr,
    endpoint::{Accepting, Connection, ConnectionError, RecvStream, SendStream},
    protocol::{AcceptError, ProtocolHandler, Router},
};
use iroh_tickets::{Ticket, endpoint::EndpointTicket};
use serde::Serialize;
use tokio::{sync::Semaphore, task::JoinSet};

use crate::{
    DialArgs, ServeArgs,
    endpoint::{self, connection_error_code, quic_error_code},
    output::{Failure, print_json, version_label},
};

/// Served when no `--alpn` is given: ours and the one of iroh's echo example.
const DEFAULT_ALPNS: &[&str] = &["echo/0", "iroh-example/echo/0"];

/// The ALPN of the upload protocol; every other ALPN is echo.
const UPLOAD_ALPN: &str = "irohconf/upload/0";

/// What a stream carries, by the connection's ALPN.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Protocol {
    Echo,
    Upload,
}

impl Protocol {
    fn of(alpn: &[u8]) -> Protocol {
        if alpn == UPLOAD_ALPN.as_bytes() {
            Protocol::Upload
        } else {
            Protocol::Echo
        }
    }
}

/// The reason the client closes with (code 0), as iroh's echo example does.
const CLOSE_REASON: &[u8] = b"bye!";

/// How long a closing endpoint may take to tell its peers (it waits for QUIC draining).
const CLOSE_GRACE: Duration = Duration::from_secs(3);

pub async fn serve(args: ServeArgs) -> Result<(), Failure> {
    let secret = args
        .secret
        .as_deref()
        .map(endpoint::parse_secret)
        .transpose()?;
    let alpns: Vec<String> = if args.alpns.is_empty() {
        DEFAULT_ALPNS.iter().map(|alpn| alpn.to_string()).collect()
    } else {
        args.alpns.clone()
    };
    if alpns.iter().any(String::is_empty) {
        return Err(Failure::Invalid("--alpn: an ALPN cannot be empty".into()));
    }
    let shutdown = endpoint::ShutdownSignal::install()?;
    // The Router sets the endpoint's ALPNs to exactly the protocols it serves.
    let endpoint = endpoint::bind(args.bind, secret, Vec::new(), args.keylog.as_ref()).await?;
    let router = alpns
        .iter()
        .fold(Router::builder(endpoint.clone()), |builder, alpn| {
            builder.accept(alpn.as_bytes(), Echo(Protocol::of(alpn.as_bytes())))
        })
        .spawn();

    // The addresses are the sockets actually bound: with relays and address lookup off there
    // is nothing else to learn, and nothing to wait for.
    let addrs = endpoint.bound_sockets();
    let ticket = EndpointTicket::new(EndpointAddr::from_parts(
        endpoint.id(),
        addrs.iter().copied().map(TransportAddr::Ip),
    ));
    print_json(&serde_json::json!({
        "event": "ready",
        "endpoint_id": endpoint.id().to_string(),
        "ticket": ticket.encode_string(),
        "addrs": addrs.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "version": version_label(),
    }));

    shutdown.wait().await;
    // Closes every connection (code 0) and the endpoint; bounded so a stuck peer cannot hold
    // the process past the container's stop timeout.
    match tokio::time::timeout(CLOSE_GRACE, router.shutdown()).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(err)) => Err(Failure::Failed(format!("router shutdown: {err}"))),
        Err(_) => Err(Failure::Failed(format!(
            "router shutdown did not finish within {CLOSE_GRACE:?}"
        ))),
    }
}

/// One line per finished connection.
#[derive(Serialize)]
struct ConnectionEvent {
    event: &'static str,
    remote_id: String,
    alpn: String,
    bytes: u64,
    streams: u64,
    close_code: Option<u64>,
    close_reason: String,
    error: String,
}

impl ConnectionEvent {
    fn new(remote_id: String, alpn: String) -> Self {
        ConnectionEvent {
            event: "connection",
            remote_id,
            alpn,
            bytes: 0,
            streams: 0,
            close_code: None,
            close_reason: String::new(),
            error: String::new(),
        }
    }

    /// Records how the connection ended. A close with code 0 from the peer (application or
    /// transport) is the normal end; anything else is an error.
    fn ended(&mut self, end: &ConnectionError) {
        self.close_code = connection_error_code(end);
        let (normal, reason) = match end {
            ConnectionError::ApplicationClosed(close) => {
                (close.error_code.into_inner() == 0, close.reason.to_vec())
            }
            ConnectionError::ConnectionClosed(close) => {
                (u64::from(close.error_code) == 0, close.reason.to_vec())
            }
            _ => (false, Vec::new()),
        };
        self.close_reason = String::from_utf8_lossy(&reason).into_owned();
        if !normal && self.error.is_empty() {
            self.error = end.to_string();
        }
    }
}

#[derive(Debug, Clone)]
struct Echo(Protocol);

impl ProtocolHandler for Echo {
    /// Handshake failures after the ALPN was chosen (a client key iroh refuses, say) are
    /// reported too; refusals before it (an unknown ALPN) never reach a handler.
    async fn on_accepting(&self, mut accepting: Accepting) -> Result<Connection, AcceptError> {
        let alpn = accepting.alpn().await.unwrap_or_default();
        match accepting.await {
            Ok(connection) => Ok(connection),
            Err(err) => {
                let mut event =
                    ConnectionEvent::new(String::new(), String::from_utf8_lossy(&alpn).into());
                event.close_code = quic_error_code(&err);
                event.error = format!("handshake: {err:#}");
                print_json(&event);
                Err(err.into())
            }
        }
    }

    async fn accept(&self, connection: Connection) -> Result<(), AcceptError> {
        let mut event = ConnectionEvent::new(
            connection.remote_id().to_string(),
            String::from_utf8_lossy(connection.alpn()).into(),
        );
        let bytes = Arc::new(AtomicU64::new(0));
        let mut streams = JoinSet::new();
        let end = loop {
            match connection.accept_bi().await {
                Ok((send, recv)) => {
                    event.streams += 1;
                    let stream_index = event.streams;
                    let bytes = bytes.clone();
                    let protocol = self.0;
                    streams.spawn(async move {
                        let served = match protocol {
                            Protocol::Echo => echo_stream(send, recv, &bytes).await,
                            Protocol::Upload => upload_stream(send, recv, &bytes).await,
                        };
                        served.map_err(|err| format!("stream {stream_index}: {err}"))
                    });
                }
                Err(end) => break end,
            }
        };
        while let Some(result) = streams.join_next().await {
            if let Ok(Err(err)) = result
                && event.error.is_empty()
            {
                event.error = err;
            }
        }
        event.bytes = bytes.load(Ordering::Relaxed);
        event.ended(&end);
        print_json(&event);
        Ok(())
    }
}

async fn echo_stream(
    mut send: SendStream,
    mut recv: RecvStream,
    bytes: &AtomicU64,
) -> Result<(), String> {
    let copied = tokio::io::copy(&mut recv, &mut send)
        .await
        .map_err(|err| err.to_string())?;
    bytes.fetch_add(copied, Ordering::Relaxed);
    send.finish().map_err(|err| err.to_string())
}

/// Reads the stream to its end and answers with the number of bytes read (8 bytes, big-endian).
async fn upload_stream(
    mut send: SendStream,
    mut recv: RecvStream,
    bytes: &AtomicU64,
) -> Result<(), String> {
    let read = tokio::io::copy(&mut recv, &mut tokio::io::sink())
        .await
        .map_err(|err| err.to_string())?;
    bytes.fetch_add(read, Ordering::Relaxed);
    send.write_all(&read.to_be_bytes())
        .await
        .map_err(|err| err.to_string())?;
    send.finish().map_err(|err| err.to_string())
}

/// The one line `dial` prints.
#[derive(Serialize)]
struct DialResult {
    event: &'static str,
    ok: bool,
    /// The dialer's own id.
    endpoint_id: String,
    remote_id: String,
    /// The ALPN the handshake negotiated; empty when it did not finish.
    alpn: String,
    /// The first connection's handshake.
    handshake_ms: Option<f64>,
    /// Every connection's handshake, in order (beyond the contract: `--connections`).
    handshakes_ms: Vec<f64>,
    /// Connections made (beyond the contract).
    connections: u64,
    echo_ms: Vec<f64>,
    bytes: u64,
    error: String,
    error_code: Option<u64>,
}

/// The server_name iroh's client sends: `<base32hex(id)>.iroh.invalid` up to 1.0.3, none after.
fn sni_sent() -> &'static str {
    match crate::IROH_VERSION {
        "1.0.0" | "1.0.1" | "1.0.2" | "1.0.3" => "iroh-invalid",
        _ => "none",
    }
}

/// iroh's key exchange groups with the ring provider, in order.
const IROH_GROUPS: &[&str] = &["x25519", "p256", "p384"];

/// Cases of the Go peer's dial that upstream iroh cannot do: exit 127, as the contract says.
fn check_supported(args: &DialArgs) -> Result<(), Failure> {
    let version = crate::IROH_VERSION;
    if args.plain_x509 || args.no_client_key {
        return Err(Failure::Unsupported(format!(
            "iroh {version} always offers raw public keys and sends its client key"
        )));
    }
    if let Some(sni) = &args.sni
        && sni != sni_sent()
    {
        return Err(Failure::Unsupported(format!(
            "iroh {version} sends server_name {:?}, not {sni:?}",
            sni_sent()
        )));
    }
    if !args.groups.is_empty() && args.groups != IROH_GROUPS {
        return Err(Failure::Unsupported(format!(
            "iroh {version} offers the groups {}, not {}",
            IROH_GROUPS.join(","),
            args.groups.join(",")
        )));
    }
    Ok(())
}

pub async fn dial(args: DialArgs) -> Result<(), Failure> {
    check_supported(&args)?;
    let remote = remote_addr(&args)?;
    let secret = args
        .secret
        .as_deref()
        .map(endpoint::parse_secret)
        .transpose()?;
    if args.alpn.is_empty() {
        return Err(Failure::Invalid("--alpn: an ALPN cannot be empty".into()));
    }
    if args.streams == 0 {
        return Err(Failure::Invalid("--streams: must be at least 1".into()));
    }
    if args.connections == 0 {
        return Err(Failure::Invalid("--connections: must be at least 1".into()));
    }
    let mut result = DialResult {
        event: "result",
        ok: false,
        endpoint_id: String::new(),
        remote_id: remote.id.to_string(),
        alpn: String::new(),
        handshake_ms: None,
        handshakes_ms: Vec::new(),
        connections: 0,
        echo_ms: Vec::new(),
        bytes: 0,
        error: String::new(),
        error_code: None,
    };

    let started = Instant::now();
    match endpoint::bind(args.bind, secret, Vec::new(), args.keylog.as_ref()).await {
        Err(Failure::Invalid(err)) => return Err(Failure::Invalid(err)),
        Err(Failure::Failed(err)) => result.error = err,
        Err(failure) => return Err(failure),
        Ok(endpoint) => {
            result.endpoint_id = endpoint.id().to_string();
            let remaining = args.timeout.saturating_sub(started.elapsed());
            let run = connections_in_sequence(&endpoint, remote, &args, &mut result);
            if tokio::time::timeout(remaining, run).await.is_err() {
                result.error = format!("dial did not finish within {:?}", args.timeout);
            }
            // Lets the close frame reach the server; bounded, the result is already known.
            let _ = tokio::time::timeout(CLOSE_GRACE, endpoint.close()).await;
        }
    }
    result.ok = result.error.is_empty();
    print_json(&result);
    if result.ok {
        Ok(())
    } else {
        Err(Failure::Reported(1))
    }
}

fn remote_addr(args: &DialArgs) -> Result<EndpointAddr, Failure> {
    if let Some(ticket) = &args.ticket {
        let ticket = EndpointTicket::decode_string(ticket)
            .map_err(|err| Failure::Invalid(format!("invalid ticket: {err}")))?;
        return Ok(ticket.endpoint_addr().clone());
    }
    let Some(id) = &args.id else {
        return Err(Failure::Invalid("give a TICKET, or --id and --addr".into()));
    };
    if args.addrs.is_empty() {
        return Err(Failure::Invalid(
            "--id needs at least one --addr (there is no address lookup)".into(),
        ));
    }
    let id: EndpointId =
        endpoint::parse_endpoint_id(id).map_err(|err| Failure::Invalid(format!("--id: {err}")))?;
    Ok(EndpointAddr::from_parts(
        id,
        args.addrs.iter().copied().map(TransportAddr::Ip),
    ))
}

/// Runs `--connections` connections one after another, or as many as fit in `--duration`,
/// until the first failure.
async fn connections_in_sequence(
    endpoint: &iroh::Endpoint,
    remote: EndpointAddr,
    args: &DialArgs,
    result: &mut DialResult,
) {
    let started = Instant::now();
    loop {
        echo_over_one_connection(endpoint, remote.clone(), args, result).await;
        result.connections += 1;
        let more = if args.duration.is_zero() {
            result.connections < args.connections as u64
        } else {
            started.elapsed() < args.duration
        };
        if !result.error.is_empty() || !more {
            return;
        }
    }
}

/// Connects, runs the echoes, closes with code 0. Fills `result` as it goes, so a timeout
/// still reports what was done.
async fn echo_over_one_connection(
    endpoint: &iroh::Endpoint,
    remote: EndpointAddr,
    args: &DialArgs,
    result: &mut DialResult,
) {
    let handshake_started = Instant::now();
    let connection = match endpoint.connect(remote, args.alpn.as_bytes()).await {
        Ok(connection) => connection,
        Err(err) => {
            result.error = format!("connect: {err:#}");
            result.error_code = quic_error_code(&err);
            return;
        }
    };
    let handshake_ms = millis(handshake_started.elapsed());
    result.handshake_ms.get_or_insert(handshake_ms);
    result.handshakes_ms.push(handshake_ms);
    // What the handshake settled on, not what was asked for.
    result.alpn = String::from_utf8_lossy(connection.alpn()).into_owned();

    if !args.idle.is_zero() {
        tokio::select! {
            _ = tokio::time::sleep(args.idle) => {}
            end = connection.closed() => {
                result.error = format!("the connection closed while idle: {end}");
                result.error_code = connection_error_code(&end);
                return;
            }
        }
    }

    let in_flight = Arc::new(Semaphore::new(args.streams));
    let mut echoes = JoinSet::new();
    let protocol = Protocol::of(args.alpn.as_bytes());
    for index in 0..args.count {
        let connection = connection.clone();
        let in_flight = in_flight.clone();
        let size = args.size;
        echoes.spawn(async move {
            let _permit = in_flight.acquire_owned().await.expect("never closed");
            let done = match protocol {
                Protocol::Echo => echo_once(&connection, size).await,
                Protocol::Upload => upload_once(&connection, size).await,
            };
            (index, done)
        });
    }
    let mut echo_ms = vec![None; args.count];
    let earlier_echoes = std::mem::take(&mut result.echo_ms);
    while let Some(joined) = echoes.join_next().await {
        match joined {
            Ok((index, Ok(ms))) => {
                echo_ms[index] = Some(ms);
                result.bytes += args.size as u64;
            }
            Ok((index, Err(err))) => {
                if result.error.is_empty() {
                    result.error = format!("echo {}: {err}", index + 1);
                }
            }
            Err(err) => {
                if result.error.is_empty() {
                    result.error = format!("echo task: {err}");
                }
            }
        }
    }
    result.echo_ms = earlier_echoes;
    result.echo_ms.extend(echo_ms.into_iter().flatten());

    if let Some(end) = connection.close_reason() {
        result.error_code = connection_error_code(&end);
        if result.error.is_empty() {
            result.error = format!("connection ended before the close: {end}");
        }
        return;
    }
    connection.close(0u32.into(), CLOSE_REASON);
}

/// One echo on a new stream: random payload out, FIN, the whole reply back, compared byte by
/// byte. Returns the round trip in milliseconds.
///
/// Writing and reading run at the same time: the server echoes as it reads, so a payload larger
/// than the flow-control windows would otherwise fill them with a reply nobody reads, and both
/// sides would wait for each other.
async fn echo_once(connection: &Connection, size: usize) -> Result<f64, String> {
    let (payload, started, mut send, mut recv) = open_with_payload(connection, size).await?;
    let write = send_payload(&mut send, &payload);
    // One byte more than sent, so a reply that is too long is seen as such.
    let read = async {
        recv.read_to_end(size + 1)
            .await
            .map_err(|err| format!("read: {err}"))
    };
    // The first failure ends both halves.
    let ((), reply) = tokio::try_join!(write, read)?;
    let elapsed = started.elapsed();
    if reply != payload {
        let first_difference = reply
            .iter()
            .zip(&payload)
            .position(|(got, want)| got != want)
            .unwrap_or(reply.len().min(payload.len()));
        return Err(format!(
            "reply differs from the payload at byte {first_difference} (got {} bytes, sent {size})",
            reply.len()
        ));
    }
    Ok(millis(elapsed))
}

/// One upload on a new stream: random payload out, FIN, and the server's count of what it read
/// back (8 bytes, big-endian), which must be the payload's length. Returns the time from opening
/// the stream to the count in milliseconds.
async fn upload_once(connection: &Connection, size: usize) -> Result<f64, String> {
    let (payload, started, mut send, mut recv) = open_with_payload(connection, size).await?;
    send_payload(&mut send, &payload).await?;
    let reply = recv
        .read_to_end(9)
        .await
        .map_err(|err| format!("read: {err}"))?;
    let elapsed = started.elapsed();
    let count: [u8; 8] = reply
        .as_slice()
        .try_into()
        .map_err(|_| format!("the server answered {} bytes, not an 8-byte count", reply.len()))?;
    let count = u64::from_be_bytes(count);
    if count != size as u64 {
        return Err(format!("the server read {count} bytes, sent {size}"));
    }
    Ok(millis(elapsed))
}

/// A random payload of `size` bytes, the time its transfer starts, and a new stream for it.
async fn open_with_payload(
    connection: &Connection,
    size: usize,
) -> Result<(Vec<u8>, Instant, SendStream, RecvStream), String> {
    let mut payload = vec![0u8; size];
    rand::fill(&mut payload[..]);
    let started = Instant::now();
    let (send, recv) = connection
        .open_bi()
        .await
        .map_err(|err| format!("open stream: {err}"))?;
    Ok((payload, started, send, recv))
}

/// Writes the payload and finishes the stream.
async fn send_payload(send: &mut SendStream, payload: &[u8]) -> Result<(), String> {
    send.write_all(payload)
        .await
        .map_err(|err| format!("write: {err}"))?;
    send.finish().map_err(|err| format!("finish: {err}"))
}

fn millis(duration: Duration) -> f64 {
    // Microsecond resolution is plenty and keeps the JSON short.
    (duration.as_micros() as f64) / 1000.0
}
