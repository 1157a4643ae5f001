// Package model loads ONNX models through ONNX Runtime: the runtime
// environment, sessions, the registry of loaded models, contract validation,
// warm-up and hot swap.
package model

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	ort "github.com/yalue/onnxruntime_go"
)

// RequiredRuntimeVersion is the ONNX Runtime release the project is built and
// tested against (C API 24, as onnxruntime_go v1.27.0 expects).
const RequiredRuntimeVersion = "1.24.1"

// ErrNoRuntimeLibrary is returned by InitRuntime for an empty library path.
var ErrNoRuntimeLibrary = errors.New("model: no ONNX Runtime library path: set TAILOR_ONNXRUNTIME_LIB " +
	"to libonnxruntime.so.1 of ONNX Runtime " + RequiredRuntimeVersion +
	", or run scripts/onnxruntime.sh to fetch it and print its path")

// ortState records the one initialisation of ONNX Runtime in this process.
var ortState struct {
	mu   sync.Mutex
	done bool   // InitializeEnvironment has been attempted
	path string // the library path it was attempted with
	err  error  // its result
}

// InitRuntime loads the ONNX Runtime shared library at libPath and creates the
// process-wide ONNX Runtime environment. It does so once per process: later
// calls with the same path return the first call's result, and a call with a
// different path returns an error. An empty or missing path is reported
// without using up that one attempt. InitRuntime is safe for concurrent use.
func InitRuntime(libPath string) error {
	if libPath == "" {
		return ErrNoRuntimeLibrary
	}
	clean := filepath.Clean(libPath)

	ortState.mu.Lock()
	defer ortState.mu.Unlock()
	if ortState.done {
		if clean != ortState.path {
			return fmt.Errorf("model: ONNX Runtime is already initialised from %s; "+
				"it cannot be loaded again from %s in the same process", ortState.path, clean)
		}
		return ortState.err
	}

	if _, err := os.Stat(clean); err != nil {
		return fmt.Errorf("model: ONNX Runtime library: %w; set TAILOR_ONNXRUNTIME_LIB to "+
			"libonnxruntime.so.1 of ONNX Runtime %s, or run scripts/onnxruntime.sh",
			err, RequiredRuntimeVersion)
	}

	ortState.done, ortState.path = true, clean
	ort.SetSharedLibraryPath(clean)
	if err := ort.InitializeEnvironment(); err != nil {
		ortState.err = fmt.Errorf("model: initialising ONNX Runtime from %s (want version %s): %w",
			clean, RequiredRuntimeVersion, err)
	}
	return ortState.err
}

// RuntimeVersion returns the version of the loaded ONNX Runtime library, such
// as "1.24.1", or "" before InitRuntime has succeeded.
func RuntimeVersion() string {
	ortState.mu.Lock()
	defer ortState.mu.Unlock()
	if !ortState.done || ortState.err != nil {
		return ""
	}
	return ort.GetVersion()
}
