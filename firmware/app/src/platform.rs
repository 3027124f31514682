//! What the application needs from the board it runs on, as small traits.
//!
//! The ESP32 binary implements these with ESP-IDF calls (UART console, `esp_timer`,
//! `heap_caps`); the virtual board implements them on Linux (a pseudo-terminal, `Instant`, no
//! heap figures). Restarting is not a trait: [`crate::run`] returns [`crate::Exit::Reset`] and
//! the binary restarts the chip (`esp_restart`) or, on Linux, runs the application again.

use std::fmt;
use std::sync::Arc;

/// The board's clock.
pub trait Clock: Send + Sync + 'static {
    /// Milliseconds since this boot began (the number in the ESP-IDF log prefix).
    fn uptime_ms(&self) -> u64;
}

/// Heap figures, where the platform knows them.
pub trait Heap: Send + Sync + 'static {
    /// Free heap bytes now.
    fn free(&self) -> Option<u64>;
    /// The lowest free heap seen since boot.
    fn min_free(&self) -> Option<u64>;
}

/// A heap that knows nothing: Linux has no figure comparable to a board's heap.
#[derive(Debug, Clone, Copy, Default)]
pub struct UnknownHeap;

impl Heap for UnknownHeap {
    fn free(&self) -> Option<u64> {
        None
    }
    fn min_free(&self) -> Option<u64> {
        None
    }
}

/// The console's output side.
pub trait ConsoleSink: Send + Sync + 'static {
    /// Writes one whole line. `line` has no line ending; the sink adds what its transport uses
    /// (`\r\n` on the virtual board's pty). Writing must not block for long: a UART drains at
    /// its baud rate whether or not anyone listens, so a sink drops output rather than stall.
    fn write_line(&self, line: &str);
}

/// Why this boot happened, as the banner names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResetReason {
    PowerOn,
    Software,
    Panic,
    Watchdog,
    Brownout,
    External,
    DeepSleep,
    Unknown,
}

impl fmt::Display for ResetReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ResetReason::PowerOn => "poweron",
            ResetReason::Software => "software",
            ResetReason::Panic => "panic",
            ResetReason::Watchdog => "watchdog",
            ResetReason::Brownout => "brownout",
            ResetReason::External => "external",
            ResetReason::DeepSleep => "deepsleep",
            ResetReason::Unknown => "unknown",
        })
    }
}

/// This boot: its number (1 for the first since power-on) and why it happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Boot {
    pub number: u32,
    pub reason: ResetReason,
}

/// The platform parts one run of the application uses.
#[derive(Clone)]
pub struct Platform {
    pub clock: Arc<dyn Clock>,
    pub heap: Arc<dyn Heap>,
    pub console: Arc<dyn ConsoleSink>,
}

impl fmt::Debug for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Platform").finish_non_exhaustive()
    }
}
