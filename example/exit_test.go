//go:build unix

package main

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

// A bad value stops the server before it listens, with a message and exit
// status 2; -help prints every flag with its variable and exits 0.
func TestExitStatus(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		args   []string
		env    []string
		status int
		out    string // in stdout for 0, in stderr otherwise
	}{
		{[]string{"-hash-key", "abcd"}, nil, 2, "-hash-key: want at least 32 bytes"},
		{[]string{"-mode", "tab"}, nil, 2, "-mode"},
		{nil, []string{"PRIVATEVIDEO_SESSION_TTL=forever"}, 2, "PRIVATEVIDEO_SESSION_TTL"},
		{[]string{"-addr", "127.0.0.1:0", "-store", "memcached://x"}, nil, 2, "-store"},
		{[]string{"-help"}, nil, 0, "PRIVATEVIDEO_PUBLIC_URL"},
	} {
		cmd := exec.Command(edgeBinary, c.args...)
		cmd.Env = append(cleanEnv(), c.env...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		cmd.Run()
		if got := cmd.ProcessState.ExitCode(); got != c.status {
			t.Errorf("%q %q: exit status %d, want %d; stderr: %s", c.env, c.args, got, c.status, stderr.String())
		}
		out := stderr.String()
		if c.status == 0 {
			out = stdout.String()
		}
		if !strings.Contains(out, c.out) {
			t.Errorf("%q %q: output %q does not say %q", c.env, c.args, out, c.out)
		}
	}
}
