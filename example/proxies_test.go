//go:build unix

package main

// What the forward-auth tests share: nginx and Caddy each run as a process
// of the test's own, configured by the README's block for it.

import (
	"net"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// proxyBinary finds the proxy name (on PATH, or at one of also), or skips
// the test with hint; with PRIVATEVIDEO_REQUIRE_TOOLS set (as .ci/run does)
// a missing proxy fails it.
func proxyBinary(t *testing.T, name, hint string, also ...string) string {
	t.Helper()
	bin, err := exec.LookPath(name)
	if err == nil {
		return bin
	}
	for _, p := range also {
		if _, serr := os.Stat(p); serr == nil {
			return p
		}
	}
	if os.Getenv("PRIVATEVIDEO_REQUIRE_TOOLS") != "" {
		t.Fatalf("%s is required (PRIVATEVIDEO_REQUIRE_TOOLS is set) but not found: %v", name, err)
	}
	t.Skipf("%s not found: %s", name, hint)
	return ""
}

// readmeForwardAuth returns the README's tested configuration in lang: the
// first ```lang block of its "Forward-auth" section, with each pair of
// replace (what the README says, what the test runs) replaced.
func readmeForwardAuth(t *testing.T, lang string, replace ...[2]string) string {
	t.Helper()
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "\n## Forward-auth")
	if !ok {
		t.Fatal(`README.md has no "## Forward-auth" section`)
	}
	if i := strings.Index(section, "\n## "); i >= 0 {
		section = section[:i]
	}
	m := regexp.MustCompile("(?s)\n```" + regexp.QuoteMeta(lang) + "\n(.*?)\n```\n").FindStringSubmatch(section)
	if m == nil {
		t.Fatalf("the README's Forward-auth section has no ```%s block", lang)
	}
	block := m[1]
	for _, r := range replace {
		if !strings.Contains(block, r[0]) {
			t.Fatalf("the README's %s block has no %q to replace", lang, r[0])
		}
		block = strings.ReplaceAll(block, r[0], r[1])
	}
	return block
}

// runProxy starts cmd, a proxy that is to listen on addr, and waits until
// it does. At the end of the test it stops it with stop (killing it after
// 5 s); output says what it printed, for a failure's message.
func runProxy(t *testing.T, cmd *exec.Cmd, addr string, stop os.Signal, listenWithin time.Duration, output func() string) {
	t.Helper()
	name := cmd.Path[strings.LastIndex(cmd.Path, "/")+1:]
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlives the test
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Signal(stop)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("%s output:\n%s", name, output())
		}
	})
	for deadline := time.Now().Add(listenWithin); ; time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return
		}
		select {
		case <-exited:
			t.Fatalf("%s exited at start:\n%s", name, output())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not listen on %s:\n%s", name, addr, output())
		}
	}
}
