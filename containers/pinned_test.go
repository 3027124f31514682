package containers

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/irohconf/irohconf/internal/repo"
)

// The pinned versions are the folders containers/upstream/v<version>/ that `make upstream`
// builds (build.sh lists them), each with its manifest and lockfile; Pinned names them newest
// first. The upstream peer manifest is checked against Pinned in suites/peers.
func TestPinnedAreTheUpstreamFolders(t *testing.T) {
	dir, err := repo.Path("containers", "upstream")
	if err != nil {
		t.Fatal(err)
	}
	folders, err := filepath.Glob(filepath.Join(dir, "v*"))
	if err != nil {
		t.Fatal(err)
	}
	var found []Version
	for _, f := range folders {
		for _, file := range []string{"Cargo.toml", "Cargo.lock"} {
			if _, err := os.Stat(filepath.Join(f, file)); err != nil {
				t.Errorf("%s: %v", f, err)
			}
		}
		found = append(found, Version(strings.TrimPrefix(filepath.Base(f), "v")))
	}
	pinned := slices.Clone(Pinned)
	slices.Sort(pinned)
	slices.Sort(found)
	if !slices.Equal(pinned, found) {
		t.Fatalf("containers.Pinned is %v, the folders in containers/upstream are %v", Pinned, found)
	}
	if !slices.IsSortedFunc(Pinned, func(a, b Version) int { return -compareVersions(a, b) }) {
		t.Errorf("Pinned %v is not newest first", Pinned)
	}
}

// compareVersions orders dotted numeric versions.
func compareVersions(a, b Version) int {
	as, bs := strings.Split(string(a), "."), strings.Split(string(b), ".")
	for i := range min(len(as), len(bs)) {
		if c := len(as[i]) - len(bs[i]); c != 0 {
			return c
		}
		if c := strings.Compare(as[i], bs[i]); c != 0 {
			return c
		}
	}
	return len(as) - len(bs)
}
