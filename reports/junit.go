package reports

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"strings"
	"time"
)

// The JUnit schema most CI systems read (the Jenkins/Surefire dialect, also what Ginkgo writes):
// one <testsuite> per (client, server) pair, one <testcase> per cell.
type junitSuites struct {
	XMLName   xml.Name     `xml:"testsuites"`
	Name      string       `xml:"name,attr"`
	Tests     int          `xml:"tests,attr"`
	Failures  int          `xml:"failures,attr"`
	Errors    int          `xml:"errors,attr"`
	Skipped   int          `xml:"skipped,attr"`
	Time      string       `xml:"time,attr"`
	Timestamp string       `xml:"timestamp,attr,omitempty"`
	Suites    []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Package    string          `xml:"package,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Timestamp  string          `xml:"timestamp,attr,omitempty"`
	Hostname   string          `xml:"hostname,attr,omitempty"`
	Properties []junitProperty `xml:"properties>property"`
	Cases      []junitCase     `xml:"testcase"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Classname string        `xml:"classname,attr"`
	Name      string        `xml:"name,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitProblem `xml:"failure"`
	Error     *junitProblem `xml:"error"`
	Skipped   *junitSkipped `xml:"skipped"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

type junitSkipped struct {
	Message string `xml:"message,attr"`
}

func seconds(ms float64) string { return fmt.Sprintf("%.3f", ms/1000) }

func junitTimestamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05")
}

// firstLine keeps a message attribute to one line; the whole reason goes into the element text.
func firstLine(s string) string {
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		return s[:i] + " …"
	}
	return s
}

func renderJUnit(run Run) ([]byte, error) {
	m := newMatrix(run)
	host := run.Host["hostname"]
	root := junitSuites{
		Name:      "irohconf " + run.Suite,
		Time:      seconds(runDurationMS(run)),
		Timestamp: junitTimestamp(run.Start),
	}
	for _, p := range m.pairs() {
		client, server := m.peers[p.Client], m.peers[p.Server]
		s := junitSuite{
			Name:    p.Name(),
			Package: "irohconf/" + run.Suite,
			Properties: []junitProperty{
				{"suite", run.Suite},
				{"run", run.ID},
				{"client", client.Name},
				{"client.kind", client.Kind},
				{"client.version", client.Version},
				{"client.runtime", client.Runtime},
				{"server", server.Name},
				{"server.kind", server.Kind},
				{"server.version", server.Version},
				{"server.runtime", server.Runtime},
			},
			Hostname:  host,
			Timestamp: junitTimestamp(p.Cells[0].Start),
		}
		var totalMS float64
		for _, c := range p.Cells {
			totalMS += c.DurationMS
			// XML 1.0 cannot carry most control characters; show them rather than lose them.
			c.Reason = printable(c.Reason)
			tc := junitCase{Classname: p.Name(), Name: c.Case, Time: seconds(c.DurationMS), SystemOut: junitSystemOut(c)}
			switch c.Outcome {
			case Failed:
				tc.Failure = &junitProblem{Message: firstLine(c.Reason), Type: string(Failed), Text: c.Reason}
				s.Failures++
			case Error:
				tc.Error = &junitProblem{Message: firstLine(c.Reason), Type: string(Error), Text: c.Reason}
				s.Errors++
			case Unsupported:
				tc.Skipped = &junitSkipped{Message: firstLine("unsupported: " + c.Reason)}
				s.Skipped++
			}
			s.Tests++
			s.Cases = append(s.Cases, tc)
		}
		s.Time = seconds(totalMS)
		root.Tests += s.Tests
		root.Failures += s.Failures
		root.Errors += s.Errors
		root.Skipped += s.Skipped
		root.Suites = append(root.Suites, s)
	}
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	enc := xml.NewEncoder(&buf)
	enc.Indent("", "  ")
	if err := enc.Encode(root); err != nil {
		return nil, fmt.Errorf("encoding junit.xml: %w", err)
	}
	buf.WriteByte('\n')
	return buf.Bytes(), nil
}

// junitSystemOut tells a CI reader where the cell's logs are and what was measured, since most
// CI systems show system-out but not our index.html.
func junitSystemOut(c Cell) string {
	var b strings.Builder
	fmt.Fprintf(&b, "outcome: %s\n", c.Outcome)
	if c.Logs != "" {
		fmt.Fprintf(&b, "logs: %s\n", c.Logs)
	}
	if c.HandshakeMS != nil {
		fmt.Fprintf(&b, "handshake_ms: %.3f\n", *c.HandshakeMS)
	}
	if c.ThroughputMbps != nil {
		fmt.Fprintf(&b, "throughput_mbps: %.3f\n", *c.ThroughputMbps)
	}
	for _, k := range sortedKeys(c.PeerVersions) {
		fmt.Fprintf(&b, "version %s: %s\n", k, c.PeerVersions[k])
	}
	if c.Reason != "" {
		fmt.Fprintf(&b, "reason: %s\n", c.Reason)
	}
	return b.String()
}
