//! The console's pseudo-terminal: the master side is the board's UART, the slave side is the
//! "serial port" a driver opens.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use fw_app::platform::ConsoleSink;
use nix::fcntl::{FcntlArg, FdFlag, OFlag, fcntl};
use nix::pty::{OpenptyResult, openpty};
use nix::sys::termios::{SetArg, cfmakeraw, tcgetattr, tcsetattr};
use nix::unistd::ttyname;
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;
use tokio::sync::mpsc;

/// Raw console bytes buffered between the pty and the application.
const INPUT_QUEUE: usize = 64;

pub struct Pty {
    master: File,
    /// Kept open for the process's life: output written before a driver opens the port stays
    /// buffered, and the master never sees a hang-up when a driver closes its side.
    _slave: OwnedFd,
    path: PathBuf,
}

impl Pty {
    /// Opens a pty in raw mode (no echo, no line editing, no newline translation, like a UART)
    /// with a non-blocking master.
    pub fn open() -> io::Result<Self> {
        let OpenptyResult { master, slave } = openpty(None, None)?;
        let mut termios = tcgetattr(&slave)?;
        cfmakeraw(&mut termios);
        tcsetattr(&slave, SetArg::TCSANOW, &termios)?;
        fcntl(&master, FcntlArg::F_SETFL(OFlag::O_NONBLOCK))?;
        // Neither end belongs to processes this one might start.
        fcntl(&master, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC))?;
        fcntl(&slave, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC))?;
        let path = ttyname(&slave)?;
        Ok(Self {
            master: File::from(master),
            _slave: slave,
            path,
        })
    }

    /// The master's descriptor, open as long as this Pty is.
    pub fn master_fd(&self) -> i32 {
        self.master.as_raw_fd()
    }

    /// The slave's path, e.g. `/dev/pts/3`.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Starts a task that forwards what a driver types to the returned queue. Needs a runtime.
    pub fn spawn_reader(&self) -> io::Result<mpsc::Receiver<Vec<u8>>> {
        let master = self.master.try_clone()?;
        // SAFETY: the File owns its descriptor and keeps it open until the AsyncFd drops it.
        let master = unsafe { AsyncFd::register_with_interest(master, Interest::READABLE) }?;
        let (tx, rx) = mpsc::channel(INPUT_QUEUE);
        tokio::spawn(async move {
            let mut buf = [0u8; 256];
            loop {
                let mut ready = match master.readable().await {
                    Ok(ready) => ready,
                    Err(err) => {
                        eprintln!("virtual-board: console input failed: {err}");
                        return;
                    }
                };
                match ready.try_io(|master| master.get_ref().read(&mut buf)) {
                    Ok(Ok(0)) => return,
                    Ok(Ok(n)) => {
                        if tx.send(buf[..n].to_vec()).await.is_err() {
                            return;
                        }
                    }
                    Ok(Err(err)) if err.kind() == io::ErrorKind::Interrupted => {}
                    Ok(Err(err)) => {
                        eprintln!("virtual-board: console input failed: {err}");
                        return;
                    }
                    Err(_would_block) => {}
                }
            }
        });
        Ok(rx)
    }

    /// The console's output side.
    pub fn sink(&self) -> PtySink {
        PtySink {
            master: self.master.try_clone().expect("duplicating the pty master"),
            dropping: Mutex::new(false),
        }
    }
}

/// Writes console lines to the pty, `\r\n`-terminated as a UART console sends them.
pub struct PtySink {
    master: File,
    /// Output is being dropped because the pty is full (set until a line goes through again);
    /// also serialises lines so they never interleave.
    dropping: Mutex<bool>,
}

impl ConsoleSink for PtySink {
    /// Never blocks: when nobody reads the port and the pty's buffer is full, the line is
    /// dropped, as a UART's bytes are lost when nothing listens. The board must not stall.
    fn write_line(&self, line: &str) {
        let mut dropping = self
            .dropping
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut bytes = Vec::with_capacity(line.len() + 2);
        bytes.extend_from_slice(line.as_bytes());
        bytes.extend_from_slice(b"\r\n");
        let mut rest = &bytes[..];
        while !rest.is_empty() {
            match (&self.master).write(rest) {
                Ok(n) => rest = &rest[n..],
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                    if !*dropping {
                        eprintln!(
                            "virtual-board: console output dropped: the pty is full and nobody reads it"
                        );
                        *dropping = true;
                    }
                    return;
                }
                Err(err) => {
                    eprintln!("virtual-board: console output failed: {err}");
                    return;
                }
            }
        }
        *dropping = false;
    }
}
