//! The virtual board as a driver sees it: a process that prints `console <pty>`, a serial port
//! carrying the boot log, commands, resets and echo, and a clean exit on SIGTERM; and an ESP32's
//! heap: figures in STATUS and HEAP, and a crash when the budget runs out.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use fw_app::SecretKey;
use fw_app::profile::{self, ECHO_ALPN};
use iroh::endpoint::VarInt;
use nix::sys::termios::{SetArg, cfmakeraw, tcgetattr, tcsetattr};

const STEP: Duration = Duration::from_secs(20);

/// A running virtual board and its console, opened as a driver opens a serial port.
struct Board {
    child: Child,
    port: File,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
    pty: PathBuf,
}

impl Board {
    fn start(args: &[&str], secret: Option<&str>) -> Board {
        let mut command = Command::new(env!("CARGO_BIN_EXE_virtual-board"));
        command
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        match secret {
            Some(secret) => command.env("IROH_SECRET", secret),
            None => command.env_remove("IROH_SECRET"),
        };
        let mut child = command.spawn().expect("start virtual-board");
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        stdout.read_line(&mut first).expect("the console line");
        let pty = PathBuf::from(
            first
                .trim_end()
                .strip_prefix("console ")
                .unwrap_or_else(|| panic!("{first:?}")),
        );
        // Nothing more may come on stdout; check that at the end.
        std::thread::spawn(move || {
            let mut rest = String::new();
            let _ = stdout.read_to_string(&mut rest);
            assert!(rest.is_empty(), "stdout after the console line: {rest:?}");
        });

        let port = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(nix::libc::O_NOCTTY)
            .open(&pty)
            .expect("open the console");
        let mut termios = tcgetattr(&port).unwrap();
        cfmakeraw(&mut termios);
        tcsetattr(&port, SetArg::TCSANOW, &termios).unwrap();
        let reader = port.try_clone().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(reader);
            let mut line = Vec::new();
            while reader.read_until(b'\n', &mut line).is_ok_and(|n| n > 0) {
                let text = String::from_utf8(line.clone()).expect("console output is UTF-8");
                assert!(
                    text.ends_with("\r\n"),
                    "console lines end with \\r\\n: {text:?}"
                );
                if tx.send(text.trim_end_matches("\r\n").to_string()).is_err() {
                    return;
                }
                line.clear();
            }
        });
        Board {
            child,
            port,
            lines,
            seen: Vec::new(),
            pty,
        }
    }

    /// Reads console lines until one contains `needle`; returns it.
    fn wait_for(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + STEP;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(_) => panic!(
                    "no {needle:?} on the console within {STEP:?}; got:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }

    fn send(&mut self, bytes: &[u8]) {
        self.port.write_all(bytes).unwrap();
    }

    /// SIGTERM, then the exit status.
    fn terminate(mut self) -> std::process::ExitStatus {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
        let deadline = Instant::now() + STEP;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("virtual-board did not exit within {STEP:?} of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Board {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The message after the ESP-IDF prefix.
fn message(line: &str) -> &str {
    let (prefix, rest) = line
        .split_once(" irohconf_fw: ")
        .unwrap_or_else(|| panic!("no prefix: {line:?}"));
    assert!(
        prefix.len() > 4 && prefix[1..].starts_with(" (") && prefix.ends_with(')'),
        "{line:?}"
    );
    rest
}

#[test]
fn boots_answers_commands_survives_garbage_resets_and_exits() {
    let dir = std::env::temp_dir().join(format!("virtual-board-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let link = dir.join("ttyBOARD");
    // A stale link from an earlier run is replaced.
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink("/nonexistent", &link).unwrap();

    let mut board = Board::start(&["--link", link.to_str().unwrap()], None);
    assert_eq!(std::fs::read_link(&link).unwrap(), board.pty);

    // The boot log was buffered in the pty before the port was opened.
    let banner = board.wait_for("irohconf-fw ");
    assert_eq!(
        message(&banner),
        format!(
            "irohconf-fw {} boot 1 (reset reason: poweron)",
            fw_app::VERSION
        )
    );
    board.wait_for("Iroh endpoint bound");
    let listening = board.wait_for("  Listening on: ");
    assert!(
        message(&listening).starts_with("  Listening on: 127.0.0.1:"),
        "{listening}"
    );
    let id = message(&board.wait_for("  Endpoint ID: ")).to_string();
    let ticket = message(&board.wait_for("  Long ticket:  ")).to_string();
    board.wait_for("Router started, accepting connections");

    board.send(b"id\r");
    assert_eq!(message(&board.wait_for("  Endpoint ID: ")), id);
    board.send(b"ticket\r\n");
    assert_eq!(message(&board.wait_for("  Long ticket:  ")), ticket);

    // Garbage bytes, no echo of what was typed, and the console keeps working.
    board.send(b"\xff\xfe\x00\x07garbage\x1b[A\r");
    assert_eq!(
        message(&board.wait_for("unknown command")),
        "unknown command: \\xff\\xfe\\x00\\x07garbage\\x1b[A (try help)"
    );
    board.send(&[b'q'; 4000]);
    board.send(b"\n");
    assert!(message(&board.wait_for("line too long")).contains("4000 bytes"));
    board.send(b"help\n");
    board.wait_for("  status  print one STATUS line");

    board.send(b"status\r");
    let status = message(&board.wait_for("STATUS ")).to_string();
    assert!(status.starts_with(r#"STATUS {"uptime_ms":"#), "{status}");
    assert!(status.ends_with(r#","open_connections":0,"connections_served":0,"bytes_echoed":0,"heap_free":null,"heap_min":null}"#), "{status}");
    assert!(
        !board
            .seen
            .iter()
            .any(|l| l.contains("status\r") || l == "status"),
        "input must not be echoed"
    );

    board.send(b"reset\r");
    board.wait_for("Restarting...");
    let banner = board.wait_for("irohconf-fw ");
    assert!(
        banner.ends_with("boot 2 (reset reason: software)"),
        "{banner}"
    );
    assert_eq!(
        message(&board.wait_for("  Endpoint ID: ")),
        id,
        "the id survives a reset"
    );
    board.wait_for("Router started, accepting connections");

    let status = board.terminate();
    assert!(status.success(), "exit status {status}");
    assert!(
        std::fs::symlink_metadata(&link).is_err(),
        "the link is removed on exit"
    );
    let _ = std::fs::remove_dir(&dir);
}

#[test]
fn iroh_secret_fixes_the_id_and_echo_counts_in_status() {
    let secret_hex = "5a".repeat(32);
    let expected = fw_app::parse_secret_hex(&secret_hex).unwrap().public();
    let mut board = Board::start(&["--bind", "127.0.0.1:0"], Some(&secret_hex));
    let id = message(&board.wait_for("  Endpoint ID: ")).to_string();
    assert_eq!(id, format!("  Endpoint ID: {expected}"));
    let ticket_line = board.wait_for("  Long ticket:  ");
    let ticket: iroh_tickets::endpoint::EndpointTicket = message(&ticket_line)
        .strip_prefix("  Long ticket:  ")
        .unwrap()
        .parse()
        .unwrap();
    board.wait_for("Router started, accepting connections");

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let payload: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    let echoed = runtime.block_on(async {
        let client = profile::bind_endpoint(
            SecretKey::generate(),
            "127.0.0.1:0".parse().unwrap(),
            profile::crypto_provider(),
        )
        .await
        .unwrap();
        let connection = tokio::time::timeout(
            STEP,
            client.connect(ticket.endpoint_addr().clone(), ECHO_ALPN),
        )
        .await
        .expect("connect in time")
        .expect("connect");
        let (mut send, mut recv) = connection.open_bi().await.unwrap();
        let writer = async {
            send.write_all(&payload).await.unwrap();
            send.finish().unwrap();
        };
        let reader = async { recv.read_to_end(payload.len() + 1).await.unwrap() };
        let ((), echoed) = tokio::time::timeout(STEP, async { tokio::join!(writer, reader) })
            .await
            .expect("echo in time");
        connection.close(VarInt::from_u32(0), b"bye!");
        client.close().await;
        echoed
    });
    assert!(echoed == payload, "the echo differs");
    board.wait_for("Accepted connection from ");
    assert_eq!(
        message(&board.wait_for("Copied over ")),
        "Copied over 100000 byte(s)"
    );
    board.wait_for("Connection closed");

    board.send(b"status\r\n");
    let status = message(&board.wait_for("STATUS ")).to_string();
    assert!(
        status.contains(r#""open_connections":0,"connections_served":1,"bytes_echoed":100000,"#),
        "{status}"
    );
    assert!(board.terminate().success());
}

#[test]
fn bad_input_exits_2_with_the_reason() {
    let bad_secret = Command::new(env!("CARGO_BIN_EXE_virtual-board"))
        .env("IROH_SECRET", "not-hex")
        .output()
        .unwrap();
    assert_eq!(bad_secret.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&bad_secret.stderr)
            .contains("IROH_SECRET: a secret key is 64 hex digits")
    );
    assert!(bad_secret.stdout.is_empty());

    let bad_flag = Command::new(env!("CARGO_BIN_EXE_virtual-board"))
        .arg("--bind")
        .arg("nowhere")
        .output()
        .unwrap();
    assert_eq!(bad_flag.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad_flag.stderr).contains("not IP:PORT"));
}

/// The heap budget of an ESP32-S3 with 8 MiB of PSRAM (`fixtures/boards/esp32s3-devkitc-usb.yaml`):
/// `memory.internal_heap` plus `memory.psram`. Without PSRAM a handshake of iroh's own client
/// does not fit the virtual board (see docs/board-console.md, the virtual board).
fn profile_heap_budget() -> usize {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/boards/esp32s3-devkitc-usb.yaml"
    );
    let text = std::fs::read_to_string(path).expect("the virtual board profile");
    let field = |name: &str| -> usize {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(&format!("{name}:")))
            .unwrap_or_else(|| panic!("no {name} in {path}"))
            .split('#')
            .next()
            .unwrap()
            .trim()
            .parse()
            .unwrap_or_else(|err| panic!("{name} in {path}: {err}"))
    };
    field("internal_heap") + field("psram")
}

/// A number field of a one-line JSON object.
fn json_u64(json: &str, field: &str) -> u64 {
    let key = format!("\"{field}\":");
    let start = json
        .find(&key)
        .unwrap_or_else(|| panic!("no {field} in {json}"))
        + key.len();
    let digits: String = json[start..]
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    digits
        .parse()
        .unwrap_or_else(|_| panic!("{field} is not a number in {json}"))
}

impl Board {
    /// Sends `heap` and returns the HEAP line's JSON.
    fn heap(&mut self) -> String {
        self.send(b"heap\r");
        message(&self.wait_for("HEAP {"))
            .strip_prefix("HEAP ")
            .unwrap()
            .to_string()
    }

    fn ticket(&mut self) -> iroh_tickets::endpoint::EndpointTicket {
        message(&self.wait_for("  Long ticket:  "))
            .strip_prefix("  Long ticket:  ")
            .unwrap()
            .parse()
            .unwrap()
    }

    /// Waits for the process to end on its own; its exit status.
    fn wait_exit(&mut self) -> std::process::ExitStatus {
        let deadline = Instant::now() + STEP;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the board still runs after {STEP:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Connects to `ticket`, echoes `size` bytes (none: a handshake only), closes. Bounded by
/// `limit`; returns how it went.
fn echo_client(
    ticket: &iroh_tickets::endpoint::EndpointTicket,
    size: Option<usize>,
    limit: Duration,
) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let client = profile::bind_endpoint(
            SecretKey::generate(),
            "127.0.0.1:0".parse().unwrap(),
            profile::crypto_provider(),
        )
        .await
        .unwrap();
        let run = async {
            let connection = client
                .connect(ticket.endpoint_addr().clone(), ECHO_ALPN)
                .await
                .map_err(|err| format!("connect: {err}"))?;
            if let Some(size) = size {
                let payload: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
                let (mut send, mut recv) = connection.open_bi().await.map_err(|e| e.to_string())?;
                let writer = async {
                    send.write_all(&payload).await.map_err(|e| e.to_string())?;
                    send.finish().map_err(|e| e.to_string())
                };
                let reader = async { recv.read_to_end(size + 1).await.map_err(|e| e.to_string()) };
                let (written, echoed) = tokio::join!(writer, reader);
                written?;
                if echoed? != payload {
                    return Err("the echo differs".to_string());
                }
            }
            connection.close(VarInt::from_u32(0), b"bye!");
            Ok(())
        };
        let result = match tokio::time::timeout(limit, run).await {
            Ok(result) => result,
            Err(_) => Err(format!("no answer within {limit:?}")),
        };
        client.close().await;
        result
    })
}

#[test]
fn the_profile_heap_serves_handshakes_and_a_1_mib_echo_and_reports_peaks() {
    let budget = profile_heap_budget();
    let mut board = Board::start(&["--heap", &budget.to_string()], None);
    let ticket = board.ticket();
    board.wait_for("Router started, accepting connections");

    let idle = board.heap();
    let free_idle = json_u64(&idle, "heap_free");
    assert!(free_idle > 0 && free_idle <= budget as u64, "{idle}");

    echo_client(&ticket, None, STEP).expect("a handshake within the budget");
    board.wait_for("Connection closed");
    let handshake = board.heap();
    let handshake_peak = json_u64(&handshake, "window_peak");
    assert!(handshake_peak > 0, "{handshake}");

    echo_client(&ticket, Some(1024 * 1024), STEP).expect("a 1 MiB echo within the budget");
    assert_eq!(
        message(&board.wait_for("Copied over ")),
        "Copied over 1048576 byte(s)"
    );
    board.wait_for("Connection closed");
    let echo = board.heap();
    let echo_peak = json_u64(&echo, "window_peak");
    assert!(echo_peak > 0, "{echo}");

    board.send(b"status\r");
    let status = message(&board.wait_for("STATUS ")).to_string();
    let (free, min) = (
        json_u64(&status, "heap_free"),
        json_u64(&status, "heap_min"),
    );
    assert!(min <= free && free <= budget as u64, "{status}");
    assert!(
        budget as u64 - min >= budget as u64 - free_idle + handshake_peak.max(echo_peak),
        "heap_min {min} must cover the peaks: {status}"
    );
    eprintln!(
        "heap budget {budget} B: {} B in use idle; peak above idle: handshake {handshake_peak} B, \
         1 MiB echo {echo_peak} B; lowest free since boot {min} B",
        budget as u64 - free_idle
    );
    assert!(board.terminate().success());
}

#[test]
fn a_heap_too_small_for_a_handshake_crashes_the_board_as_an_esp32_does() {
    // How much a boot and a handshake take, on a board with room to spare.
    let roomy = 64 * 1024 * 1024u64;
    let mut board = Board::start(&["--heap", &roomy.to_string()], None);
    let ticket = board.ticket();
    board.wait_for("Router started, accepting connections");
    // iroh allocates for a moment after the bind; let that pass into the window.
    std::thread::sleep(Duration::from_millis(1500));
    let idle = board.heap();
    // The most charged since the application became ready (iroh allocates for a moment right
    // after the bind).
    let booted = roomy - json_u64(&idle, "window_min");
    echo_client(&ticket, None, STEP).expect("a handshake");
    board.wait_for("Connection closed");
    let handshake = json_u64(&board.heap(), "window_peak");
    assert!(board.terminate().success());

    // Room to boot, and for half a handshake.
    let budget = booted + handshake / 2;
    let mut board = Board::start(&["--heap", &budget.to_string()], None);
    let ticket = board.ticket();
    board.wait_for("Router started, accepting connections");
    board.send(b"status\r");
    board.wait_for("STATUS ");

    let dialed = echo_client(&ticket, None, Duration::from_secs(5));
    assert!(dialed.is_err(), "a handshake fit in {budget} bytes");
    let failed = board.wait_for("memory allocation of ");
    assert!(failed.ends_with(" bytes failed"), "{failed:?}");
    let abort = board.wait_for("abort() was called");
    assert!(
        abort.starts_with("abort() was called on core 0: heap exhausted (")
            && abort.ends_with(&format!(" of {budget} bytes in use)")),
        "{abort:?}"
    );
    let status = board.wait_exit();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(nix::libc::SIGABRT), "{status}");
}
