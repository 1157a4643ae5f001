package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tailorhq/tailor/catalog"
	"github.com/tailorhq/tailor/model"
	"github.com/tailorhq/tailor/model/ortest"
	"github.com/tailorhq/tailor/trainer"
)

const repo = "../.."

// committed lists every file `make models` writes, relative to the repo.
var committed = []string{
	"models/cf.onnx", "models/cf.card.json", "models/propensity.onnx", "models/propensity.card.json",
	"data/features/catalog.jsonl", "data/features/items.jsonl.gz", "data/features/customers.jsonl.gz",
}

// TestTrainReproducesCommittedFiles runs the trainer exactly as `make models`
// does, into temporary directories, and requires every output to be
// byte-identical to the committed one: training is deterministic and the
// committed models are the ones this code trains. The committed cards are
// copied in first, as `make models` finds them in models/, so their
// validation blocks (written by `make evaluate`) carry over while the
// model files are unchanged.
func TestTrainReproducesCommittedFiles(t *testing.T) {
	ortest.Init(t)
	if testing.Short() {
		t.Skip("trains the full models (about a minute)")
	}
	tmp := t.TempDir()
	for _, f := range []string{"models/cf.card.json", "models/propensity.card.json"} {
		b, err := os.ReadFile(filepath.Join(repo, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := trainer.WriteFile(filepath.Join(tmp, f), b); err != nil {
			t.Fatal(err)
		}
	}
	env := map[string]string{"TAILOR_ONNXRUNTIME_LIB": os.Getenv(ortest.EnvVar)}
	var stdout, stderr bytes.Buffer
	args := []string{"train", "-data", filepath.Join(repo, "data/online-retail"),
		"-models", filepath.Join(tmp, "models"), "-features", filepath.Join(tmp, "data/features")}
	if err := run(context.Background(), args, func(k string) string { return env[k] }, &stdout, &stderr); err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}
	for _, want := range []string{"cf@", "propensity@", "3970 customers"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout.String())
		}
	}
	if !strings.Contains(stderr.String(), "verified through ONNX Runtime") {
		t.Errorf("the trainer did not verify the models through ONNX Runtime:\n%s", stderr.String())
	}
	for _, f := range committed {
		got, err := os.ReadFile(filepath.Join(tmp, f))
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile(filepath.Join(repo, f))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: a fresh training run wrote %d bytes that differ from the committed %d: run `make models` and commit", f, len(got), len(want))
		}
	}
}

// TestCommittedModelsFollowTheContract loads the committed models through
// ONNX Runtime and checks the metadata the contract names.
func TestCommittedModelsFollowTheContract(t *testing.T) {
	ortest.Init(t)
	f, err := os.Open(filepath.Join(repo, "data/features/catalog.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cat, err := catalog.ReadJSONL(f)
	if err != nil {
		t.Fatal(err)
	}
	cfInfo, err := model.Inspect(filepath.Join(repo, "models/cf.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	if cfInfo.Kind != model.KindCF || cfInfo.Name != "cf" || cfInfo.Version == "" {
		t.Errorf("cf metadata: kind %q name %q version %q", cfInfo.Kind, cfInfo.Name, cfInfo.Version)
	}
	if err := model.SameItems(cfInfo.ItemIDs, cat.IDs()); err != nil {
		t.Errorf("cf vocabulary vs catalog: %v", err)
	}
	for _, k := range []string{model.MetaTrainedAt, model.MetaDataRange} {
		if cfInfo.Meta[k] == "" {
			t.Errorf("cf metadata %q is empty", k)
		}
	}
	if got := cfInfo.Meta[model.MetaDataRange]; got != "2010-12-01/2011-10-31" {
		t.Errorf("cf data_range = %q", got)
	}
	pInfo, err := model.Inspect(filepath.Join(repo, "models/propensity.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	if pInfo.Kind != model.KindPropensity || len(pInfo.Features) == 0 {
		t.Errorf("propensity metadata: kind %q, %d features", pInfo.Kind, len(pInfo.Features))
	}
}

// TestCommittedModelsPassTheONNXChecker runs Debian's onnx checker (onnx
// 1.12, full_check) on every committed model. `make test` installs it; under
// CI its absence is a failure.
func TestCommittedModelsPassTheONNXChecker(t *testing.T) {
	const py = "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import onnx").Run(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("python3-onnx is missing under CI: %v", err)
		}
		t.Skipf("python3-onnx is not installed (make test installs it): %v", err)
	}
	files, _ := filepath.Glob(filepath.Join(repo, "models/*.onnx"))
	if len(files) < 2 {
		t.Fatalf("want at least 2 committed models, have %v", files)
	}
	for _, f := range files {
		out, err := exec.Command(py, "-c", "import onnx,sys; m=onnx.load(sys.argv[1]); onnx.checker.check_model(m, full_check=True); "+
			"assert m.ir_version <= 8, m.ir_version; "+
			"assert all(o.version <= (3 if o.domain == 'ai.onnx.ml' else 17) for o in m.opset_import), m.opset_import", f).CombinedOutput()
		if err != nil {
			t.Errorf("%s: %v\n%s", f, err, out)
		}
	}
}

func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{{"train", "-cut", "2011-13-01"}, {"train", "-nope"}} {
		err := run(context.Background(), args, func(string) string { return "" }, &bytes.Buffer{}, &bytes.Buffer{})
		if err == nil {
			t.Errorf("%v: want an error", args)
		}
	}
	err := run(context.Background(), []string{"train", "-data", t.TempDir()}, func(string) string { return "" }, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "TAILOR_ONNXRUNTIME_LIB") {
		t.Errorf("without a runtime library: %v", err)
	}
}
