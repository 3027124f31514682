package reports

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"time"
)

// CodeVersionEnv overrides the code version Write records (a CI job that builds from an archive
// rather than a checkout sets it).
const CodeVersionEnv = "IROHCONF_CODE_VERSION"

// CodeVersion names the irohconf code a run in dir ran: $IROHCONF_CODE_VERSION, else
// `git describe --always --dirty` of the checkout that holds dir (a run folder lives in
// reports/runs of the checkout that ran it), else "" when dir is in no checkout.
func CodeVersion(dir string) string {
	if v := strings.TrimSpace(os.Getenv(CodeVersionEnv)); v != "" {
		return v
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "git", "-C", dir, "describe", "--always", "--dirty").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}
