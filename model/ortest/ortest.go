// Package ortest gives tests the ONNX Runtime environment. Tests of any
// package that run a model call Init first; `make test` sets
// TAILOR_ONNXRUNTIME_LIB from scripts/onnxruntime.sh.
package ortest

import (
	"os"
	"testing"

	"github.com/tailorhq/tailor/model"
)

// EnvVar names the environment variable holding the path of
// libonnxruntime.so.1.
const EnvVar = "TAILOR_ONNXRUNTIME_LIB"

// Init initialises ONNX Runtime from the library named by
// TAILOR_ONNXRUNTIME_LIB, once per test binary, and fails the test when the
// variable is empty or the library does not load.
func Init(t testing.TB) {
	t.Helper()
	lib := os.Getenv(EnvVar)
	if lib == "" {
		t.Fatal("TAILOR_ONNXRUNTIME_LIB is not set: run `make test`, or set it to the path printed by scripts/onnxruntime.sh")
	}
	if err := model.InitRuntime(lib); err != nil {
		t.Fatalf("ONNX Runtime from %s=%s: %v", EnvVar, lib, err)
	}
}
