package reports

import (
	"bytes"
	"context"
	"errors"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The page is for people, so one test opens it in a real browser: headless Chromium from the
// system (Debian's chromium package), driven from the command line with --dump-dom, which prints
// the DOM after the page's script ran. Nothing is downloaded; the page itself makes no requests.

const noBrowserEnv = "IROHCONF_NO_BROWSER"

// findChromium returns the browser binary: $IROHCONF_CHROMIUM, else the usual names on PATH.
func findChromium() (string, error) {
	if p := os.Getenv("IROHCONF_CHROMIUM"); p != "" {
		return exec.LookPath(p)
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome-stable", "google-chrome", "chrome-headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("no Chromium found (looked for $IROHCONF_CHROMIUM, chromium, chromium-browser, google-chrome)")
}

// dumpDOM loads page in headless Chromium and returns the DOM as the browser serialises it.
func dumpDOM(t *testing.T, browser, page string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	u := url.URL{Scheme: "file", Path: page}
	cmd := exec.CommandContext(ctx, browser,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
		// Keep the browser from calling home: no updates, sync, crash reports or first-run pages.
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-default-apps", "--disable-extensions", "--disable-breakpad", "--disable-crash-reporter",
		"--no-first-run", "--no-default-browser-check", "--metrics-recording-only",
		"--user-data-dir="+t.TempDir(),
		"--dump-dom", u.String())
	// Chromium starts helper processes; give it its own process group so all of them end with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // helpers still running, if any
	}
	if err != nil {
		t.Fatalf("%s --dump-dom %s: %v (timeout %v)\nstderr (last lines):\n%s", browser, u.String(), err, ctx.Err(), lastLines(stderr.String(), 20))
	}
	if !bytes.Contains(stdout.Bytes(), []byte("<html")) {
		t.Fatalf("Chromium printed no DOM\nstderr (last lines):\n%s", lastLines(stderr.String(), 20))
	}
	return stdout.Bytes()
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

func TestIndexHTMLInChromium(t *testing.T) {
	if os.Getenv(noBrowserEnv) == "1" {
		t.Skip(noBrowserEnv + "=1: index.html is not opened in a browser")
	}
	browser, err := findChromium()
	if err != nil {
		t.Fatalf("%v.\nThis test opens index.html in headless Chromium. Install it (Debian/Ubuntu: apt-get install -y chromium), "+
			"point IROHCONF_CHROMIUM at a Chromium or Chrome binary, or set %s=1 to skip this check.", err, noBrowserEnv)
	}
	root, runDir, run := sampleRun(t)
	mustWrite(t, runDir, run)

	// Open the page the way a person does: through reports/latest.
	latest := filepath.Join(root, LatestLink)
	dom := dumpDOM(t, browser, filepath.Join(latest, IndexFile))
	checkIndexDOM(t, dom, latest, run)

	// The page's script ran to the end and counted every cell as visible: the matrix was laid
	// out, not only parsed.
	html := elementsWith(t, dom, "data-rendered")
	if len(html) != 1 || attr(html[0], "data-rendered") != "15" {
		t.Errorf("the page's script did not finish (data-rendered missing or wrong): %v", html)
	}
	shown := elementsWith(t, dom, "data-shown")
	if len(shown) != 1 || attr(shown[0], "data-shown") != "15" || textOf(shown[0]) != "15 of 15 cells shown" {
		t.Errorf("visible cells after layout: %v", shown)
	}

	// A failing cell links to its logs, and the logs are there.
	for _, b := range elementsWith(t, dom, "data-cell") {
		if attr(b, "data-outcome") != string(Failed) {
			continue
		}
		logs := filepath.Join(latest, filepath.FromSlash(attr(b, "href")), "output.txt")
		if got, err := os.ReadFile(logs); err != nil || string(got) != "log of echo-small\n" {
			t.Errorf("the failed cell's logs %s: %q, %v", logs, got, err)
		}
	}
}
