package repo

import (
	"os"
	"path/filepath"
	"testing"
)

func TestRoot(t *testing.T) {
	root, err := Root()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "fixtures")); err != nil {
		t.Fatalf("root %s has no fixtures: %v", root, err)
	}
	t.Setenv(EnvRoot, t.TempDir())
	if _, err := Root(); err == nil {
		t.Fatal("IROHCONF_ROOT naming a folder without the module's go.mod was accepted")
	}
	t.Setenv(EnvRoot, root)
	if got, err := Root(); err != nil || got != root {
		t.Fatalf("Root() = %q, %v with IROHCONF_ROOT=%s", got, err, root)
	}
}
