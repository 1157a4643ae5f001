package main

import (
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
)

func TestDebugServerServesProfilesUntilStopped(t *testing.T) {
	d, err := startDebug("127.0.0.1:0", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + d.addr.String()
	resp, err := http.Get(base + "/debug/pprof/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "goroutine") {
		t.Fatalf("GET /debug/pprof/: %d %.200s", resp.StatusCode, body)
	}
	if err := d.stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	// The freed port may have been bound since by another test process's
	// listener: only a profile index means this one still answers.
	if resp, err := http.Get(base + "/debug/pprof/"); err == nil {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK && strings.Contains(string(body), "goroutine") {
			t.Fatal("the debug listener still answers after stop")
		}
		t.Logf("after stop, another listener on the freed port answered %d: not the debug server", resp.StatusCode)
	}
	if _, err := startDebug("127.0.0.1:-1", slog.New(slog.DiscardHandler)); err == nil {
		t.Fatal("a bad address started a debug listener")
	}
}
