//! Console commands.

use super::input::InputLine;
use super::lines::printable;

/// What one console line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// A blank line: nothing to do, nothing printed.
    Nothing,
    Help,
    Id,
    Ticket,
    Status,
    Heap,
    Reset,
    /// `dial <ticket> [size] [count]`, or why its arguments are wrong.
    Dial(Result<DialRequest, String>),
    /// Anything else; holds the line made printable, for the error message.
    Unknown(String),
}

/// What `dial` was asked to do: the ticket as typed, then the echoes to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialRequest {
    pub ticket: String,
    /// Payload bytes per echo.
    pub size: u64,
    /// Echoes, one after another, each on its own stream of the one connection (0: handshake
    /// only).
    pub count: u32,
}

impl DialRequest {
    /// The peer contract's `dial` defaults (`--size 13 --count 1`).
    pub const DEFAULT_SIZE: u64 = 13;
    pub const DEFAULT_COUNT: u32 = 1;
    /// Bounds that keep one result line short and one dial inside the dial timeout.
    pub const MAX_SIZE: u64 = 64 * 1024 * 1024;
    pub const MAX_COUNT: u32 = 1000;
}

impl Command {
    /// Parses one line. Surrounding whitespace is ignored and command names are matched without
    /// regard to ASCII case; only `dial` takes arguments. Anything else (arguments to another
    /// command, non-UTF-8, control bytes, an overlong line) is [`Command::Unknown`].
    pub fn parse(line: &InputLine) -> Command {
        let bytes = match line {
            InputLine::Line(bytes) => bytes,
            InputLine::TooLong { head, len } => {
                let shown: Vec<u8> = head.iter().copied().take(40).collect();
                return Command::Unknown(format!(
                    "{}... (line too long: {len} bytes, max {})",
                    printable(&shown),
                    super::input::MAX_LINE
                ));
            }
        };
        let trimmed = bytes.trim_ascii();
        if trimmed.is_empty() {
            return Command::Nothing;
        }
        let unknown = || Command::Unknown(printable(trimmed));
        let Ok(text) = std::str::from_utf8(trimmed) else {
            return unknown();
        };
        let mut words = text.split_ascii_whitespace();
        let name = words.next().unwrap_or_default();
        if name.eq_ignore_ascii_case("dial") {
            return Command::Dial(DialRequest::parse(words));
        }
        if words.next().is_some() {
            return unknown();
        }
        let known = [
            ("help", Command::Help),
            ("id", Command::Id),
            ("ticket", Command::Ticket),
            ("status", Command::Status),
            ("heap", Command::Heap),
            ("reset", Command::Reset),
        ];
        known
            .into_iter()
            .find(|(word, _)| name.eq_ignore_ascii_case(word))
            .map(|(_, command)| command)
            .unwrap_or_else(unknown)
    }
}

impl DialRequest {
    fn parse<'a>(mut words: impl Iterator<Item = &'a str>) -> Result<DialRequest, String> {
        let usage = "usage: dial <ticket> [size] [count]";
        let ticket = words.next().ok_or_else(|| usage.to_string())?;
        if ticket.chars().any(|c| c.is_control()) {
            return Err(format!("the ticket has control characters; {usage}"));
        }
        let size = match words.next() {
            None => Self::DEFAULT_SIZE,
            Some(word) => parse_bounded("size", word, Self::MAX_SIZE)?,
        };
        let count = match words.next() {
            None => Self::DEFAULT_COUNT,
            Some(word) => parse_bounded("count", word, Self::MAX_COUNT.into())? as u32,
        };
        if let Some(extra) = words.next() {
            return Err(format!(
                "unexpected argument {:?}; {usage}",
                printable(extra.as_bytes())
            ));
        }
        Ok(DialRequest {
            ticket: ticket.to_string(),
            size,
            count,
        })
    }
}

/// A whole number from 0 to `max`.
fn parse_bounded(what: &str, word: &str, max: u64) -> Result<u64, String> {
    match word.parse::<u64>() {
        Ok(n) if n <= max => Ok(n),
        Ok(n) => Err(format!("{what} {n} is more than {max}")),
        Err(_) => Err(format!(
            "{what} {:?} is not a whole number",
            printable(word.as_bytes())
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(bytes: &[u8]) -> Command {
        Command::parse(&InputLine::Line(bytes.to_vec()))
    }

    #[test]
    fn known_commands() {
        assert_eq!(parse(b"help"), Command::Help);
        assert_eq!(parse(b"id"), Command::Id);
        assert_eq!(parse(b"ticket"), Command::Ticket);
        assert_eq!(parse(b"status"), Command::Status);
        assert_eq!(parse(b"reset"), Command::Reset);
        assert_eq!(parse(b"heap"), Command::Heap);
    }

    #[test]
    fn dial_takes_a_ticket_and_optional_size_and_count() {
        let dial = |ticket: &str, size, count| {
            Command::Dial(Ok(DialRequest {
                ticket: ticket.into(),
                size,
                count,
            }))
        };
        assert_eq!(parse(b"dial endpointabc"), dial("endpointabc", 13, 1));
        assert_eq!(
            parse(b"DIAL  endpointabc 1048576"),
            dial("endpointabc", 1048576, 1)
        );
        assert_eq!(parse(b"dial endpointabc 0 0\r"), dial("endpointabc", 0, 0));
        assert_eq!(
            parse(b" dial\tendpointAbc 10 3 "),
            dial("endpointAbc", 10, 3)
        );
    }

    #[test]
    fn bad_dial_arguments_say_what_is_wrong() {
        let error = |line: &[u8]| match parse(line) {
            Command::Dial(Err(err)) => err,
            other => panic!("expected a dial error, got {other:?}"),
        };
        assert_eq!(error(b"dial"), "usage: dial <ticket> [size] [count]");
        assert!(error(b"dial t ten").contains("size \"ten\" is not a whole number"));
        assert!(error(b"dial t 1 -1").contains("count \"-1\" is not a whole number"));
        assert!(error(b"dial t 1 1001").contains("count 1001 is more than 1000"));
        assert!(error(b"dial t 67108865").contains("is more than 67108864"));
        assert!(error(b"dial t 1 1 x").contains("unexpected argument \"x\""));
    }

    #[test]
    fn whitespace_and_case_are_forgiven() {
        assert_eq!(parse(b"  status\t"), Command::Status);
        assert_eq!(parse(b"STATUS"), Command::Status);
        assert_eq!(parse(b"Reset "), Command::Reset);
    }

    #[test]
    fn blank_lines_do_nothing() {
        assert_eq!(parse(b""), Command::Nothing);
        assert_eq!(parse(b" \t "), Command::Nothing);
    }

    #[test]
    fn anything_else_is_unknown_and_printable() {
        assert_eq!(parse(b"id please"), Command::Unknown("id please".into()));
        assert_eq!(parse(b"frobnicate"), Command::Unknown("frobnicate".into()));
        assert_eq!(
            parse(b"\xff\x00st\x1b[0m"),
            Command::Unknown("\\xff\\x00st\\x1b[0m".into())
        );
    }

    #[test]
    fn an_overlong_line_is_unknown_with_its_length() {
        let line = InputLine::TooLong {
            head: vec![b'a'; 256],
            len: 300,
        };
        match Command::parse(&line) {
            Command::Unknown(text) => {
                assert!(text.starts_with(&"a".repeat(40)), "{text}");
                assert!(
                    text.ends_with("... (line too long: 300 bytes, max 256)"),
                    "{text}"
                );
            }
            other => panic!("expected Unknown, got {other:?}"),
        }
    }
}
