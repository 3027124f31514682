//! The board console: what it prints and what it reads.
//!
//! Output lines follow `docs/board-console.md`: the lines the iroh ESP32 examples print, a boot
//! banner, one `STATUS` line format, each behind an ESP-IDF log prefix. Input is one command a
//! line, ended by `\n`, `\r\n` or a lone `\r` (what a terminal sends over a UART).

mod command;
mod input;
mod lines;
mod log;

pub use command::{Command, DialRequest};
pub use input::{InputLine, LineAssembler, MAX_LINE};
pub(crate) use lines::OrNull;
pub use lines::{HELP, HeapReport, Lines, Status, printable};
pub use log::{Level, Log, TAG};
