package reports

import (
	"bytes"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"
)

// mdText escapes text for one line of Markdown (a table cell or a heading): the characters
// that would start markup, and line breaks, which would end a table row.
var mdText = strings.NewReplacer(
	`\`, `\\`, "`", "\\`", `*`, `\*`, `_`, `\_`, `[`, `\[`, `]`, `\]`, `<`, `\<`, `>`, `\>`, `|`, `\|`,
	"\r\n", " ", "\n", " ", "\r", " ",
)

// printable shows control characters (ANSI colour codes and NULs from serial logs, say) as
// \xNN, so a reason stays readable and legal in every format; line breaks and tabs stay.
func printable(s string) string {
	if utf8.ValidString(s) && !strings.ContainsFunc(s, isControl) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, "\\x%02x", s[i]) // not UTF-8: show the byte
		case isControl(r):
			fmt.Fprintf(&b, "\\x%02x", r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

func isControl(r rune) bool {
	return (r < 0x20 && r != '\n' && r != '\t' && r != '\r') || r == 0x7f || (r >= 0x80 && r < 0xa0)
}

// md escapes text for one line of Markdown.
func md(s string) string { return mdText.Replace(printable(s)) }

// linkTarget turns a relative slash path into a URL path (spaces and the like percent-encoded).
func linkTarget(p string, dir bool) string {
	u := (&url.URL{Path: p}).EscapedPath()
	if dir && !strings.HasSuffix(u, "/") {
		u += "/"
	}
	return u
}

// fence returns a code fence longer than any run of backticks in s, so s cannot close it.
func fence(s string) string {
	longest, run := 0, 0
	for _, r := range s {
		if r == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	return strings.Repeat("`", max(3, longest+1))
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return "unknown"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

func formatDuration(run Run) string {
	if run.Start.IsZero() || run.End.IsZero() {
		return "unknown"
	}
	return run.End.Sub(run.Start).Round(time.Millisecond).String()
}

// groupedCases renders one matrix cell as the QUIC interop runner does: ✓(H,E) ✕(EL) ?(C) !(B).
func (m *matrix) groupedCases(cells []Cell) string {
	var groups []string
	for _, o := range Outcomes {
		var codes []string
		for _, c := range cells {
			if c.Outcome == o {
				codes = append(codes, m.label(c.Case))
			}
		}
		if len(codes) > 0 {
			groups = append(groups, o.Symbol()+"("+strings.Join(codes, ",")+")")
		}
	}
	return strings.Join(groups, " ")
}

func peerHeading(p Peer) string {
	var parts []string
	for _, s := range []string{p.Kind, p.Version, p.Runtime} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	if len(parts) == 0 {
		return "**" + md(p.Name) + "**"
	}
	return "**" + md(p.Name) + "** (" + md(strings.Join(parts, ", ")) + ")"
}

func countsLine(c Counts) string {
	return fmt.Sprintf("%d cells: ✓ %d succeeded, ✕ %d failed, ? %d unsupported, ! %d error",
		c.Total, c.Succeeded, c.Failed, c.Unsupported, c.Error)
}

func renderSummary(run Run) []byte {
	m := newMatrix(run)
	var b bytes.Buffer
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }

	p("# irohconf %s run %s\n\n", md(run.Suite), md(run.ID))
	p("Started %s, ended %s, took %s.\n", formatTime(run.Start), formatTime(run.End), formatDuration(run))
	if len(run.Host) > 0 {
		var host []string
		for _, k := range sortedKeys(run.Host) {
			host = append(host, k+"="+run.Host[k])
		}
		p("Host: %s.\n", md(strings.Join(host, ", ")))
	}
	p("\n**Totals:** %s.\n\n", countsLine(Summarize(run.Cells)))

	p("## Matrix\n\nRows are clients, columns are servers. ✓ succeeded, ✕ failed, ? unsupported, ! error (the test bed broke); — not run.\n\n")
	p("| client ↓ / server → |")
	for _, s := range m.servers {
		p(" %s |", peerHeading(m.peers[s]))
	}
	p("\n| --- |%s\n", strings.Repeat(" --- |", len(m.servers)))
	for _, c := range m.clients {
		p("| %s |", peerHeading(m.peers[c]))
		for _, s := range m.servers {
			cell := m.groupedCases(m.cells[c][s])
			if cell == "" {
				cell = "—"
			}
			p(" %s |", md(cell))
		}
		p("\n")
	}

	problems := m.problems()
	p("\n## Failed and errored cells\n\n")
	if len(problems) == 0 {
		p("None.\n")
	}
	for _, c := range problems {
		p("### %s %s → %s: %s (%s)\n\n", c.Outcome.Symbol(), md(c.Client), md(c.Server),
			md(c.Case), md(m.label(c.Case)))
		p("%s after %.0f ms.", c.Outcome, c.DurationMS)
		if c.ExpectedFailure != "" {
			p(" Expected failure (a known defect of a peer): %s.", md(c.ExpectedFailure))
		}
		if c.Logs != "" {
			p(" Logs: [%s](%s)", md(c.Logs), linkTarget(c.Logs, true))
		}
		p("\n\n")
		reason := printable(c.Reason)
		if reason == "" {
			reason = "(no reason given)"
		}
		f := fence(reason)
		p("%stext\n%s\n%s\n\n", f, strings.TrimRight(reason, "\n"), f)
	}

	p("## Cases\n\n| code | case | description |\n| --- | --- | --- |\n")
	for _, c := range run.Cases {
		p("| %s | %s | %s |\n", md(c.Label()), md(c.Name), md(c.Description))
	}

	p("\n## Peers\n\n| peer | kind | version | runtime | roles | declared unsupported | result | cells |\n| --- | --- | --- | --- | --- | --- | --- | --- |\n")
	conf := Conformance(run)
	for i, pe := range run.Peers {
		pc := conf[i]
		result := string(pc.Result)
		if result == "" {
			result = "not run"
		}
		p("| %s | %s | %s | %s | %s | %s | %s | %s |\n",
			md(pe.Name), md(pe.Kind), md(pe.Version), md(pe.Runtime),
			md(strings.Join(pe.Roles, ", ")), md(strings.Join(pe.Unsupported, ", ")),
			md(result), countsLine(pc.Cells))
	}
	return b.Bytes()
}
