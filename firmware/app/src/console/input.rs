//! Assembling command lines from the raw bytes a UART or pty delivers.

/// The longest command line kept, in bytes: room for `dial` with a ticket of several addresses.
/// Longer lines are reported and dropped whole.
pub const MAX_LINE: usize = 256;

/// One line of console input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputLine {
    /// A line within [`MAX_LINE`] bytes, without its line ending. Bytes as received: they need
    /// not be UTF-8.
    Line(Vec<u8>),
    /// A line longer than [`MAX_LINE`]: its first bytes and its whole length.
    TooLong { head: Vec<u8>, len: usize },
}

/// Splits a byte stream into lines. `\n`, `\r` and `\r\n` each end one line, so a terminal that
/// sends `\r` (a UART console) and one that sends `\r\n` both give one line per command.
#[derive(Debug, Default)]
pub struct LineAssembler {
    line: Vec<u8>,
    /// Bytes of the current line past [`MAX_LINE`]; the line is dropped when it ends.
    overflow: usize,
    /// The previous byte was `\r`, so a `\n` right after it ends nothing.
    after_cr: bool,
}

impl LineAssembler {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds received bytes; every line they complete is appended to `out`.
    pub fn push(&mut self, bytes: &[u8], out: &mut Vec<InputLine>) {
        for &byte in bytes {
            let after_cr = std::mem::replace(&mut self.after_cr, byte == b'\r');
            match byte {
                b'\n' if after_cr => {}
                b'\r' | b'\n' => out.push(self.take_line()),
                _ if self.line.len() < MAX_LINE => self.line.push(byte),
                _ => self.overflow += 1,
            }
        }
    }

    fn take_line(&mut self) -> InputLine {
        let line = std::mem::take(&mut self.line);
        let overflow = std::mem::take(&mut self.overflow);
        if overflow == 0 {
            InputLine::Line(line)
        } else {
            InputLine::TooLong {
                len: line.len() + overflow,
                head: line,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(chunks: &[&[u8]]) -> Vec<InputLine> {
        let mut assembler = LineAssembler::new();
        let mut out = Vec::new();
        for chunk in chunks {
            assembler.push(chunk, &mut out);
        }
        out
    }

    fn line(s: &[u8]) -> InputLine {
        InputLine::Line(s.to_vec())
    }

    #[test]
    fn every_line_ending_ends_one_line() {
        assert_eq!(lines(&[b"id\n"]), vec![line(b"id")]);
        assert_eq!(lines(&[b"id\r"]), vec![line(b"id")]);
        assert_eq!(lines(&[b"id\r\n"]), vec![line(b"id")]);
        assert_eq!(
            lines(&[b"id\r\nstatus\rhelp\n"]),
            vec![line(b"id"), line(b"status"), line(b"help")]
        );
    }

    #[test]
    fn crlf_split_across_reads_is_one_ending() {
        assert_eq!(
            lines(&[b"id\r", b"\nstatus\r", b"\n"]),
            vec![line(b"id"), line(b"status")]
        );
    }

    #[test]
    fn blank_lines_are_kept_as_empty_lines() {
        assert_eq!(lines(&[b"\n\n"]), vec![line(b""), line(b"")]);
        assert_eq!(lines(&[b"\r\r"]), vec![line(b""), line(b"")]);
    }

    #[test]
    fn an_unfinished_line_waits_for_its_end() {
        let mut assembler = LineAssembler::new();
        let mut out = Vec::new();
        assembler.push(b"sta", &mut out);
        assert!(out.is_empty());
        assembler.push(b"tus\n", &mut out);
        assert_eq!(out, vec![line(b"status")]);
    }

    #[test]
    fn an_overlong_line_is_reported_once_and_the_next_line_is_clean() {
        let long = vec![b'x'; MAX_LINE + 50];
        let out = lines(&[&long, b"\nid\n"]);
        assert_eq!(out.len(), 2);
        match &out[0] {
            InputLine::TooLong { head, len } => {
                assert_eq!(*len, MAX_LINE + 50);
                assert_eq!(head.len(), MAX_LINE);
            }
            other => panic!("expected TooLong, got {other:?}"),
        }
        assert_eq!(out[1], line(b"id"));
    }

    #[test]
    fn a_line_of_exactly_the_limit_is_kept() {
        let exact = vec![b'y'; MAX_LINE];
        assert_eq!(
            lines(&[&exact, b"\n"]),
            vec![InputLine::Line(exact.clone())]
        );
    }

    #[test]
    fn non_utf8_bytes_pass_through_untouched() {
        assert_eq!(lines(&[b"\xff\xfe\x00id\n"]), vec![line(b"\xff\xfe\x00id")]);
    }
}
