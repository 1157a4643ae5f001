package onnxbuild_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tailorhq/tailor/onnxbuild"
)

// python is Debian's interpreter, whose python3-onnx package (onnx 1.12) the
// checker test uses; a pyenv or virtualenv python on PATH may lack it.
const python = "/usr/bin/python3"

// checkerScript runs the ONNX checker with full_check, which also runs strict
// shape and type inference.
const checkerScript = `import onnx, sys
onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True)`

// requireONNXChecker skips the test when Debian's python3-onnx is missing,
// except under CI (CI=true), where the Makefile installs it and its absence
// is a failure.
func requireONNXChecker(t *testing.T) {
	t.Helper()
	out, err := exec.Command(python, "-c", "import onnx").CombinedOutput()
	if err == nil {
		return
	}
	msg := "the ONNX checker needs " + python + " with the onnx module (Debian package python3-onnx): "
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s%v\n%s", msg, err, out)
	}
	t.Skipf("%s%v (install python3-onnx to run this test)", msg, err)
}

func TestONNXChecker(t *testing.T) {
	requireONNXChecker(t)
	dir := t.TempDir()
	for _, build := range []func() *onnxbuild.Model{denseModel, cfModel, propensityModel, treeModel} {
		m := build()
		path := filepath.Join(dir, m.Graph.Name+".onnx")
		if err := os.WriteFile(path, mustMarshal(t, m), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(python, "-c", checkerScript, path).CombinedOutput()
		if err != nil {
			t.Errorf("onnx.checker rejects %s: %v\n%s", m.Graph.Name, err, out)
		}
	}
}

// TestONNXCheckerCatchesErrors makes sure the checker test can fail: a model
// that Marshal accepts but whose shapes do not fit (MatMul of [batch,4] by
// [3,3]) must be rejected.
func TestONNXCheckerCatchesErrors(t *testing.T) {
	requireONNXChecker(t)
	m := denseModel()
	m.Graph.Initializers[0] = onnxbuild.Tensor{Name: "W", Dims: []int64{3, 3}, Float32: make([]float32, 9)}
	path := filepath.Join(t.TempDir(), "bad.onnx")
	if err := os.WriteFile(path, mustMarshal(t, m), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(python, "-c", checkerScript, path).CombinedOutput()
	if err == nil {
		t.Fatalf("onnx.checker accepted a MatMul of [batch,4] by [3,3]\n%s", out)
	}
	if !strings.Contains(string(out), "Incompatible dimensions") {
		t.Errorf("onnx.checker failed for another reason than the shapes: %v\n%s", err, out)
	}
}

// TestONNXCheckerCommittedModels runs the checker on the shipped models
// (models/*.onnx), whose graphs the trainer assembles beyond the shapes
// above (the propensity model's mode split: Gather, Greater, Cast,
// GatherElements and paired trees).
func TestONNXCheckerCommittedModels(t *testing.T) {
	requireONNXChecker(t)
	paths, err := filepath.Glob(filepath.Join("..", "models", "*.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Skip("no committed models")
	}
	for _, path := range paths {
		out, err := exec.Command(python, "-c", checkerScript, path).CombinedOutput()
		if err != nil {
			t.Errorf("onnx.checker rejects %s: %v\n%s", path, err, out)
		}
	}
}
