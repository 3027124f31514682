//! What the application needs from the board it runs on, as small traits.
//!
//! The ESP32 binary implements these with ESP-IDF calls (UART console, `esp_timer`,
//! `heap_caps`); the virtual board implements them on Linux (a pseudo-terminal, `Instant`, a
//! counting allocator with the board's heap budget). Restarting is not a trait: [`crate::run`] returns [`crate::Exit::Reset`] and
//! the binary restarts the chip (`esp_restart`) or, on Linux, runs the application again.

use std::fmt;
use std::sync::Arc;

/// The board's clock.
pub trait Clock: Send + Sync + 'static {
    /// Milliseconds since this boot began (the number in the ESP-IDF log prefix).
    fn uptime_ms(&self) -> u64;
}

/// Heap figures, where the platform knows them, as ESP-IDF gives them: free bytes, not used ones.
pub trait Heap: Send + Sync + 'static {
    /// Free heap bytes now (`esp_get_free_heap_size`).
    fn free(&self) -> Option<u64>;
    /// The lowest free heap seen since boot (`esp_get_minimum_free_heap_size`).
    fn min_free(&self) -> Option<u64>;
    /// Ends the current heap window and starts the next: the window began at boot or at the
    /// previous call. A driver brackets a piece of work with two calls to learn the most heap
    /// that work took.
    fn take_window(&self) -> Option<HeapWindow>;
    /// The application is ready: its endpoint is bound and serving. A platform that holds the
    /// application to a budget only from here on (the virtual board) starts counting now.
    fn application_ready(&self) {}
}

/// The heap over one window of time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeapWindow {
    /// Free heap bytes when the window began.
    pub start_free: u64,
    /// The lowest free heap seen in the window.
    pub min_free: u64,
}

impl HeapWindow {
    /// The most heap in use during the window beyond what was in use when it began.
    pub fn peak(&self) -> u64 {
        self.start_free.saturating_sub(self.min_free)
    }
}

/// A heap that knows nothing (a platform without a heap budget).
#[derive(Debug, Clone, Copy, Default)]
pub struct UnknownHeap;

impl Heap for UnknownHeap {
    fn free(&self) -> Option<u64> {
        None
    }
    fn min_free(&self) -> Option<u64> {
        None
    }
    fn take_window(&self) -> Option<HeapWindow> {
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
