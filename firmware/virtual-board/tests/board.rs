//! The virtual board as a driver sees it: a process that prints `console <pty>`, a serial port
//! carrying the boot log, commands, resets and echo, and a clean exit on SIGTERM.

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
