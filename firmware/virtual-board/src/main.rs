//! `virtual-board`: the firmware's application as a Linux program, its console on a
//! pseudo-terminal, so the hardware suite can drive it like a board on a serial port.
//!
//! The contract (docs/board-console.md): `virtual-board [--link PATH] [--bind ADDR]`, optional
//! `IROH_SECRET=<64 hex>`; one stdout line `console <pty path>`; the console on the pty with
//! `\r\n` line endings and no echo; `reset` restarts the application in-process with a new boot
//! log and the same id; SIGINT/SIGTERM exit 0 and remove the link.

mod pty;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use fw_app::platform::{Boot, Clock, Platform, ResetReason, UnknownHeap};
use fw_app::{Config, Exit, SecretKey};
use tokio::signal::unix::{SignalKind, signal};

const USAGE: &str =
    "usage: virtual-board [--link PATH] [--bind IP:PORT] [--example-firmware]   (env IROH_SECRET=<64 hex>)";

/// Exit code for bad flags or a bad IROH_SECRET, as the peer contract uses it.
const EXIT_INVALID_INPUT: u8 = 2;

#[derive(Debug)]
struct Args {
    link: Option<PathBuf>,
    bind: SocketAddr,
    /// Behave like the iroh ESP32 examples' firmware: their lines only, no console commands.
    example_firmware: bool,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut parsed = Args {
        link: None,
        bind: SocketAddr::from(([127, 0, 0, 1], 0)),
        example_firmware: false,
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

    // A current-thread runtime, as on the board: the firmware's concurrency is the board's.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("virtual-board: cannot start the runtime: {err}");
            remove_link(args.link.as_deref(), pty.path());
            return ExitCode::FAILURE;
        }
    };
    let mut config = Config::new(secret_key, args.bind);
    config.example_firmware = args.example_firmware;
    let code = runtime.block_on(run_board(config, &pty));
    remove_link(args.link.as_deref(), pty.path());
    code
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
        let platform = Platform {
            clock: Arc::new(BootClock(Instant::now())),
            heap: Arc::new(UnknownHeap),
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
        match fw_app::run(&config, &platform, boot, &mut input, stop).await {
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
