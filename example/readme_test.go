//go:build unix

package main

import (
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The README's first command, run as the README says, from the repository
// root, serves a player URL that opens. Only the address is changed, through
// the environment, so that the command stays the README's.
func TestReadmeFirstCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the server with go run")
	}
	t.Parallel()
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	// The "Set up" table's row: | run the edge server … | `go run ./example` |
	m := regexp.MustCompile("(?m)^\\| run the edge server[^|]*\\| `([^`]+)` \\|").FindSubmatch(readme)
	if m == nil {
		t.Fatal("README.md has no \"run the edge server\" row with a command")
	}
	command := strings.Fields(string(m[1]))
	if len(command) < 2 || command[0] != "go" || command[1] != "run" {
		t.Fatalf("the README's command %q is not a go run", m[1])
	}

	cmd := exec.Command(command[0], command[1:]...)
	cmd.Dir = ".."
	cmd.Env = append(cleanEnv(), envName("addr")+"=127.0.0.1:0")
	// go run starts the server as its child: signal the whole group.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stderr := new(lockedBuffer)
	cmd.Stderr = stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
	})

	banner, err := readBanner(stdout, 2*time.Minute)
	if err != nil {
		t.Fatalf("%s: %v\nstderr:\n%s", m[1], err, stderr)
	}
	player := bannerField(banner, "Player URL:")
	if !strings.HasPrefix(player, "http://127.0.0.1:") || !strings.Contains(player, "?token=") {
		t.Fatalf("no player URL in the banner:\n%s", banner)
	}
	if bannerField(banner, "API key:") == "" {
		t.Errorf("no API key in the banner:\n%s", banner)
	}
	resp, body := get(t, viewer(t, "browser/1.0"), player, "Accept", "text/html")
	wantStatus(t, "the printed player URL", resp, body, http.StatusOK)
	if !strings.Contains(string(body), "<video") {
		t.Errorf("the player URL answered no player:\n%.300s", body)
	}
}
