// Package peers holds the drivers that start and talk to each kind of peer (the Go peer
// in-process, upstream iroh in Docker, boards and the virtual board over a serial console),
// and the manifests in which each peer declares what it can do. The suites build their
// matrix from here; cases never see a driver, only the framework's interfaces.
package peers

import (
	"embed"
	"fmt"

	"github.com/irohconf/irohconf/suites/framework"
)

//go:embed manifests/*.yaml
var manifestFiles embed.FS

// Manifest returns the declared manifest of a peer kind (go, upstream, virtual-board, board,
// iroh-esp32-example).
func Manifest(kind string) (framework.Manifest, error) {
	data, err := manifestFiles.ReadFile("manifests/" + kind + ".yaml")
	if err != nil {
		return framework.Manifest{}, fmt.Errorf("no manifest for peer kind %q", kind)
	}
	m, err := framework.ParseManifest(data)
	if err != nil {
		return framework.Manifest{}, fmt.Errorf("manifests/%s.yaml: %w", kind, err)
	}
	return m, nil
}
