//! ESP-IDF style log lines: `I (<ms since boot>) <tag>: <message>`.

use std::fmt::{self, Display};
use std::sync::Arc;

use crate::platform::{Clock, ConsoleSink};

/// The tag in front of every line the application prints.
pub const TAG: &str = "irohconf_fw";

/// ESP-IDF log levels, as their one-letter prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Error,
    Warn,
    Info,
}

impl Level {
    fn letter(self) -> char {
        match self {
            Level::Error => 'E',
            Level::Warn => 'W',
            Level::Info => 'I',
        }
    }
}

/// Writes prefixed lines to the console. Cheap to clone; every clone writes to the same sink.
#[derive(Clone)]
pub struct Log {
    clock: Arc<dyn Clock>,
    sink: Arc<dyn ConsoleSink>,
}

impl fmt::Debug for Log {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Log").finish_non_exhaustive()
    }
}

impl Log {
    pub fn new(clock: Arc<dyn Clock>, sink: Arc<dyn ConsoleSink>) -> Self {
        Self { clock, sink }
    }

    /// Formats one line: the prefix, then the message.
    pub fn format(level: Level, uptime_ms: u64, message: impl Display) -> String {
        format!("{} ({uptime_ms}) {TAG}: {message}", level.letter())
    }

    pub fn line(&self, level: Level, message: impl Display) {
        self.sink
            .write_line(&Self::format(level, self.clock.uptime_ms(), message));
    }

    pub fn info(&self, message: impl Display) {
        self.line(Level::Info, message)
    }

    pub fn warn(&self, message: impl Display) {
        self.line(Level::Warn, message)
    }

    pub fn error(&self, message: impl Display) {
        self.line(Level::Error, message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn esp_idf_prefix() {
        assert_eq!(
            Log::format(Level::Info, 0, "Iroh endpoint bound"),
            "I (0) irohconf_fw: Iroh endpoint bound"
        );
        assert_eq!(
            Log::format(Level::Warn, 123456, "x"),
            "W (123456) irohconf_fw: x"
        );
        assert_eq!(Log::format(Level::Error, 7, "y"), "E (7) irohconf_fw: y");
    }
}
