//! JSON lines on stdout (one object per line) and the contract's exit codes.

use std::{io::Write, process::ExitCode};

use serde::Serialize;

/// Why a subcommand did not succeed, mapped to the contract's exit codes.
#[derive(Debug)]
pub enum Failure {
    /// Exit 2: bad flags, a malformed ticket or key. `{"error": ...}` on stdout and stderr.
    Invalid(String),
    /// Exit 1: the operation failed. `{"error": ...}` on stdout and stderr.
    Failed(String),
    /// Exit 127: a case this peer does not support. `{"error": ...}` on stdout and stderr.
    Unsupported(String),
    /// The subcommand already printed its result line (a failed dial); only the exit code is left.
    Reported(u8),
}

impl Failure {
    pub fn report(self) -> ExitCode {
        let (code, message) = match self {
            Failure::Invalid(message) => (2, message),
            Failure::Failed(message) => (1, message),
            Failure::Unsupported(message) => (127, message),
            Failure::Reported(code) => return ExitCode::from(code),
        };
        print_json(&serde_json::json!({ "error": message }));
        eprintln!("iroh-upstream: {message}");
        ExitCode::from(code)
    }
}

/// Prints one JSON object as one line and flushes, so a reader sees each event as it happens.
pub fn print_json(value: &impl Serialize) {
    let line = serde_json::to_string(value).expect("event serializes");
    let mut stdout = std::io::stdout().lock();
    // A closed stdout (the reader went away) is not worth a panic.
    let _ = writeln!(stdout, "{line}");
    let _ = stdout.flush();
}

/// `iroh X.Y.Z`: the peer version in `ready` lines and reports.
pub fn version_label() -> String {
    format!("iroh {}", crate::IROH_VERSION)
}

pub fn versions() -> serde_json::Value {
    serde_json::json!({
        "version": version_label(),
        "iroh": env!("IROHCONF_IROH_VERSION"),
        "iroh_base": env!("IROHCONF_IROH_BASE_VERSION"),
        "iroh_tickets": env!("IROHCONF_IROH_TICKETS_VERSION"),
        "noq": env!("IROHCONF_NOQ_VERSION"),
        "rustls": env!("IROHCONF_RUSTLS_VERSION"),
    })
}
