package reports

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
)

const (
	// RunsDir is the folder under the reports root that holds one folder per run.
	RunsDir = "runs"
	// LatestLink is the symlink under the reports root that points at the newest run.
	LatestLink = "latest"
	// LogsDir is the folder inside a run folder that holds one folder per cell.
	LogsDir = "logs"
	// runDirLayout names a run folder by its UTC start time; no colons, so it is a valid path
	// everywhere and sorts by time.
	runDirLayout = "2006-01-02T15-04-05Z"
)

// NewRunDir creates <root>/runs/<UTC start time>/ with its logs/ folder and returns its path,
// e.g. reports/runs/2026-11-27T04-15-00Z. When a run already started in the same second, it
// appends -2, -3, ... rather than mixing two runs in one folder.
func NewRunDir(root string, start time.Time) (string, error) {
	runs := filepath.Join(root, RunsDir)
	if err := os.MkdirAll(runs, 0o755); err != nil {
		return "", fmt.Errorf("creating the runs folder: %w", err)
	}
	base := start.UTC().Format(runDirLayout)
	for n := 1; n < 1000; n++ {
		name := base
		if n > 1 {
			name = base + "-" + strconv.Itoa(n)
		}
		dir := filepath.Join(runs, name)
		err := os.Mkdir(dir, 0o755)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("creating the run folder: %w", err)
		}
		if err := os.Mkdir(filepath.Join(dir, LogsDir), 0o755); err != nil {
			return "", fmt.Errorf("creating the run's logs folder: %w", err)
		}
		return dir, nil
	}
	return "", fmt.Errorf("creating the run folder: %s already has 999 runs starting at %s", runs, base)
}

// CellLogPath is a cell's log folder relative to the run folder, with forward slashes:
// logs/<client>__<server>/<case>. This is the value for Cell.Logs. Names are made safe for a
// path (anything outside [A-Za-z0-9._+-] becomes _), so a name can never leave the folder.
func CellLogPath(client, server, caseName string) string {
	return path.Join(PairLogPath(client, server), PathSegment(caseName))
}

// PairLogPath is the folder of a (client, server) pair's cells, relative to the run folder:
// logs/<client>__<server>. What lives as long as the pair (a server's key log) goes there.
func PairLogPath(client, server string) string {
	return path.Join(LogsDir, PathSegment(client)+"__"+PathSegment(server))
}

// CellLogDir creates a cell's log folder under runDir and returns its path on disk; put both
// sides' output, serial logs and key logs there, and CellLogPath(...) into Cell.Logs.
func CellLogDir(runDir, client, server, caseName string) (string, error) {
	dir := filepath.Join(runDir, filepath.FromSlash(CellLogPath(client, server, caseName)))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("creating the log folder of %s → %s %s: %w", client, server, caseName, err)
	}
	return dir, nil
}

// PathSegment maps a peer or case name to one safe path segment.
func PathSegment(name string) string {
	var b strings.Builder
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_', r == '+', r == '-':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	s := b.String()
	if s == "" || strings.Trim(s, ".") == "" {
		// "", "." and ".." would name the parent or the folder itself.
		return strings.Repeat("_", max(len(s), 1))
	}
	return s
}

// pointLatest makes <root>/latest a symlink to runDir, where root is the folder that holds
// runs/. It builds the new link beside the old one and renames it over, so readers always see
// either the old run or the new one. It does nothing for a run folder outside a runs/ folder
// (e.g. a report re-rendered somewhere else).
func pointLatest(runDir string) error {
	abs, err := filepath.Abs(runDir)
	if err != nil {
		return err
	}
	parent := filepath.Dir(abs)
	if filepath.Base(parent) != RunsDir {
		return nil
	}
	root := filepath.Dir(parent)
	link := filepath.Join(root, LatestLink)
	if fi, err := os.Lstat(link); err == nil && fi.Mode()&fs.ModeSymlink == 0 {
		return fmt.Errorf("%s exists and is not a symlink; not replacing it", link)
	}
	// A relative target keeps the link valid when the reports folder is moved or archived.
	target := filepath.Join(RunsDir, filepath.Base(abs))
	tmp := filepath.Join(root, "."+LatestLink+".tmp-"+strconv.Itoa(os.Getpid())+"-"+strconv.FormatInt(time.Now().UnixNano(), 36))
	if err := os.Symlink(target, tmp); err != nil {
		return fmt.Errorf("pointing %s at the run: %w", link, err)
	}
	if err := os.Rename(tmp, link); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("pointing %s at the run: %w", link, err)
	}
	return WriteRunsIndex(root)
}

// HostInfo describes this machine for Run.Host: OS, architecture, kernel, CPUs, Go version and
// host name. Missing values are left out rather than guessed.
func HostInfo() map[string]string {
	h := map[string]string{
		"os":   runtime.GOOS,
		"arch": runtime.GOARCH,
		"cpus": strconv.Itoa(runtime.NumCPU()),
		"go":   runtime.Version(),
	}
	if name, err := os.Hostname(); err == nil {
		h["hostname"] = name
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		h["kernel"] = strings.TrimSpace(string(b))
	}
	return h
}
