package virtual

import (
	"os/exec"
	"syscall"
)

// The board gets its own process group (so a kill reaches anything it started) and dies with
// the test process if that one is killed before it can call Stop.
func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

func killGroup(cmd *exec.Cmd) {
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
}
