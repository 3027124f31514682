//! The application end to end over loopback: a real iroh client (the same profile and crypto
//! provider) dials [`fw_app::run`] and echoes payloads from empty to well past every window,
//! while the console is read and commanded like a board's; and the board dials another board
//! (`dial`).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fw_app::platform::{Boot, Clock, ConsoleSink, Platform, ResetReason, UnknownHeap};
use fw_app::profile::{self, ECHO_ALPN};
use fw_app::{Config, Exit, SecretKey};
use iroh::endpoint::{Connection, VarInt};
use iroh::{Endpoint, EndpointAddr};
use tokio::sync::{mpsc, oneshot};

const STEP: Duration = Duration::from_secs(20);

/// A console that keeps every line and wakes waiters.
#[derive(Default)]
struct Recorder {
    lines: Mutex<Vec<String>>,
    changed: tokio::sync::Notify,
}

impl ConsoleSink for Recorder {
    fn write_line(&self, line: &str) {
        self.lines.lock().unwrap().push(line.to_string());
        self.changed.notify_waiters();
    }
}

impl Recorder {
    fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    /// Waits until `count` lines after the prefix contain `needle`; returns the last such line.
    async fn wait_for_nth(&self, needle: &str, count: usize) -> String {
        let deadline = Instant::now() + STEP;
        loop {
            let notified = self.changed.notified();
            let matching: Vec<String> = self
                .lines()
                .into_iter()
                .filter(|l| l.contains(needle))
                .collect();
            if matching.len() >= count {
                return matching[count - 1].clone();
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || tokio::time::timeout(left, notified).await.is_err() {
                panic!(
                    "no {count}x {needle:?} on the console within {STEP:?}; got:\n{}",
                    self.lines().join("\n")
                );
            }
        }
    }

    async fn wait_for(&self, needle: &str) -> String {
        self.wait_for_nth(needle, 1).await
    }
}

struct StartClock(Instant);

impl Clock for StartClock {
    fn uptime_ms(&self) -> u64 {
        self.0.elapsed().as_millis() as u64
    }
}

/// The text after the ESP-IDF prefix `I (<ms>) irohconf_fw: `.
fn message(line: &str) -> &str {
    let (prefix, rest) = line.split_once(": ").expect("a prefixed line");
    assert!(
        prefix.starts_with("I (") || prefix.starts_with("W (") || prefix.starts_with("E ("),
        "{line}"
    );
    assert!(prefix.ends_with(") irohconf_fw"), "{line}");
    rest
}

/// A running application and what the test holds to drive it.
struct Board {
    console: Arc<Recorder>,
    input: mpsc::Sender<Vec<u8>>,
    stop: Option<oneshot::Sender<()>>,
    done: tokio::task::JoinHandle<Vec<Exit>>,
    secret: SecretKey,
}

impl Board {
    /// Starts the application; `boots` is how many boots to run (each `reset` starts the next).
    async fn start(boots: u32) -> Self {
        Self::start_with(boots, |_| {}).await
    }

    /// Starts the application with a configuration changed by `tweak`.
    async fn start_with(boots: u32, tweak: impl FnOnce(&mut Config)) -> Self {
        let console = Arc::new(Recorder::default());
        let (input, mut input_rx) = mpsc::channel(16);
        let (stop, stop_rx) = oneshot::channel::<()>();
        let secret = SecretKey::generate();
        let mut config = Config::new(secret.clone(), "127.0.0.1:0".parse().unwrap());
        tweak(&mut config);
        let sink = console.clone();
        let done = tokio::spawn(async move {
            let mut stop_rx = stop_rx;
            let mut exits = Vec::new();
            for number in 1..=boots {
                let platform = Platform {
                    clock: Arc::new(StartClock(Instant::now())),
                    heap: Arc::new(UnknownHeap),
                    console: sink.clone(),
                };
                let reason = if number == 1 {
                    ResetReason::PowerOn
                } else {
                    ResetReason::Software
                };
                let stop = async {
                    let _ = (&mut stop_rx).await;
                };
                let exit = fw_app::run(
                    &config,
                    &platform,
                    Boot { number, reason },
                    &mut input_rx,
                    stop,
                )
                .await
                .expect("the application starts");
                exits.push(exit);
                if exit == Exit::Stopped {
                    break;
                }
            }
            exits
        });
        let board = Board {
            console,
            input,
            stop: Some(stop),
            done,
            secret,
        };
        board
            .console
            .wait_for("Router started, accepting connections")
            .await;
        board
    }

    /// The address from the latest `Long ticket:` line.
    fn addr(&self) -> EndpointAddr {
        let line = self
            .console
            .lines()
            .into_iter()
            .rev()
            .find(|l| l.contains("Long ticket:  "))
            .unwrap();
        let ticket: iroh_tickets::endpoint::EndpointTicket = message(&line)
            .strip_prefix("  Long ticket:  ")
            .unwrap()
            .parse()
            .expect("the ticket parses");
        ticket.endpoint_addr().clone()
    }

    async fn type_line(&self, bytes: &[u8]) {
        self.input.send(bytes.to_vec()).await.unwrap();
    }

    /// The latest `Long ticket:` line's ticket, as typed after `dial`.
    fn ticket(&self) -> String {
        let line = self
            .console
            .lines()
            .into_iter()
            .rev()
            .find(|l| l.contains("Long ticket:  "))
            .unwrap();
        message(&line)
            .strip_prefix("  Long ticket:  ")
            .unwrap()
            .to_string()
    }

    /// Types a `dial` line and returns the `nth` DIAL result line's JSON.
    async fn dial(&self, args: &str, nth: usize) -> String {
        self.type_line(format!("dial {args}\r").as_bytes()).await;
        let line = self.console.wait_for_nth("DIAL {", nth).await;
        message(&line).strip_prefix("DIAL ").unwrap().to_string()
    }

    async fn status(&self, nth: usize) -> String {
        self.type_line(b"status\r").await;
        message(&self.console.wait_for_nth("STATUS {", nth).await).to_string()
    }

    async fn stop(mut self) -> Vec<Exit> {
        self.stop.take().unwrap().send(()).unwrap();
        tokio::time::timeout(STEP, self.done)
            .await
            .expect("the application stops")
            .unwrap()
    }
}

async fn client() -> Endpoint {
    profile::bind_endpoint(
        SecretKey::generate(),
        "127.0.0.1:0".parse().unwrap(),
        profile::crypto_provider(),
    )
    .await
    .expect("the client binds")
}

/// One echo on a stream of `connection`, as iroh's echo client does it.
async fn echo_once(connection: &Connection, payload: &[u8]) -> Vec<u8> {
    let (mut send, mut recv) = connection.open_bi().await.expect("open a stream");
    // Write and read at once: a payload past the windows only flows while the echo is read.
    let writer = async {
        send.write_all(payload).await.expect("write");
        send.finish().expect("finish");
    };
    let reader = async {
        recv.read_to_end(payload.len() + 1)
            .await
            .expect("read the echo")
    };
    let ((), echoed) = tokio::join!(writer, reader);
    echoed
}

fn payload(len: usize) -> Vec<u8> {
    // Not a repeating pattern with a short period, so a misplaced chunk shows.
    (0..len)
        .map(|i| ((i * 7919) >> 3) as u8 ^ (i as u8))
        .collect()
}

#[tokio::test(flavor = "current_thread")]
async fn echo_from_empty_to_past_every_window() {
    let board = Board::start(1).await;
    let addr = board.addr();
    assert_eq!(addr.id, board.secret.public());
    assert_eq!(
        addr.addrs.len(),
        1,
        "the ticket names exactly the bound address"
    );
    let client = client().await;

    let sizes = [0usize, 1, 1024, 64 * 1024, 1024 * 1024];
    let mut total = 0u64;
    for (i, &size) in sizes.iter().enumerate() {
        let connection = tokio::time::timeout(STEP, client.connect(addr.clone(), ECHO_ALPN))
            .await
            .expect("connect in time")
            .expect("connect");
        assert_eq!(connection.remote_id(), board.secret.public());
        assert_eq!(connection.alpn(), ECHO_ALPN);
        let sent = payload(size);
        let echoed = tokio::time::timeout(STEP, echo_once(&connection, &sent))
            .await
            .expect("echo in time");
        assert_eq!(echoed.len(), sent.len(), "echo of {size} bytes");
        assert!(echoed == sent, "echo of {size} bytes differs");
        connection.close(VarInt::from_u32(0), b"bye!");
        total += size as u64;

        let n = i + 1;
        board
            .console
            .wait_for_nth("Accepted connection from ", n)
            .await;
        let copied = board.console.wait_for_nth("Copied over ", n).await;
        assert_eq!(message(&copied), format!("Copied over {size} byte(s)"));
        board.console.wait_for_nth("Connection closed", n).await;
    }
    let accepted = board.console.wait_for("Accepted connection from ").await;
    assert_eq!(
        message(&accepted),
        format!("Accepted connection from {}", client.id())
    );

    let status = board.status(1).await;
    assert!(
        status.contains(&format!(
            r#""open_connections":0,"connections_served":{},"bytes_echoed":{total},"heap_free":null,"heap_min":null}}"#,
            sizes.len()
        )),
        "{status}"
    );
    client.close().await;
    assert_eq!(board.stop().await, vec![Exit::Stopped]);
}

#[tokio::test(flavor = "current_thread")]
async fn several_streams_one_after_another_on_one_connection() {
    let board = Board::start(1).await;
    let client = client().await;
    let connection = client
        .connect(board.addr(), ECHO_ALPN)
        .await
        .expect("connect");
    for size in [10usize, 20_000, 3] {
        let sent = payload(size);
        let echoed = tokio::time::timeout(STEP, echo_once(&connection, &sent))
            .await
            .expect("echo in time");
        assert!(echoed == sent, "echo of {size} bytes differs");
    }
    connection.close(VarInt::from_u32(0), b"bye!");
    board.console.wait_for("Connection closed").await;
    let copied: Vec<String> = board
        .console
        .lines()
        .iter()
        .filter(|l| l.contains("Copied over"))
        .map(|l| message(l).to_string())
        .collect();
    assert_eq!(
        copied,
        [
            "Copied over 10 byte(s)",
            "Copied over 20000 byte(s)",
            "Copied over 3 byte(s)"
        ]
    );
    client.close().await;
    board.stop().await;
}

#[tokio::test(flavor = "current_thread")]
async fn an_alpn_the_board_does_not_serve_is_refused() {
    let board = Board::start(1).await;
    let client = client().await;
    let refused = tokio::time::timeout(STEP, client.connect(board.addr(), b"iroh-example/echo/0"))
        .await
        .expect("refused in time");
    let err = refused.expect_err("an unknown ALPN must be refused");
    // TLS alert 120 no_application_protocol, as QUIC CRYPTO_ERROR 0x0178.
    assert!(
        format!("{err:?}").contains("0x178")
            || format!("{err:?}")
                .to_lowercase()
                .contains("no_application_protocol")
            || err.to_string().contains("120"),
        "{err:?}"
    );
    client.close().await;
    board.stop().await;
}

#[tokio::test(flavor = "current_thread")]
async fn console_commands_and_garbage() {
    let board = Board::start(2).await;
    let id_line = message(&board.console.wait_for("  Endpoint ID: ").await).to_string();

    board.type_line(b"help\r\n").await;
    board
        .console
        .wait_for("  reset   restart the application")
        .await;

    board.type_line(b"id\r").await;
    assert_eq!(
        message(&board.console.wait_for_nth("  Endpoint ID: ", 2).await),
        id_line
    );

    board.type_line(b"ticket\n").await;
    let ticket = board.console.wait_for_nth("  Long ticket:  ", 2).await;
    assert_eq!(
        message(&ticket),
        message(&board.console.wait_for("  Long ticket:  ").await)
    );

    // Garbage: non-UTF-8 and control bytes, an overlong line, then a good command still works.
    board.type_line(b"\xff\xfe\x00\x1b[2J\r").await;
    let unknown = board.console.wait_for("unknown command: ").await;
    assert_eq!(
        message(&unknown),
        "unknown command: \\xff\\xfe\\x00\\x1b[2J (try help)"
    );
    assert!(unknown.starts_with("W ("), "{unknown}");
    board.type_line(&[b'z'; 1000]).await;
    board.type_line(b"\n").await;
    let long = board.console.wait_for("line too long").await;
    assert!(
        message(&long).ends_with("(line too long: 1000 bytes, max 256) (try help)"),
        "{long}"
    );
    // No heap figures on this platform: a HEAP line of nulls.
    board.type_line(b"heap\r").await;
    assert_eq!(
        message(&board.console.wait_for("HEAP {").await),
        r#"HEAP {"heap_free":null,"heap_min":null,"window_min":null,"window_peak":null}"#
    );
    // A command split across reads, with a blank line before it.
    board.type_line(b"\r\nsta").await;
    board.type_line(b"tus\r\n").await;
    let status = message(&board.console.wait_for("STATUS {").await).to_string();
    assert!(status.starts_with(r#"STATUS {"uptime_ms":"#), "{status}");
    assert!(status.ends_with(r#","open_connections":0,"connections_served":0,"bytes_echoed":0,"heap_free":null,"heap_min":null}"#), "{status}");

    // reset: Restarting..., then a whole new boot with the same id.
    board.type_line(b"reset\r").await;
    board.console.wait_for("Restarting...").await;
    let banner = board
        .console
        .wait_for("boot 2 (reset reason: software)")
        .await;
    assert_eq!(
        message(&banner),
        format!(
            "irohconf-fw {} boot 2 (reset reason: software)",
            fw_app::VERSION
        )
    );
    board
        .console
        .wait_for_nth("Router started, accepting connections", 2)
        .await;
    assert_eq!(
        message(&board.console.wait_for_nth("  Endpoint ID: ", 3).await),
        id_line
    );

    // The new boot serves echo on its new port.
    let client = client().await;
    let connection = client
        .connect(board.addr(), ECHO_ALPN)
        .await
        .expect("connect after reset");
    assert_eq!(echo_once(&connection, b"after reset").await, b"after reset");
    connection.close(VarInt::from_u32(0), b"bye!");
    client.close().await;

    let lines = board.console.lines();
    let first = message(&lines[0]).to_string();
    assert_eq!(
        first,
        format!(
            "irohconf-fw {} boot 1 (reset reason: poweron)",
            fw_app::VERSION
        )
    );
    assert_eq!(board.stop().await, vec![Exit::Reset, Exit::Stopped]);
}

#[tokio::test(flavor = "current_thread")]
async fn a_bind_address_in_use_is_a_clear_error() {
    let taken = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let config = Config::new(SecretKey::generate(), taken.local_addr().unwrap());
    let console = Arc::new(Recorder::default());
    let platform = Platform {
        clock: Arc::new(StartClock(Instant::now())),
        heap: Arc::new(UnknownHeap),
        console: console.clone(),
    };
    let (_input, mut input_rx) = mpsc::channel(1);
    let boot = Boot {
        number: 1,
        reason: ResetReason::PowerOn,
    };
    let err = fw_app::run(
        &config,
        &platform,
        boot,
        &mut input_rx,
        std::future::pending(),
    )
    .await
    .expect_err("the port is taken");
    assert!(
        err.to_string().contains("cannot bind the endpoint"),
        "{err}"
    );
    let failed = console.wait_for("Startup failed: ").await;
    assert!(failed.starts_with("E ("), "{failed}");
}

/// The string value of `"field":"..."` in a one-line JSON object (no escapes in the values read
/// here).
fn json_str<'a>(json: &'a str, field: &str) -> &'a str {
    let key = format!("\"{field}\":\"");
    let start = json
        .find(&key)
        .unwrap_or_else(|| panic!("no {field} in {json}"))
        + key.len();
    let end = json[start..].find('"').unwrap() + start;
    &json[start..end]
}

#[tokio::test(flavor = "current_thread")]
async fn a_board_dials_another_board_and_echoes() {
    let server = Board::start(1).await;
    let client = Board::start(1).await;
    let result = client
        .dial(&format!("{} 100000 3", server.ticket()), 1)
        .await;
    assert!(
        result.contains(r#""event":"result","ok":true,"#),
        "{result}"
    );
    assert_eq!(
        json_str(&result, "endpoint_id"),
        client.secret.public().to_string()
    );
    assert_eq!(
        json_str(&result, "remote_id"),
        server.secret.public().to_string()
    );
    assert_eq!(json_str(&result, "alpn"), "echo/0");
    assert_eq!(json_str(&result, "error"), "");
    assert!(result.contains(r#""bytes":300000,"#), "{result}");
    assert!(
        result.ends_with(r#""error":"","error_code":null}"#),
        "{result}"
    );
    let echoes = result.split("\"echo_ms\":[").nth(1).unwrap();
    let echoes = &echoes[..echoes.find(']').unwrap()];
    assert_eq!(echoes.split(',').count(), 3, "{result}");
    assert!(!result.contains(r#""handshake_ms":null"#), "{result}");

    // The server saw one connection of three streams, from the client board's id.
    server.console.wait_for("Connection closed").await;
    let accepted = server.console.wait_for("Accepted connection from ").await;
    assert_eq!(
        message(&accepted),
        format!("Accepted connection from {}", client.secret.public())
    );
    server
        .console
        .wait_for_nth("Copied over 100000 byte(s)", 3)
        .await;

    // A handshake only, and a payload past every window.
    let result = client.dial(&format!("{} 0 0", server.ticket()), 2).await;
    assert!(
        result.contains(r#""ok":true,"#) && result.contains(r#""echo_ms":[],"bytes":0,"#),
        "{result}"
    );
    let result = client
        .dial(&format!("{} 1048576 1", server.ticket()), 3)
        .await;
    assert!(
        result.contains(r#""ok":true,"#) && result.contains(r#""bytes":1048576,"#),
        "{result}"
    );
    client.stop().await;
    server.stop().await;
}

#[tokio::test(flavor = "current_thread")]
async fn a_dial_to_a_wrong_id_is_refused_by_the_board() {
    let server = Board::start(1).await;
    let client = Board::start(1).await;
    // The server's address under another endpoint's id: the server cannot prove it holds it.
    let impostor = SecretKey::generate().public();
    let addr = EndpointAddr::from_parts(impostor, server.addr().addrs);
    let ticket = iroh_tickets::endpoint::EndpointTicket::new(addr).to_string();
    let result = client.dial(&format!("{ticket} 13 1"), 1).await;
    assert!(result.contains(r#""ok":false,"#), "{result}");
    assert_eq!(json_str(&result, "remote_id"), impostor.to_string());
    assert!(
        json_str(&result, "error").starts_with("connect: "),
        "{result}"
    );
    assert!(
        result.contains(r#""handshake_ms":null,"echo_ms":[],"bytes":0,"#),
        "{result}"
    );
    // The refusal is the client's: its TLS alert closes the handshake, nothing is echoed.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        !server
            .console
            .lines()
            .iter()
            .any(|l| l.contains("Accepted connection") || l.contains("Copied over")),
        "{:?}",
        server.console.lines()
    );
    client.stop().await;
    server.stop().await;
}

#[tokio::test(flavor = "current_thread")]
async fn dial_arguments_are_checked_and_one_dial_runs_at_a_time() {
    let server = Board::start(1).await;
    let client = Board::start(1).await;
    let result = client.dial("", 1).await;
    assert_eq!(
        json_str(&result, "error"),
        "usage: dial <ticket> [size] [count]"
    );
    assert!(result.contains(r#""ok":false,"#), "{result}");
    assert_eq!(
        json_str(&result, "endpoint_id"),
        client.secret.public().to_string()
    );
    let result = client.dial("endpointnotaticket", 2).await;
    assert!(
        json_str(&result, "error").starts_with("invalid ticket: "),
        "{result}"
    );
    let result = client.dial(&format!("{} 1 many", server.ticket()), 3).await;
    assert!(
        result.contains(r#"count \"many\" is not a whole number"#),
        "{result}"
    );

    // A long dial, then another one at once: the second is refused, the first completes.
    client
        .type_line(format!("dial {} 4194304 1\r", server.ticket()).as_bytes())
        .await;
    let busy = client.dial(&server.ticket(), 4).await;
    assert_eq!(json_str(&busy, "error"), "another dial is still running");
    let done = client.console.wait_for_nth("DIAL {", 5).await;
    assert!(
        done.contains(r#""ok":true,"#) && done.contains(r#""bytes":4194304,"#),
        "{done}"
    );
    client.stop().await;
    server.stop().await;
}

#[tokio::test(flavor = "current_thread")]
async fn the_example_firmware_echoes_one_stream_per_connection() {
    let board = Board::start_with(1, |config| config.example_firmware = true).await;
    let client = client().await;
    let connection = client
        .connect(board.addr(), ECHO_ALPN)
        .await
        .expect("connect");
    let first = payload(5000);
    let echoed = tokio::time::timeout(STEP, echo_once(&connection, &first))
        .await
        .expect("the first stream is echoed");
    assert!(echoed == first);
    // The second stream is never accepted: no echo comes back.
    let second =
        tokio::time::timeout(Duration::from_secs(2), echo_once(&connection, b"again")).await;
    assert!(second.is_err(), "a second stream was echoed: {second:?}");
    connection.close(VarInt::from_u32(0), b"bye!");
    board.console.wait_for("Connection closed").await;
    let copied: Vec<String> = board
        .console
        .lines()
        .iter()
        .filter(|l| l.contains("Copied over"))
        .map(|l| message(l).to_string())
        .collect();
    assert_eq!(copied, ["Copied over 5000 byte(s)"]);
    // The examples' firmware reads no console: no banner, and commands are ignored.
    board.type_line(b"status\r").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        !board
            .console
            .lines()
            .iter()
            .any(|l| l.contains("STATUS") || l.contains("irohconf-fw"))
    );
    client.close().await;
    board.stop().await;
}
