package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// ortLib is the runtime library as ortest.Init finds it; run initialises
// the runtime itself, so the test only needs the path.
func ortLib(t *testing.T) string {
	t.Helper()
	lib := os.Getenv("TAILOR_ONNXRUNTIME_LIB")
	if lib == "" {
		t.Fatal("TAILOR_ONNXRUNTIME_LIB is not set: run `make test`, or set it to the path printed by scripts/onnxruntime.sh")
	}
	return lib
}

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestRunServes(t *testing.T) {
	lib := ortLib(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	outR, outW := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := run(ctx, []string{"serve"}, env(map[string]string{
			"TAILOR_ADDR":            "127.0.0.1:0",
			"TAILOR_MODELS_DIR":      filepath.Join("..", "..", "models"),
			"TAILOR_FEATURES_DIR":    filepath.Join("..", "..", "data", "features"),
			"TAILOR_ONNXRUNTIME_LIB": lib,
		}), outW, io.Discard)
		outW.CloseWithError(err)
		done <- err
	}()

	// The first line of stdout names the address actually bound.
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(outR)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var base string
	for base == "" {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("run stopped before printing its address: %v", <-done)
			}
			if _, addr, found := strings.Cut(line, "listening on "); found {
				base = addr
			}
		case <-time.After(30 * time.Second):
			t.Fatal("run printed no address within 30s")
		}
	}
	go func() { // keep draining stdout
		for range lines {
		}
	}()

	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz not 200 within 10s: %v %v", resp, err)
		}
		time.Sleep(20 * time.Millisecond)
	}

	var health map[string]string
	get(t, base+"/healthz", http.StatusOK, "application/json", &health)
	if health["status"] != "ok" {
		t.Errorf("/healthz = %v", health)
	}

	var ready struct {
		Status string   `json:"status"`
		Models []string `json:"models"`
	}
	get(t, base+"/readyz", http.StatusOK, "application/json", &ready)
	if ready.Status != "ready" || len(ready.Models) != 2 {
		t.Errorf("/readyz = %+v", ready)
	}

	var models []modelView
	get(t, base+"/v1/models", http.StatusOK, "application/json", &models)
	kinds := map[string]modelView{}
	for _, m := range models {
		kinds[m.Kind] = m
		if m.Name == "" || m.Version == "" || m.TrainedAt == "" || m.DataRange == "" || m.Path == "" {
			t.Errorf("/v1/models: incomplete entry %+v", m)
		}
	}
	if _, ok := kinds["cf"]; !ok || len(models) != 2 {
		t.Errorf("/v1/models = %+v; want cf and propensity", models)
	}
	if _, ok := kinds["propensity"]; !ok {
		t.Errorf("/v1/models = %+v; want cf and propensity", models)
	}

	var p struct {
		Type   string `json:"type"`
		Title  string `json:"title"`
		Status int    `json:"status"`
		Detail string `json:"detail"`
	}
	get(t, base+"/no/such/thing", http.StatusNotFound, "application/problem+json", &p)
	if p.Type != "about:blank" || p.Status != 404 || p.Title != "Not Found" || p.Detail == "" {
		t.Errorf("404 problem = %+v", p)
	}

	resp, err := http.Post(base+"/v1/recommendations", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotImplemented || resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("POST /v1/recommendations: %s %s", resp.Status, resp.Header.Get("Content-Type"))
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run returned %v after cancel; want nil", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("run did not return within 15s of cancel")
	}
}

func get(t *testing.T, url string, status int, contentType string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != status {
		t.Errorf("GET %s: status %d, want %d", url, resp.StatusCode, status)
	}
	if ct := resp.Header.Get("Content-Type"); ct != contentType {
		t.Errorf("GET %s: Content-Type %q, want %q", url, ct, contentType)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Errorf("GET %s: decode: %v", url, err)
	}
}

func TestRunRefusesToStart(t *testing.T) {
	lib := ortLib(t)
	garbage := t.TempDir()
	if err := os.WriteFile(filepath.Join(garbage, "cf.onnx"), []byte("this is not an ONNX model"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, dir, lib, want string
	}{
		{"broken model", garbage, lib, "cf.onnx"},
		{"empty models dir", t.TempDir(), lib, "no *.onnx models"},
		{"missing models dir", filepath.Join(t.TempDir(), "nope"), lib, "models directory"},
		{"no runtime library", t.TempDir(), "", "TAILOR_ONNXRUNTIME_LIB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := run(t.Context(), []string{"serve"}, env(map[string]string{
				"TAILOR_ADDR":            "127.0.0.1:0",
				"TAILOR_MODELS_DIR":      tc.dir,
				"TAILOR_ONNXRUNTIME_LIB": tc.lib,
			}), io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("run = %v; want an error mentioning %q", err, tc.want)
			}
		})
	}
}
