//! The text of every console line (without the log prefix).
//!
//! The endpoint lines are the iroh ESP32 examples' lines, character for character (note the two
//! spaces after `Long ticket:`), so a driver written for those examples reads this firmware too.

use std::fmt::{self, Display, Write as _};
use std::net::SocketAddr;

use crate::platform::{Boot, HeapWindow};

/// The console's reply to `help`, one line each.
pub const HELP: &[&str] = &[
    "commands:",
    "  help    list the commands",
    "  id      print the endpoint id",
    "  ticket  print the long ticket",
    "  status  print one STATUS line",
    "  heap    print one HEAP line and start a new heap window",
    "  dial <ticket> [size] [count]",
    "          dial a peer, echo size bytes count times, print one DIAL line",
    "  reset   restart the application",
];

/// Builders of the output lines.
pub struct Lines;

impl Lines {
    /// The first line of every boot.
    pub fn banner(version: &str, boot: Boot) -> String {
        format!(
            "irohconf-fw {version} boot {} (reset reason: {})",
            boot.number, boot.reason
        )
    }
    pub fn endpoint_bound() -> &'static str {
        "Iroh endpoint bound"
    }
    pub fn listening_on(addr: SocketAddr) -> String {
        format!("  Listening on: {addr}")
    }
    pub fn endpoint_id(id: impl Display) -> String {
        format!("  Endpoint ID: {id}")
    }
    pub fn long_ticket(ticket: impl Display) -> String {
        format!("  Long ticket:  {ticket}")
    }
    pub fn router_started() -> &'static str {
        "Router started, accepting connections"
    }
    pub fn accepted(remote: impl Display) -> String {
        format!("Accepted connection from {remote}")
    }
    pub fn copied(bytes: u64) -> String {
        format!("Copied over {bytes} byte(s)")
    }
    pub fn connection_closed() -> &'static str {
        "Connection closed"
    }
    pub fn restarting() -> &'static str {
        "Restarting..."
    }
    pub fn unknown_command(text: &str) -> String {
        format!("unknown command: {text} (try help)")
    }
}

/// The figures of one `STATUS` line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Status {
    pub uptime_ms: u64,
    pub open_connections: u64,
    pub connections_served: u64,
    pub bytes_echoed: u64,
    pub heap_free: Option<u64>,
    pub heap_min: Option<u64>,
}

/// A number, or `null` where the platform does not know it.
pub(crate) struct OrNull(pub Option<u64>);

impl Display for OrNull {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(n) => write!(f, "{n}"),
            None => f.write_str("null"),
        }
    }
}

/// `STATUS {"uptime_ms":N,...}`: the word, a space, one JSON object on one line, fields in this
/// order, `null` where the platform does not know.
impl Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "STATUS {{\"uptime_ms\":{},\"open_connections\":{},\"connections_served\":{},\"bytes_echoed\":{},\"heap_free\":{},\"heap_min\":{}}}",
            self.uptime_ms,
            self.open_connections,
            self.connections_served,
            self.bytes_echoed,
            OrNull(self.heap_free),
            OrNull(self.heap_min),
        )
    }
}

/// The figures of one `HEAP` line: the heap now, since boot, and over the window that the
/// command ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HeapReport {
    pub heap_free: Option<u64>,
    pub heap_min: Option<u64>,
    pub window: Option<HeapWindow>,
}

/// `HEAP {"heap_free":N,"heap_min":N,"window_min":N,"window_peak":N}`, `null` where the platform
/// does not know. `window_min` is the lowest free heap since the previous `heap` command (or
/// boot); `window_peak` is how far below the window's starting free heap it went.
impl Display for HeapReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "HEAP {{\"heap_free\":{},\"heap_min\":{},\"window_min\":{},\"window_peak\":{}}}",
            OrNull(self.heap_free),
            OrNull(self.heap_min),
            OrNull(self.window.map(|w| w.min_free)),
            OrNull(self.window.map(|w| w.peak())),
        )
    }
}

/// Makes received bytes safe to print on one line: printable text stays, control characters
/// and bytes that are not UTF-8 become `\xNN` (or `\u{N}` for control characters beyond ASCII).
pub fn printable(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                c if (c as u32) < 0x80 && c.is_control() => {
                    let _ = write!(out, "\\x{:02x}", c as u32);
                }
                c if c.is_control() => {
                    let _ = write!(out, "\\u{{{:x}}}", c as u32);
                }
                c => out.push(c),
            }
        }
        for byte in chunk.invalid() {
            let _ = write!(out, "\\x{byte:02x}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::ResetReason;

    #[test]
    fn the_example_lines_exactly() {
        let id = "ae58ff8833241ac82d6ff7611046ed67b5072d142c588d0063e942d9a75502b6";
        assert_eq!(Lines::endpoint_bound(), "Iroh endpoint bound");
        assert_eq!(
            Lines::listening_on("127.0.0.1:5000".parse().unwrap()),
            "  Listening on: 127.0.0.1:5000"
        );
        assert_eq!(Lines::endpoint_id(id), format!("  Endpoint ID: {id}"));
        assert_eq!(
            Lines::long_ticket("endpointabc"),
            "  Long ticket:  endpointabc"
        );
        assert_eq!(
            Lines::router_started(),
            "Router started, accepting connections"
        );
        assert_eq!(
            Lines::accepted(id),
            format!("Accepted connection from {id}")
        );
        assert_eq!(Lines::copied(0), "Copied over 0 byte(s)");
        assert_eq!(Lines::copied(1048576), "Copied over 1048576 byte(s)");
        assert_eq!(Lines::connection_closed(), "Connection closed");
        assert_eq!(Lines::restarting(), "Restarting...");
        assert_eq!(
            Lines::unknown_command("foo"),
            "unknown command: foo (try help)"
        );
    }

    #[test]
    fn banner() {
        let boot = Boot {
            number: 3,
            reason: ResetReason::Software,
        };
        assert_eq!(
            Lines::banner("0.1.0", boot),
            "irohconf-fw 0.1.0 boot 3 (reset reason: software)"
        );
        let boot = Boot {
            number: 1,
            reason: ResetReason::PowerOn,
        };
        assert_eq!(
            Lines::banner("0.1.0", boot),
            "irohconf-fw 0.1.0 boot 1 (reset reason: poweron)"
        );
    }

    #[test]
    fn status_line_with_and_without_heap() {
        let status = Status {
            uptime_ms: 1234,
            open_connections: 1,
            connections_served: 7,
            bytes_echoed: 65536,
            heap_free: None,
            heap_min: None,
        };
        assert_eq!(
            status.to_string(),
            r#"STATUS {"uptime_ms":1234,"open_connections":1,"connections_served":7,"bytes_echoed":65536,"heap_free":null,"heap_min":null}"#
        );
        let status = Status {
            heap_free: Some(180000),
            heap_min: Some(150000),
            ..status
        };
        assert_eq!(
            status.to_string(),
            r#"STATUS {"uptime_ms":1234,"open_connections":1,"connections_served":7,"bytes_echoed":65536,"heap_free":180000,"heap_min":150000}"#
        );
    }

    #[test]
    fn heap_line_with_and_without_figures() {
        assert_eq!(
            HeapReport::default().to_string(),
            r#"HEAP {"heap_free":null,"heap_min":null,"window_min":null,"window_peak":null}"#
        );
        let report = HeapReport {
            heap_free: Some(200_000),
            heap_min: Some(150_000),
            window: Some(HeapWindow {
                start_free: 210_000,
                min_free: 160_000,
            }),
        };
        assert_eq!(
            report.to_string(),
            r#"HEAP {"heap_free":200000,"heap_min":150000,"window_min":160000,"window_peak":50000}"#
        );
    }

    #[test]
    fn printable_escapes_what_would_break_a_line() {
        assert_eq!(printable(b"plain text"), "plain text");
        assert_eq!(printable(b"a\x1b[31mb"), "a\\x1b[31mb");
        assert_eq!(printable(b"\x00\x7f"), "\\x00\\x7f");
        assert_eq!(printable(b"\xc3\x28"), "\\xc3(");
        assert_eq!(printable("grüß".as_bytes()), "grüß");
        assert_eq!(printable("\u{85}".as_bytes()), "\\u{85}");
        assert_eq!(printable(b"back\\slash"), "back\\\\slash");
    }
}
