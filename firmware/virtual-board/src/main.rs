//! `virtual-board`: the firmware's application as a Linux program, its console on a
//! pseudo-terminal, so the hardware suite can drive it like a board on a serial port.
//!
//! The contract (docs/board-console.md): `virtual-board [--link PATH] [--bind ADDR] [--heap
//! BYTES] [--main-stack BYTES] [--example-firmware]`, optional `IROH_SECRET=<64 hex>`; one
//! stdout line `console <pty path>`; the console on the pty with `\r\n` line endings and no
//! echo; `reset` restarts the application in-process with a new boot log and the same id;
//! SIGINT/SIGTERM exit 0 and remove the link.
//!
//! The board's limits come with it: the heap budget ([`heap`]), the main task's stack, the
//! runtime the ESP32 build makes, and UDP sockets without segmentation offload
//! ([`udp_offload`]).

mod heap;
mod pty;
mod udp_offload;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use fw_app::platform::{Boot, Clock, Platform, ResetReason};
use fw_app::{Config, Exit, SecretKey};
use tokio::signal::unix::{SignalKind, signal};

const USAGE: &str = "usage: virtual-board [--link PATH] [--bind IP:PORT] [--heap BYTES] [--main-stack BYTES] [--example-firmware]   (env IROH_SECRET=<64 hex>)";

/// Exit code for bad flags or a bad IROH_SECRET, as the peer contract uses it.
const EXIT_INVALID_INPUT: u8 = 2;

/// The ESP32 main task's stack, which the firmware's runtime runs on
/// (CONFIG_ESP_MAIN_TASK_STACK_SIZE in firmware/esp32/sdkconfig.defaults).
const DEFAULT_MAIN_STACK: usize = 48 * 1024;

/// The smallest stack accepted: below it not even the runtime starts.
const MIN_MAIN_STACK: usize = 16 * 1024;

/// How much more stack the application needs here than on the chip. The same code on x86-64 at
/// opt-level 2 keeps larger values on the stack than on the 32-bit chip at opt-level "s" (and
/// runs Linux-only paths, netlink and 32-datagram socket batches): iroh's bind alone takes about
/// 100 KiB here, where the iroh ESP32 examples measured about 35 KiB for the whole of their
/// application on an ESP32 (server-esp32 README). The main task's stack is scaled by this
/// factor, so a path that needs much more stack than today still overflows it.
const HOST_STACK_FACTOR: usize = 3;

/// The stack of tokio's blocking thread, as the ESP32 build asks for it; Linux raises it to
/// PTHREAD_STACK_MIN.
const BLOCKING_THREAD_STACK: usize = 4096;

#[derive(Debug)]
struct Args {
    link: Option<PathBuf>,
    bind: SocketAddr,
    /// The heap budget: the free heap the board has left for the application. None: unlimited.
    heap: Option<usize>,
    /// The stack of the thread the application runs on (the ESP32's main task).
    main_stack: usize,
    /// Behave like the iroh ESP32 examples' firmware: their lines only, no console commands.
    example_firmware: bool,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut parsed = Args {
        link: None,
        bind: SocketAddr::from(([127, 0, 0, 1], 0)),
        heap: None,
        main_stack: DEFAULT_MAIN_STACK,
        example_firmware: false,
    };
    let bytes = |flag: &str, text: String| {
        text.parse::<usize>()
            .map_err(|_| format!("{flag}: {text:?} is not a number of bytes"))
    };
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => {
                (flag.to_string(), Some(value.to_string()))
            }
            _ => (arg.clone(), None),
        };
        let mut value = |name: &str| {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match flag.as_str() {
            "--link" => parsed.link = Some(PathBuf::from(value("--link")?)),
            "--bind" => {
                let text = value("--bind")?;
                parsed.bind = text
                    .parse()
                    .map_err(|_| format!("--bind: {text:?} is not IP:PORT"))?;
            }
            "--heap" => parsed.heap = Some(bytes("--heap", value("--heap")?)?),
            "--main-stack" => {
                parsed.main_stack = bytes("--main-stack", value("--main-stack")?)?;
                if parsed.main_stack < MIN_MAIN_STACK {
                    return Err(format!(
                        "--main-stack: {} bytes is less than {MIN_MAIN_STACK}",
                        parsed.main_stack
                    ));
                }
            }
            "--example-firmware" if inline.is_none() => parsed.example_firmware = true,
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(parsed)
}

fn secret_from_env() -> Result<SecretKey, String> {
    match std::env::var("IROH_SECRET") {
        Ok(hex) => fw_app::parse_secret_hex(&hex).map_err(|err| format!("IROH_SECRET: {err}")),
        Err(std::env::VarError::NotPresent) => Ok(SecretKey::generate()),
        Err(std::env::VarError::NotUnicode(_)) => Err("IROH_SECRET: not valid text".into()),
    }
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(err) if err.is_empty() => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(err) => {
            eprintln!("virtual-board: {err}\n{USAGE}");
            return ExitCode::from(EXIT_INVALID_INPUT);
        }
    };
    // Generated once per process: in-process resets keep it, like a secret a board keeps in flash.
    let secret_key = match secret_from_env() {
        Ok(key) => key,
        Err(err) => {
            eprintln!("virtual-board: {err}");
            return ExitCode::from(EXIT_INVALID_INPUT);
        }
    };

    let pty = match pty::Pty::open() {
        Ok(pty) => pty,
        Err(err) => {
            eprintln!("virtual-board: cannot open a pseudo-terminal: {err}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(link) = &args.link
        && let Err(err) = replace_link(link, pty.path())
    {
        eprintln!("virtual-board: --link {}: {err}", link.display());
        return ExitCode::from(EXIT_INVALID_INPUT);
    }
    println!("console {}", pty.path().display());
    if let Some(budget) = args.heap {
        heap::HEAP.set_budget(budget);
    }
    heap::HEAP.set_console_fd(pty.master_fd());

    let mut config = Config::new(secret_key, args.bind);
    config.example_firmware = args.example_firmware;
    // The application runs where the ESP32 runs it: on the main task, with its stack.
    let code = std::thread::scope(|scope| {
        let task = std::thread::Builder::new()
            .name("main".into())
            .stack_size(args.main_stack * HOST_STACK_FACTOR)
            .spawn_scoped(scope, || main_task(config, &pty));
        match task.map(|task| task.join()) {
            Ok(Ok(code)) => code,
            Ok(Err(_panicked)) => ExitCode::FAILURE,
            Err(err) => {
                eprintln!("virtual-board: cannot start the main task: {err}");
                ExitCode::FAILURE
            }
        }
    });
    remove_link(args.link.as_deref(), pty.path());
    code
}

/// The main task: a current-thread runtime with one blocking thread, as the ESP32 build makes
/// it (firmware/esp32/src/main.rs), running boot after boot.
fn main_task(config: Config, pty: &pty::Pty) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .max_blocking_threads(1)
        .thread_stack_size(BLOCKING_THREAD_STACK)
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("virtual-board: cannot start the runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(Box::pin(run_board(config, pty)))
}

/// Boots the application again and again (a `reset` on the console) until a signal stops it.
async fn run_board(config: Config, pty: &pty::Pty) -> ExitCode {
    let (mut sigint, mut sigterm) = match (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) {
        (Ok(int), Ok(term)) => (int, term),
        (Err(err), _) | (_, Err(err)) => {
            eprintln!("virtual-board: cannot handle signals: {err}");
            return ExitCode::FAILURE;
        }
    };
    let mut input = match pty.spawn_reader() {
        Ok(input) => input,
        Err(err) => {
            eprintln!("virtual-board: cannot read the pseudo-terminal: {err}");
            return ExitCode::FAILURE;
        }
    };
    let console = Arc::new(pty.sink());
    let mut boot = Boot {
        number: 1,
        reason: ResetReason::PowerOn,
    };
    loop {
        heap::HEAP.new_boot();
        let platform = Platform {
            clock: Arc::new(BootClock(Instant::now())),
            heap: Arc::new(heap::BudgetHeap),
            console: console.clone(),
        };
        let stop = async {
            tokio::select! {
                _ = sigint.recv() => {}
                _ = sigterm.recv() => {}
            }
        };
        eprintln!(
            "virtual-board: boot {} ({}), console {}",
            boot.number,
            boot.reason,
            pty.path().display()
        );
        match Box::pin(fw_app::run(&config, &platform, boot, &mut input, stop)).await {
            Ok(Exit::Reset) => {
                boot = Boot {
                    number: boot.number + 1,
                    reason: ResetReason::Software,
                }
            }
            Ok(Exit::Stopped) => return ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("virtual-board: {err}");
                return ExitCode::FAILURE;
            }
        }
    }
}

/// Milliseconds since this boot began.
struct BootClock(Instant);

impl Clock for BootClock {
    fn uptime_ms(&self) -> u64 {
        self.0.elapsed().as_millis() as u64
    }
}

/// Points `link` at the pty, replacing an old symlink; refuses to replace anything else.
fn replace_link(link: &Path, target: &Path) -> std::io::Result<()> {
    match std::fs::symlink_metadata(link) {
        Ok(meta) if meta.file_type().is_symlink() => std::fs::remove_file(link)?,
        Ok(_) => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                "exists and is not a symlink; not replacing it",
            ));
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
        Err(err) => return Err(err),
    }
    std::os::unix::fs::symlink(target, link)
}

/// Removes the link if it still points at our pty (another board may have taken it over).
fn remove_link(link: Option<&Path>, target: &Path) {
    if let Some(link) = link
        && std::fs::read_link(link).is_ok_and(|points_to| points_to == target)
        && let Err(err) = std::fs::remove_file(link)
    {
        eprintln!("virtual-board: cannot remove {}: {err}", link.display());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Args, String> {
        parse_args(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn defaults_bind_loopback() {
        let args = parse(&[]).unwrap();
        assert_eq!(args.bind, "127.0.0.1:0".parse().unwrap());
        assert!(args.link.is_none());
    }

    #[test]
    fn flags_with_spaces_or_equals() {
        let args = parse(&["--link", "/tmp/x", "--bind=127.0.0.1:7000"]).unwrap();
        assert_eq!(args.link.as_deref(), Some(Path::new("/tmp/x")));
        assert_eq!(args.bind, "127.0.0.1:7000".parse().unwrap());
    }

    #[test]
    fn memory_flags() {
        let args = parse(&[]).unwrap();
        assert_eq!((args.heap, args.main_stack), (None, 48 * 1024));
        let args = parse(&["--heap", "233984", "--main-stack=98304"]).unwrap();
        assert_eq!((args.heap, args.main_stack), (Some(233984), 98304));
        assert!(
            parse(&["--heap", "200k"])
                .unwrap_err()
                .contains("not a number of bytes")
        );
        assert!(
            parse(&["--main-stack", "4096"])
                .unwrap_err()
                .contains("less than 16384")
        );
    }

    #[test]
    fn bad_flags_say_what_is_wrong() {
        assert!(
            parse(&["--bind", "nowhere"])
                .unwrap_err()
                .contains("not IP:PORT")
        );
        assert!(parse(&["--link"]).unwrap_err().contains("needs a value"));
        assert!(parse(&["--frob"]).unwrap_err().contains("unknown argument"));
        assert!(parse(&["--example-firmware"]).unwrap().example_firmware);
        assert!(!parse(&[]).unwrap().example_firmware);
    }
}
