package reports

import (
	"bytes"
	"encoding/xml"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// The JUnit shape CI systems read, decoded independently of the writer's own types.
type parsedJUnit struct {
	XMLName  xml.Name `xml:"testsuites"`
	Tests    int      `xml:"tests,attr"`
	Failures int      `xml:"failures,attr"`
	Errors   int      `xml:"errors,attr"`
	Skipped  int      `xml:"skipped,attr"`
	Suites   []struct {
		Name       string `xml:"name,attr"`
		Tests      int    `xml:"tests,attr"`
		Properties []struct {
			Name  string `xml:"name,attr"`
			Value string `xml:"value,attr"`
		} `xml:"properties>property"`
		Cases []struct {
			Classname string `xml:"classname,attr"`
			Name      string `xml:"name,attr"`
			Time      string `xml:"time,attr"`
			Failure   *struct {
				Message string `xml:"message,attr"`
				Text    string `xml:",chardata"`
			} `xml:"failure"`
			Error *struct {
				Message string `xml:"message,attr"`
			} `xml:"error"`
			Skipped *struct {
				Message string `xml:"message,attr"`
			} `xml:"skipped"`
			SystemOut string `xml:"system-out"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

func TestJUnitParsesAndMapsOutcomes(t *testing.T) {
	_, runDir, run := sampleRun(t)
	mustWrite(t, runDir, run)
	raw := readFile(t, filepath.Join(runDir, JUnitFile))
	var j parsedJUnit
	dec := xml.NewDecoder(bytes.NewReader(raw))
	dec.Strict = true
	if err := dec.Decode(&j); err != nil {
		t.Fatalf("junit.xml does not parse: %v\n%s", err, raw)
	}
	if j.Tests != 15 || j.Failures != 1 || j.Errors != 1 || j.Skipped != 2 {
		t.Errorf("totals tests=%d failures=%d errors=%d skipped=%d", j.Tests, j.Failures, j.Errors, j.Skipped)
	}
	var suites []string
	for _, s := range j.Suites {
		suites = append(suites, s.Name)
	}
	if got, want := strings.Join(suites, " "), "go__go go__upstream-1.4.1 go__virtual-board upstream-1.4.1__go upstream-1.4.1__virtual-board"; got != want {
		t.Errorf("testsuites = %s, want %s", got, want)
	}
	props := map[string]string{}
	for _, p := range j.Suites[1].Properties {
		props[p.Name] = p.Value
	}
	if props["server.version"] != "1.4.1" || props["server.runtime"] != "docker" || props["client.runtime"] != "in-process" {
		t.Errorf("properties of go__upstream-1.4.1: %v", props)
	}
	seen := 0
	for _, s := range j.Suites {
		for _, c := range s.Cases {
			seen++
			if c.Classname != s.Name {
				t.Errorf("testcase %s has classname %s in suite %s", c.Name, c.Classname, s.Name)
			}
			if !strings.Contains(c.SystemOut, "logs: logs/"+s.Name+"/"+c.Name) {
				t.Errorf("%s/%s system-out does not point at the logs: %q", s.Name, c.Name, c.SystemOut)
			}
		}
	}
	if seen != 15 {
		t.Errorf("%d testcases, want 15", seen)
	}

	failed := j.Suites[1].Cases[1]
	if failed.Name != "echo-small" || failed.Failure == nil || failed.Error != nil || failed.Skipped != nil {
		t.Fatalf("go__upstream-1.4.1 echo-small = %+v, want a <failure>", failed)
	}
	// Control characters are not allowed in XML 1.0: they are shown as \xNN, and the rest survives.
	if !strings.Contains(failed.Failure.Text, "<script>alert(\"x\")</script> & ]]> | ``` \\x1b[31mred\\x1b[0m\\x00\n") ||
		!strings.Contains(failed.Failure.Text, "second line 'quoted'") {
		t.Errorf("failure text = %q", failed.Failure.Text)
	}
	if strings.Contains(failed.Failure.Message, "\n") {
		t.Errorf("failure message spans lines: %q", failed.Failure.Message)
	}
	if e := j.Suites[4].Cases[1]; e.Error == nil || e.Error.Message != "board did not answer within 10s" {
		t.Errorf("errored cell = %+v", e)
	}
	if s := j.Suites[2].Cases[2]; s.Skipped == nil || s.Skipped.Message != "unsupported: virtual-board declares echo-concurrent unsupported" {
		t.Errorf("unsupported cell = %+v", s)
	}
}

func TestSummaryMarkdown(t *testing.T) {
	_, runDir, run := sampleRun(t)
	mustWrite(t, runDir, run)
	md := string(readFile(t, filepath.Join(runDir, SummaryFile)))

	rows := map[string]string{}
	for _, line := range strings.Split(md, "\n") {
		if strings.HasPrefix(line, "| **") {
			name := strings.TrimPrefix(line, "| **")
			rows[name[:strings.Index(name, "**")]] = line
		}
	}
	// The matrix: rows are clients, columns are servers in peer order (go, upstream, virtual-board).
	wantRows := map[string]string{
		`go`:             `| **go** (go, v0.1.0, in-process) | ✓(H,E,EC) | ✓(H,EC) ✕(E) | ✓(H,E) ?(EC) |`,
		`upstream-1.4.1`: `| **upstream-1.4.1** (upstream, 1.4.1, docker) | ✓(H,E,EC) | — | ✓(H) ?(EC) !(E) |`,
	}
	for name, want := range wantRows {
		if rows[name] != want {
			t.Errorf("matrix row %s:\n got %s\nwant %s", name, rows[name], want)
		}
	}
	if !strings.Contains(md, "| client ↓ / server → | **go** (go, v0.1.0, in-process) | **upstream-1.4.1** (upstream, 1.4.1, docker) | **virtual-board** (virtual-board, fw 0.3.0 (abc123), pty) |") {
		t.Errorf("matrix header missing:\n%s", md)
	}
	if !strings.Contains(md, "**Totals:** 15 cells: ✓ 11 succeeded, ✕ 1 failed, ? 2 unsupported, ! 1 error.") {
		t.Errorf("totals missing")
	}
	// Each failed/errored cell has its reason, in a fence the reason cannot close, and its logs.
	if !strings.Contains(md, "### ✕ go → upstream-1.4.1: echo-small (E)") ||
		!strings.Contains(md, "Logs: [logs/go\\_\\_upstream-1.4.1/echo-small](logs/go__upstream-1.4.1/echo-small/)") {
		t.Errorf("failed cell entry missing:\n%s", md)
	}
	if !strings.Contains(md, "````text\n"+strings.NewReplacer("\x1b", `\x1b`, "\x00", `\x00`).Replace(evilReason)+"\n````") {
		t.Errorf("reason not fenced with four backticks:\n%s", md)
	}
	if !strings.Contains(md, "### ! upstream-1.4.1 → virtual-board: echo-small (E)") {
		t.Errorf("errored cell entry missing")
	}
	// Table cells escape what would break a row: the case description has & and <...>.
	if !strings.Contains(md, `| T | ticket | the printed ticket parses & \<names\> the peer |`) {
		t.Errorf("case legend row missing or unescaped")
	}
	unescapedPipe := regexp.MustCompile(`(^|[^\\])\|`)
	for _, line := range strings.Split(md, "\n") {
		if strings.HasPrefix(line, "| **") && len(unescapedPipe.FindAllString(line, -1)) != 5 {
			t.Errorf("matrix row with the wrong number of columns: %s", line)
		}
	}
}

// parseHTML parses a page the way a browser would and returns its elements with attr set.
func elementsWith(t *testing.T, page []byte, attr string) []*html.Node {
	t.Helper()
	doc, err := html.Parse(bytes.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	var out []*html.Node
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && (attr == "" || hasAttr(n, attr)) {
			out = append(out, n)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return out
}

func hasAttr(n *html.Node, key string) bool {
	for _, a := range n.Attr {
		if a.Key == key {
			return true
		}
	}
	return false
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func textOf(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return b.String()
}

// checkIndexDOM checks a parsed index.html (as written, or as a browser rendered it): one badge
// per cell with the cell's attributes and a link to a log folder that exists; reasons are text,
// never markup.
func checkIndexDOM(t *testing.T, page []byte, runDir string, run Run) {
	t.Helper()
	badges := elementsWith(t, page, "data-cell")
	if len(badges) != len(run.Cells) {
		t.Fatalf("%d cell elements, want one per cell (%d)", len(badges), len(run.Cells))
	}
	type key struct{ client, server, kase string }
	want := map[key]Cell{}
	for _, c := range run.Cells {
		want[key{c.Client, c.Server, c.Case}] = c
	}
	for _, b := range badges {
		k := key{attr(b, "data-client"), attr(b, "data-server"), attr(b, "data-case")}
		c, ok := want[k]
		if !ok {
			t.Errorf("cell element for %v, which is not a cell (or appears twice)", k)
			continue
		}
		delete(want, k)
		if got := attr(b, "data-outcome"); got != string(c.Outcome) {
			t.Errorf("%v: data-outcome %q, want %q", k, got, c.Outcome)
		}
		if !strings.Contains(attr(b, "class"), "o-"+string(c.Outcome)) {
			t.Errorf("%v: class %q does not colour it as %s", k, attr(b, "class"), c.Outcome)
		}
		href := attr(b, "href")
		if b.Data != "a" || href != c.Logs+"/" {
			t.Errorf("%v: <%s href=%q>, want a link to %s/", k, b.Data, href, c.Logs)
			continue
		}
		if fi, err := os.Stat(filepath.Join(runDir, filepath.FromSlash(href))); err != nil || !fi.IsDir() {
			t.Errorf("%v links to %s, which is not a folder of the run: %v", k, href, err)
		}
	}
	if len(want) > 0 {
		t.Errorf("cells without an element: %v", want)
	}
	// The reason with <script> is text: the page has exactly one script, ours.
	if scripts := elementsWith(t, page, ""); true {
		n := 0
		for _, s := range scripts {
			if s.Data == "script" {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%d <script> elements, want 1 (a reason was not escaped?)", n)
		}
	}
	problems := elementsWith(t, page, "data-problem")
	if len(problems) != 2 {
		t.Fatalf("%d problem entries, want 2", len(problems))
	}
	wantText := strings.NewReplacer("\x1b", `\x1b`, "\x00", `\x00`).Replace(evilReason)
	if got := textOf(problems[0]); !strings.Contains(got, wantText) {
		t.Errorf("failed cell's reason is not shown as text: %q", got)
	}
}

func TestIndexHTMLStructure(t *testing.T) {
	_, runDir, run := sampleRun(t)
	mustWrite(t, runDir, run)
	page := readFile(t, filepath.Join(runDir, IndexFile))
	checkIndexDOM(t, page, runDir, run)

	// No external assets: nothing is loaded from anywhere but the run folder.
	if m := regexp.MustCompile(`(?i)(src|href)="(https?:|//)[^"]*"`).Find(page); m != nil {
		t.Errorf("index.html refers to the network: %s", m)
	}
	// Headers name the peers with versions and runtimes.
	var headers []string
	for _, th := range elementsWith(t, page, "data-server") {
		if th.Data == "th" {
			headers = append(headers, strings.Join(strings.Fields(textOf(th)), " "))
		}
	}
	if got, want := strings.Join(headers, " | "), "go go · v0.1.0 · in-process | upstream-1.4.1 upstream · 1.4.1 · docker | virtual-board virtual-board · fw 0.3.0 (abc123) · pty"; got != want {
		t.Errorf("server headers = %q, want %q", got, want)
	}
	// The pair without cells shows as not run rather than vanishing.
	for _, td := range elementsWith(t, page, "data-pair-client") {
		if attr(td, "data-pair-client") == "upstream-1.4.1" && attr(td, "data-pair-server") == "upstream-1.4.1" {
			if strings.TrimSpace(textOf(td)) != "—" {
				t.Errorf("empty pair shows %q", textOf(td))
			}
		}
	}
	// The case legend lists every case, also one that never ran.
	if n := len(elementsWith(t, page, "data-case-name")); n != len(run.Cases) {
		t.Errorf("case legend has %d rows, want %d", n, len(run.Cases))
	}
	if !bytes.Contains(page, []byte(`data-total="15"`)) {
		t.Errorf("totals missing")
	}
}

func TestIndexHTMLLinksOnlyLogsThatExist(t *testing.T) {
	_, runDir, run := sampleRun(t)
	gone := run.Cells[1] // go → go echo-small
	if err := os.RemoveAll(filepath.Join(runDir, filepath.FromSlash(gone.Logs))); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, runDir, run)
	page := readFile(t, filepath.Join(runDir, IndexFile))
	for _, b := range elementsWith(t, page, "data-cell") {
		isGone := attr(b, "data-client") == gone.Client && attr(b, "data-server") == gone.Server && attr(b, "data-case") == gone.Case
		if isGone && (b.Data != "span" || hasAttr(b, "href") || !strings.Contains(attr(b, "title"), "no logs")) {
			t.Errorf("cell without logs rendered as <%s href=%q title=%q>", b.Data, attr(b, "href"), attr(b, "title"))
		}
		if !isGone && b.Data != "a" {
			t.Errorf("cell %s/%s/%s lost its link", attr(b, "data-client"), attr(b, "data-server"), attr(b, "data-case"))
		}
	}
}
