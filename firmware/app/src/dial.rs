//! `dial`: the board as a client. It dials a ticket from its own endpoint (the ESP32 profile,
//! the board's identity), runs echoes on `echo/0` one after another on one connection, checks
//! every byte, and reports one result in the shape of the peer contract's dial result
//! (`docs/peer-contract.md`).
//!
//! The payload is never held whole: a board has no room for a 1 MiB buffer. Its bytes are a
//! function of a random seed and their position, so the writer makes them and the reader checks
//! them, [`CHUNK`] bytes at a time.

use std::fmt::{self, Display, Write as _};
use std::time::{Duration, Instant};

use iroh::endpoint::{Connection, ConnectionError, RecvStream, SendStream, TransportError};
use iroh::{Endpoint, EndpointAddr};
use iroh_tickets::endpoint::EndpointTicket;
use rustls::crypto::SecureRandom;

use crate::console::DialRequest;
use crate::profile::ECHO_ALPN;

/// The bound on one whole dial: handshake and every echo (the peer contract's default).
pub const DIAL_TIMEOUT: Duration = Duration::from_secs(10);

/// Bytes written or checked at a time, on the stack.
pub const CHUNK: usize = 1024;

/// The application close code of a dial that went as planned.
const CLOSE_OK: u32 = 0;

/// What one dial did: the peer contract's dial result.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DialResult {
    pub ok: bool,
    /// The board's own id.
    pub endpoint_id: String,
    /// The id the ticket names (the one iroh pinned).
    pub remote_id: String,
    /// The ALPN negotiated, or the one asked for when no connection came up.
    pub alpn: String,
    pub handshake_ms: Option<f64>,
    /// One round trip per echo that completed, in order.
    pub echo_ms: Vec<f64>,
    /// Payload bytes echoed and checked.
    pub bytes: u64,
    /// Empty when ok.
    pub error: String,
    /// The QUIC transport or application error code when the connection was refused or closed
    /// with an error.
    pub error_code: Option<u64>,
}

impl DialResult {
    /// A dial that did not start: bad arguments, or another dial still running.
    pub fn not_started(endpoint_id: impl Display, error: impl Display) -> Self {
        DialResult {
            endpoint_id: endpoint_id.to_string(),
            alpn: String::from_utf8_lossy(ECHO_ALPN).into_owned(),
            error: error.to_string(),
            ..DialResult::default()
        }
    }
}

/// `DIAL {"event":"result",...}`: the word, a space, the peer contract's result object.
impl Display for DialResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "DIAL {{\"event\":\"result\",\"ok\":{},\"endpoint_id\":{},\"remote_id\":{},\"alpn\":{},\"handshake_ms\":",
            self.ok,
            JsonString(&self.endpoint_id),
            JsonString(&self.remote_id),
            JsonString(&self.alpn),
        )?;
        match self.handshake_ms {
            Some(ms) => write!(f, "{ms}")?,
            None => f.write_str("null")?,
        }
        f.write_str(",\"echo_ms\":[")?;
        for (i, ms) in self.echo_ms.iter().enumerate() {
            if i > 0 {
                f.write_char(',')?;
            }
            write!(f, "{ms}")?;
        }
        write!(
            f,
            "],\"bytes\":{},\"error\":{},\"error_code\":{}}}",
            self.bytes,
            JsonString(&self.error),
            crate::console::OrNull(self.error_code),
        )
    }
}

/// A JSON string literal.
struct JsonString<'a>(&'a str);

impl Display for JsonString<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_char('"')?;
        for c in self.0.chars() {
            match c {
                '"' => f.write_str("\\\"")?,
                '\\' => f.write_str("\\\\")?,
                c if (c as u32) < 0x20 => write!(f, "\\u{:04x}", c as u32)?,
                c => f.write_char(c)?,
            }
        }
        f.write_char('"')
    }
}

/// Dials `request.ticket` from `endpoint` and runs the echoes, within [`DIAL_TIMEOUT`].
pub async fn dial(
    endpoint: &Endpoint,
    request: &DialRequest,
    random: &dyn SecureRandom,
) -> DialResult {
    let mut result = DialResult {
        endpoint_id: endpoint.id().to_string(),
        alpn: String::from_utf8_lossy(ECHO_ALPN).into_owned(),
        ..DialResult::default()
    };
    match request.ticket.parse::<EndpointTicket>() {
        Err(err) => result.error = format!("invalid ticket: {err}"),
        Ok(ticket) => {
            let remote = ticket.endpoint_addr().clone();
            result.remote_id = remote.id.to_string();
            let run = echo_over_one_connection(endpoint, remote, request, random, &mut result);
            if tokio::time::timeout(DIAL_TIMEOUT, run).await.is_err() && result.error.is_empty() {
                result.error = format!("dial did not finish within {DIAL_TIMEOUT:?}");
            }
        }
    }
    result.ok = result.error.is_empty();
    result
}

/// Fills `result` as it goes, so a timeout still reports what was done.
async fn echo_over_one_connection(
    endpoint: &Endpoint,
    remote: EndpointAddr,
    request: &DialRequest,
    random: &dyn SecureRandom,
    result: &mut DialResult,
) {
    let started = Instant::now();
    // iroh pins the id: a server that cannot prove it holds the ticket's id is refused here.
    let connection = match endpoint.connect(remote, ECHO_ALPN).await {
        Ok(connection) => connection,
        Err(err) => {
            result.error = format!("connect: {}", crate::error_chain(&err));
            result.error_code = quic_error_code(&err);
            return;
        }
    };
    result.handshake_ms = Some(millis(started.elapsed()));
    result.alpn = String::from_utf8_lossy(connection.alpn()).into_owned();

    for index in 0..request.count {
        let mut seed = [0u8; 8];
        if random.fill(&mut seed).is_err() {
            result.error = "no random numbers for the payload".into();
            break;
        }
        let payload = Payload(u64::from_le_bytes(seed));
        let started = Instant::now();
        match echo_once(&connection, request.size, payload).await {
            Ok(()) => {
                result.echo_ms.push(millis(started.elapsed()));
                result.bytes += request.size;
            }
            Err(err) => {
                result.error = format!("echo {}: {err}", index + 1);
                break;
            }
        }
    }

    if let Some(end) = connection.close_reason() {
        result.error_code = connection_error_code(&end);
        if result.error.is_empty() {
            result.error = format!("the connection ended before the close: {end}");
        }
        return;
    }
    connection.close(CLOSE_OK.into(), b"done");
}

/// One echo on a new stream: the payload out and finished, the reply read and checked as it
/// comes, at the same time (a payload past the windows only flows while the echo is read).
async fn echo_once(connection: &Connection, size: u64, payload: Payload) -> Result<(), String> {
    let (send, recv) = connection
        .open_bi()
        .await
        .map_err(|err| format!("open stream: {err}"))?;
    let (written, checked) = tokio::join!(
        write_payload(send, size, payload),
        check_reply(recv, size, payload)
    );
    // A failed write usually shows up as a read error too; the write's reason comes first.
    written?;
    checked
}

async fn write_payload(mut send: SendStream, size: u64, payload: Payload) -> Result<(), String> {
    let mut chunk = [0u8; CHUNK];
    let mut offset = 0u64;
    while offset < size {
        let n = (size - offset).min(CHUNK as u64) as usize;
        payload.fill(offset, &mut chunk[..n]);
        send.write_all(&chunk[..n])
            .await
            .map_err(|err| format!("write: {err}"))?;
        offset += n as u64;
    }
    send.finish().map_err(|err| format!("finish: {err}"))
}

async fn check_reply(mut recv: RecvStream, size: u64, payload: Payload) -> Result<(), String> {
    let mut chunk = [0u8; CHUNK];
    let mut expected = [0u8; CHUNK];
    let mut offset = 0u64;
    while let Some(n) = recv
        .read(&mut chunk)
        .await
        .map_err(|err| format!("read: {err}"))?
    {
        if offset + n as u64 > size {
            return Err(format!(
                "the reply is longer than the {size} bytes sent (at least {})",
                offset + n as u64
            ));
        }
        payload.fill(offset, &mut expected[..n]);
        if let Some(at) = chunk[..n]
            .iter()
            .zip(&expected[..n])
            .position(|(a, b)| a != b)
        {
            return Err(format!(
                "the reply differs from the payload at byte {}",
                offset + at as u64
            ));
        }
        offset += n as u64;
    }
    if offset != size {
        return Err(format!("the reply ended after {offset} of {size} bytes"));
    }
    Ok(())
}

/// The bytes of one echo's payload: byte `i` is byte `i % 8` of SplitMix64 at `seed + i / 8`, so
/// any stretch can be made again from its offset alone.
#[derive(Debug, Clone, Copy)]
struct Payload(u64);

impl Payload {
    fn fill(&self, offset: u64, out: &mut [u8]) {
        for (i, byte) in out.iter_mut().enumerate() {
            let at = offset + i as u64;
            *byte = splitmix64(self.0.wrapping_add(at / 8)).to_le_bytes()[(at % 8) as usize];
        }
    }
}

/// SplitMix64's output function (Steele, Lea, Flood 2014): a good spread of bits from a counter.
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn millis(duration: Duration) -> f64 {
    // Microseconds are plenty and keep the line short.
    duration.as_micros() as f64 / 1000.0
}

/// The QUIC error code somewhere in an error's sources.
fn quic_error_code(err: &(dyn std::error::Error + 'static)) -> Option<u64> {
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

fn connection_error_code(err: &ConnectionError) -> Option<u64> {
    match err {
        ConnectionError::TransportError(err) => Some(u64::from(err.code)),
        ConnectionError::ConnectionClosed(close) => Some(u64::from(close.error_code)),
        ConnectionError::ApplicationClosed(close) => Some(close.error_code.into_inner()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn result_line_is_the_peer_contracts_result() {
        let result = DialResult {
            ok: true,
            endpoint_id: "aa".into(),
            remote_id: "bb".into(),
            alpn: "echo/0".into(),
            handshake_ms: Some(1.25),
            echo_ms: vec![0.5, 2.0],
            bytes: 26,
            error: String::new(),
            error_code: None,
        };
        assert_eq!(
            result.to_string(),
            r#"DIAL {"event":"result","ok":true,"endpoint_id":"aa","remote_id":"bb","alpn":"echo/0","handshake_ms":1.25,"echo_ms":[0.5,2],"bytes":26,"error":"","error_code":null}"#
        );
        let failed = DialResult {
            error: "connect: \"x\" \\ \u{1}".into(),
            error_code: Some(0x12a),
            ..DialResult::default()
        };
        assert_eq!(
            failed.to_string(),
            r#"DIAL {"event":"result","ok":false,"endpoint_id":"","remote_id":"","alpn":"","handshake_ms":null,"echo_ms":[],"bytes":0,"error":"connect: \"x\" \\ \u0001","error_code":298}"#
        );
    }

    #[test]
    fn payload_bytes_depend_on_seed_and_offset_only() {
        let payload = Payload(42);
        let mut whole = [0u8; 100];
        payload.fill(0, &mut whole);
        let mut part = [0u8; 37];
        payload.fill(13, &mut part);
        assert_eq!(part, whole[13..50]);
        let mut other = [0u8; 100];
        Payload(43).fill(0, &mut other);
        assert_ne!(whole, other);
        // Not a short period: no 8-byte block repeats in the first KiB.
        let mut kib = [0u8; 1024];
        payload.fill(0, &mut kib);
        let blocks: std::collections::HashSet<&[u8]> = kib.chunks(8).collect();
        assert_eq!(blocks.len(), 128);
    }
}
