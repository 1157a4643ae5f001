package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSignalWhileLoading sends SIGHUP to a server that is still loading its
// models. Whatever the signal does, it must not kill the process (SIGHUP's
// default action): the reload waits until the server is ready. The server
// runs in a child process (this test binary again), since a signal that is
// not handled would end the whole test binary.
func TestSignalWhileLoading(t *testing.T) {
	if os.Getenv("TAILOR_TEST_SIGNALS_CHILD") == "1" {
		signalsChild(t)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestSignalWhileLoading$", "-test.v")
	cmd.Env = append(os.Environ(), "TAILOR_TEST_SIGNALS_CHILD=1")
	out, err := cmd.CombinedOutput()
	t.Logf("child:\n%s", out)
	if err != nil {
		t.Fatalf("child: %v", err) // "signal: hangup" when SIGHUP killed it
	}
}

// signalsChild runs the server with the process's own signals, sends itself
// SIGHUP as soon as the server listens (before the models are ready), then
// waits until the server is ready and has logged the reload, which changed
// nothing.
func signalsChild(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	outR, outW := io.Pipe()
	logR, logW := io.Pipe()
	done := make(chan error, 1)
	env := testEnv(t, nil)
	go func() {
		err := run(ctx, []string{"serve"}, env, outW, io.MultiWriter(logW, os.Stderr))
		outW.CloseWithError(err)
		logW.CloseWithError(err)
		done <- err
	}()
	lines := bufio.NewScanner(outR)
	if !lines.Scan() {
		t.Fatalf("no output: %v", <-done)
	}
	_, addr, _ := strings.Cut(lines.Text(), "listening on ")
	base := strings.Fields(addr)[0]
	go func() {
		for lines.Scan() {
		}
	}()
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	if resp, err := http.Get(base + "/readyz"); err == nil {
		resp.Body.Close()
		t.Logf("/readyz when SIGHUP was sent: %d", resp.StatusCode)
	}
	reloaded := make(chan string, 1)
	go func() {
		logs := bufio.NewScanner(logR)
		for logs.Scan() {
			if strings.Contains(logs.Text(), "reload") {
				reloaded <- logs.Text()
				break
			}
		}
		for logs.Scan() {
		}
	}()
	select {
	case line := <-reloaded:
		// The files are the ones being served: nothing was swapped.
		if !strings.Contains(line, "models unchanged") || strings.Contains(line, "swapped") {
			t.Errorf("reload of the served files logged %s; want \"models unchanged\"", line)
		}
	case err := <-done:
		t.Fatalf("run returned %v before the reload", err)
	case <-time.After(30 * time.Second):
		t.Fatal("no reload logged within 30s")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
