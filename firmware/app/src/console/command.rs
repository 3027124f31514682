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
    Reset,
    /// Anything else; holds the line made printable, for the error message.
    Unknown(String),
}

impl Command {
    /// Parses one line. Surrounding whitespace is ignored and command names are matched without
    /// regard to ASCII case; anything else (arguments, non-UTF-8, control bytes, an overlong
    /// line) is [`Command::Unknown`].
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
        let known = [
            ("help", Command::Help),
            ("id", Command::Id),
            ("ticket", Command::Ticket),
            ("status", Command::Status),
            ("reset", Command::Reset),
        ];
        known
            .into_iter()
            .find(|(name, _)| trimmed.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, command)| command)
            .unwrap_or_else(|| Command::Unknown(printable(trimmed)))
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
            head: vec![b'a'; 128],
            len: 300,
        };
        match Command::parse(&line) {
            Command::Unknown(text) => {
                assert!(text.starts_with(&"a".repeat(40)), "{text}");
                assert!(
                    text.ends_with("... (line too long: 300 bytes, max 128)"),
                    "{text}"
                );
            }
            other => panic!("expected Unknown, got {other:?}"),
        }
    }
}
