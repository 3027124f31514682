package containers

import (
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
)

// ImageRepo is the repository of the upstream images; the tag is the iroh version.
const ImageRepo = "irohconf/upstream"

// Image labels: what the image holds, so a stale image (another binary) is rebuilt.
const (
	labelBinarySHA256 = "org.irohconf.binary-sha256"
	labelVersion      = "org.irohconf.iroh-version"
)

//go:embed upstream/Dockerfile
var dockerfile []byte

// ImageTag is the image of one version: irohconf/upstream:<version>.
func ImageTag(v Version) string { return ImageRepo + ":" + string(v) }

// imageBuilds serializes image builds within this process, per tag.
var imageBuilds sync.Map // tag → *sync.Mutex

// ensureImage builds irohconf/upstream:<version> from the binary unless an image with that tag
// already holds this very binary (same SHA-256). Building FROM scratch pulls nothing.
func ensureImage(ctx context.Context, cli *client.Client, v Version, binary string, log io.Writer) (string, error) {
	tag := ImageTag(v)
	mu, _ := imageBuilds.LoadOrStore(tag, &sync.Mutex{})
	mu.(*sync.Mutex).Lock()
	defer mu.(*sync.Mutex).Unlock()

	sum, err := fileSHA256(binary)
	if err != nil {
		return "", err
	}
	var previousID string
	inspect, err := cli.ImageInspect(ctx, tag)
	if err == nil {
		if inspect.Config != nil && inspect.Config.Labels[labelBinarySHA256] == sum {
			return tag, nil
		}
		previousID = inspect.ID
	}

	buildContext, err := os.MkdirTemp("", "irohconf-upstream-image-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(buildContext)
	if err := os.WriteFile(filepath.Join(buildContext, "Dockerfile"), dockerfile, 0o644); err != nil {
		return "", err
	}
	if err := linkOrCopy(binary, filepath.Join(buildContext, "iroh-upstream")); err != nil {
		return "", err
	}

	provider, err := testcontainers.NewDockerProvider(testcontainers.WithLogger(printfLogger{log}))
	if err != nil {
		return "", fmt.Errorf("docker provider: %w", err)
	}
	defer provider.Close()
	req := &testcontainers.ContainerRequest{FromDockerfile: testcontainers.FromDockerfile{
		Context:        buildContext,
		Repo:           ImageRepo,
		Tag:            string(v),
		KeepImage:      true,
		BuildLogWriter: io.Discard,
		BuildOptionsModifier: func(o *client.ImageBuildOptions) {
			o.Labels = map[string]string{labelBinarySHA256: sum, labelVersion: string(v)}
		},
	}}
	if _, err := provider.BuildImage(ctx, req); err != nil {
		return "", fmt.Errorf("building %s from %s: %w", tag, binary, err)
	}
	fmt.Fprintf(log, "upstream-%s: built image %s (binary sha256 %s)\n", v, tag, sum[:12])
	removeUntagged(ctx, cli, previousID)
	return tag, nil
}

// removeUntagged removes images of ours that lost their tag to a rebuild (this one's, or one
// in another process at the same time), so rebuilds do not pile up. An image a container still
// uses stays; a later rebuild removes it.
func removeUntagged(ctx context.Context, cli *client.Client, previousID string) {
	ids := map[string]bool{}
	if previousID != "" {
		ids[previousID] = true
	}
	list, err := cli.ImageList(ctx, client.ImageListOptions{
		Filters: make(client.Filters).Add("dangling", "true").Add("label", labelBinarySHA256),
	})
	if err == nil {
		for _, img := range list.Items {
			ids[img.ID] = true
		}
	}
	for id := range ids {
		_, _ = cli.ImageRemove(ctx, id, client.ImageRemoveOptions{PruneChildren: true})
	}
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("reading %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func linkOrCopy(from, to string) error {
	if err := os.Link(from, to); err == nil {
		return nil
	}
	src, err := os.Open(from)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return err
	}
	return dst.Close()
}

// printfLogger sends testcontainers' own log lines to our log instead of stderr.
type printfLogger struct{ w io.Writer }

func (l printfLogger) Printf(format string, args ...any) {
	if l.w == nil {
		return
	}
	fmt.Fprintf(l.w, "testcontainers: "+format+"\n", args...)
}
