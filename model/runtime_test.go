package model_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/tailorhq/tailor/model"
	"github.com/tailorhq/tailor/model/ortest"
)

// TestInitRuntime must run before any other test of this package initialises
// the runtime: go test runs tests in file order, and every other test that
// calls ortest.Init lives in a file that sorts after runtime_test.go.
//
// It walks the one-per-process life of the runtime in order, so
// it is a single test: errors that leave the runtime untouched, the real
// initialisation, then repeated and conflicting calls.
func TestInitRuntime(t *testing.T) {
	if v := model.RuntimeVersion(); v != "" {
		t.Errorf("RuntimeVersion before InitRuntime = %q, want \"\"", v)
	}

	err := model.InitRuntime("")
	if !errors.Is(err, model.ErrNoRuntimeLibrary) {
		t.Errorf("InitRuntime(\"\") = %v, want ErrNoRuntimeLibrary", err)
	}
	for _, want := range []string{"TAILOR_ONNXRUNTIME_LIB", "scripts/onnxruntime.sh"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("InitRuntime(\"\") = %v, want it to mention %s", err, want)
		}
	}

	missing := filepath.Join(t.TempDir(), "libonnxruntime.so.1")
	err = model.InitRuntime(missing)
	if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "TAILOR_ONNXRUNTIME_LIB") {
		t.Errorf("InitRuntime(missing) = %v, want a not-exist error naming TAILOR_ONNXRUNTIME_LIB", err)
	}

	// The failures above must not have used up the one initialisation.
	ortest.Init(t)
	lib := os.Getenv(ortest.EnvVar)

	if v := model.RuntimeVersion(); v != model.RequiredRuntimeVersion {
		t.Errorf("RuntimeVersion = %q, want %q", v, model.RequiredRuntimeVersion)
	}

	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() { errs[i] = model.InitRuntime(lib) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("repeated InitRuntime(%s) #%d = %v, want nil", lib, i, err)
		}
	}

	// A different path is refused, whether or not a file is there.
	if err := model.InitRuntime(missing); err == nil || !strings.Contains(err.Error(), "already initialised") {
		t.Errorf("InitRuntime(other path) = %v, want an already-initialised error", err)
	}
	if err := model.InitRuntime(""); !errors.Is(err, model.ErrNoRuntimeLibrary) {
		t.Errorf("InitRuntime(\"\") after init = %v, want ErrNoRuntimeLibrary", err)
	}
}
