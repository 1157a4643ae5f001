package model_test

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/tailorhq/tailor/catalog"
	"github.com/tailorhq/tailor/model"
	"github.com/tailorhq/tailor/model/ortest"
	"github.com/tailorhq/tailor/onnxbuild"
	"github.com/tailorhq/tailor/recommend"
)

// This file sorts before runtime_test.go, whose TestInitRuntime must be the
// first test to touch the runtime. So every test here that needs the runtime
// calls t.Parallel first: a parallel test pauses there until all sequential
// tests, TestInitRuntime included, have finished.

// The handles are what the recommendation flow consumes.
var (
	_ recommend.CF         = (*model.CFModel)(nil)
	_ recommend.Propensity = (*model.PropensityModel)(nil)
)

const realModels = "../models"

// catalogIDs reads the committed catalog's ids, the real CF vocabulary.
func catalogIDs(t testing.TB) []string {
	t.Helper()
	f, err := os.Open("../data/features/catalog.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c, err := catalog.ReadJSONL(f)
	if err != nil {
		t.Fatal(err)
	}
	return c.IDs()
}

// tinyModel builds a contract-abiding model of the given kind whose graph is
// nodes over inits, reading the input tensor and writing the output tensor of
// the contract. names is the vocabulary (cf) or the feature names (propensity).
func tinyModel(t testing.TB, kind, version string, names []string, outShape []onnxbuild.Dim,
	nodes []onnxbuild.Node, inits ...onnxbuild.Tensor) []byte {
	t.Helper()
	in, out, key := model.CFInput, model.CFOutput, model.MetaItemIDs
	if kind == model.KindPropensity {
		in, out, key = model.PropensityInput, model.PropensityOutput, model.MetaFeatureNames
	}
	list, _ := json.Marshal(names)
	m := onnxbuild.Model{
		ProducerName: "test",
		Metadata: meta("model_kind", kind, "name", kind, "version", version, "trained_at", "2011-11-01T00:00:00Z",
			"data_range", "2010-12-01/2011-10-31", key, string(list)),
		Graph: onnxbuild.Graph{
			Name: "g", Nodes: nodes, Initializers: inits,
			Inputs: []onnxbuild.ValueInfo{{Name: in, Elem: onnxbuild.ElemFloat,
				Shape: []onnxbuild.Dim{onnxbuild.Sym("batch"), onnxbuild.Fixed(int64(len(names)))}}},
			Outputs: []onnxbuild.ValueInfo{{Name: out, Elem: onnxbuild.ElemFloat, Shape: outShape}},
		},
	}
	b, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var items = []string{"a", "b", "c"}

func node(op string, out string, in ...string) onnxbuild.Node {
	return onnxbuild.Node{Name: out, OpType: op, Inputs: in, Outputs: []string{out}}
}

func cfShape(n int) []onnxbuild.Dim {
	return []onnxbuild.Dim{onnxbuild.Sym("batch"), onnxbuild.Fixed(int64(n))}
}

// scaledCF scores x as scale·x.
func scaledCF(t testing.TB, version string, scale float32) []byte {
	n := len(items)
	w := make([]float32, n*n)
	for i := range n {
		w[i*n+i] = scale
	}
	return tinyModel(t, model.KindCF, version, items, cfShape(n),
		[]onnxbuild.Node{node("MatMul", "scores", "interactions", "W")},
		onnxbuild.Tensor{Name: "W", Dims: []int64{int64(n), int64(n)}, Float32: w})
}

// nanCF adds log(-1) to item 1's score.
func nanCF(t testing.TB, version string) []byte {
	return tinyModel(t, model.KindCF, version, items, cfShape(3),
		[]onnxbuild.Node{node("Log", "lc", "c"), node("Add", "scores", "interactions", "lc")},
		onnxbuild.Tensor{Name: "c", Dims: []int64{3}, Float32: []float32{1, -1, 1}})
}

var feats = []string{"f0", "f1", "f2"}

// prop is a logistic model over feats; with sigmoid false it outputs the
// mean of the features, which the random warm-up puts above 1. With flat its
// output has shape [batch] rather than [batch, 1].
func prop(t testing.TB, version string, names []string, sigmoid, flat bool) []byte {
	n := int64(len(names))
	w := onnxbuild.Tensor{Name: "W", Dims: []int64{n, 1}, Float32: slices.Repeat([]float32{1 / float32(n)}, int(n))}
	shape := []onnxbuild.Dim{onnxbuild.Sym("batch"), onnxbuild.Fixed(1)}
	if flat {
		w.Dims, shape = []int64{n}, shape[:1]
	}
	nodes := []onnxbuild.Node{node("MatMul", "probability", "features", "W")}
	if sigmoid {
		nodes = []onnxbuild.Node{node("MatMul", "z", "features", "W"), node("Sigmoid", "probability", "z")}
	}
	return tinyModel(t, model.KindPropensity, version, names, shape, nodes, w)
}

// writeDir writes name → bytes into a fresh directory.
func writeDir(t testing.TB, files map[string][]byte) string {
	t.Helper()
	dir := t.TempDir()
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestRegistryServesTheCommittedModels(t *testing.T) {
	t.Parallel() // after TestInitRuntime; see the note at the top
	ortest.Init(t)
	ctx := context.Background()
	ids := catalogIDs(t)
	r, err := model.LoadRegistry(ctx, realModels, model.RegistryOptions{CatalogIDs: ids})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()

	ms := r.Models()
	if len(ms) != 2 || ms[0].Kind != model.KindCF || ms[1].Kind != model.KindPropensity {
		t.Fatalf("Models() = %v", ms)
	}
	cf, pm := r.CF(), r.Propensity()
	if cf.NameVersion() != ms[0].NameVersion() || pm.NameVersion() != ms[1].NameVersion() {
		t.Errorf("NameVersion: %s, %s; Models: %s, %s", cf.NameVersion(), pm.NameVersion(), ms[0].NameVersion(), ms[1].NameVersion())
	}
	if !slices.Equal(cf.ItemIDs(), ids) || !slices.Equal(pm.FeatureNames(), ms[1].Features) || len(pm.FeatureNames()) == 0 {
		t.Errorf("ItemIDs: %d ids; FeatureNames: %v", len(cf.ItemIDs()), pm.FeatureNames())
	}

	// A customer's interaction vector: log1p(invoices) on a few items.
	x := make([]float32, len(ids))
	for k, i := range []int{3, 17, 250, 1024, 3000} {
		x[i] = float32(math.Log1p(float64(k + 1)))
	}
	got, err := cf.Score(ctx, x)
	if err != nil {
		t.Fatal(err)
	}
	want := runIndependently(t, filepath.Join(realModels, "cf.onnx"), x, 1)
	if !slices.Equal(got, want) {
		t.Errorf("Score differs from an independent session (first: %v vs %v)", got[:3], want[:3])
	}

	rows := make([]float32, 5*len(pm.FeatureNames()))
	for i := range rows {
		rows[i] = float32(i%7) / 3
	}
	p, err := pm.Predict(ctx, rows, 5)
	if err != nil {
		t.Fatal(err)
	}
	if want := runIndependently(t, filepath.Join(realModels, "propensity.onnx"), rows, 5); !slices.Equal(p, want) {
		t.Errorf("Predict = %v, independent session %v", p, want)
	}

	if _, err := cf.Score(ctx, x[:10]); err == nil || !strings.Contains(err.Error(), cf.NameVersion()) {
		t.Errorf("Score(short x) = %v, want an error naming the model", err)
	}
	if _, err := pm.Predict(ctx, rows, 4); err == nil {
		t.Error("Predict(5 rows, n=4): want an error")
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := cf.Score(cancelled, x); !errors.Is(err, context.Canceled) {
		t.Errorf("Score(cancelled) = %v", err)
	}
	if _, err := pm.Predict(cancelled, rows, 5); !errors.Is(err, context.Canceled) {
		t.Errorf("Predict(cancelled) = %v", err)
	}
}

// runIndependently scores x with a session of its own on the file's bytes.
func runIndependently(t *testing.T, path string, x []float32, batch int) []float32 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	info, err := model.InspectBytes(path, b)
	if err != nil {
		t.Fatal(err)
	}
	s, err := model.NewSession(b, info, model.SessionOptions{IntraOpThreads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	y, err := s.Run(x, batch)
	if err != nil {
		t.Fatal(err)
	}
	return y
}

func TestRegistryRefusesBrokenModels(t *testing.T) {
	t.Parallel() // after TestInitRuntime; see the note at the top
	ortest.Init(t)
	good := map[string][]byte{"cf.onnx": scaledCF(t, "v1", 1), "propensity.onnx": prop(t, "p1", feats, true, false)}
	replace := func(name string, b []byte) map[string][]byte {
		m := maps.Clone(good)
		if b == nil {
			delete(m, name)
		} else {
			m[name] = b
		}
		return m
	}
	oneChanged := slices.Clone(catalogIDs(t))
	oneChanged[42] = "99999X"
	garbage := []byte("this is not an ONNX model")

	for _, tc := range []struct {
		name    string
		dir     string // used when files is nil
		files   map[string][]byte
		ids     []string // items when nil
		wantErr []string
	}{
		{"missing dir", "does-not-exist", nil, nil, []string{"does-not-exist", "models directory", "no such file"}},
		{"empty dir", "", map[string][]byte{"README.md": []byte("models go here")}, nil, []string{"no *.onnx models in"}},
		{"two cf models", "", replace("cf2.onnx", scaledCF(t, "v2", 2)), nil,
			[]string{"two cf models", "cf.onnx and ", "cf2.onnx"}},
		{"no propensity model", "", replace("propensity.onnx", nil), nil, []string{"no propensity model (model_kind=propensity) in"}},
		{"no cf model", "", replace("cf.onnx", nil), nil, []string{"no cf model (model_kind=cf) in"}},
		{"vocabulary differs from the catalog", realModels, nil, oneChanged,
			[]string{"cf@", "cf.onnx): vocabulary: item 42 is", `"99999X" in the catalog`}},
		{"vocabulary shorter than the catalog", "", good, []string{"a", "b", "c", "d"},
			[]string{"cf@v1 (", "cf.onnx): vocabulary: the model has 3 items and the catalog 4"}},
		{"NaN score", "", replace("cf.onnx", nanCF(t, "nan")), nil,
			[]string{"cf@nan (", "cf.onnx): warm-up: output 1 is NaN (zero input, batch 1)"}},
		{"infinite score", "", replace("cf.onnx", tinyModel(t, model.KindCF, "inf", items, cfShape(3),
			[]onnxbuild.Node{node("Reciprocal", "scores", "interactions")})), nil,
			[]string{"cf@inf (", "cf.onnx): warm-up: output 0 is +Inf (zero input, batch 1)"}},
		{"probability above 1", "", replace("propensity.onnx", prop(t, "raw", feats, false, false)), nil,
			[]string{"propensity@raw (", "propensity.onnx): warm-up: output 0 is", "outside [0, 1] (random input, batch 1)"}},
		{"garbage bytes", "", replace("cf.onnx", garbage), nil, []string{"cf.onnx: read signature"}},
		{"contract: wrong input name", "", replace("cf.onnx", marshal(t, cfGraph(3, "x", "scores", meta(goodCF...)))), nil,
			[]string{"cf.onnx: input: want one tensor \"interactions\""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := tc.dir
			if tc.files != nil {
				dir = writeDir(t, tc.files)
			} else if dir != realModels {
				dir = filepath.Join(t.TempDir(), dir)
			}
			ids := tc.ids
			if ids == nil {
				ids = items
			}
			r, err := model.LoadRegistry(context.Background(), dir, model.RegistryOptions{CatalogIDs: ids})
			if err == nil {
				r.Close()
				t.Fatal("LoadRegistry succeeded")
			}
			t.Log(err)
			for _, want := range tc.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q\ndoes not contain %q", err, want)
				}
			}
		})
	}

	if r, err := model.LoadRegistry(context.Background(), writeDir(t, good), model.RegistryOptions{}); err == nil {
		r.Close()
		t.Error("LoadRegistry without catalog ids succeeded")
	}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := model.LoadRegistry(cancelled, writeDir(t, good), model.RegistryOptions{CatalogIDs: items}); !errors.Is(err, context.Canceled) {
		t.Errorf("LoadRegistry(cancelled) = %v", err)
	}
}

func marshal(t testing.TB, m onnxbuild.Model) []byte {
	t.Helper()
	b, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func write(t testing.TB, dir, name string, b []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// score runs the CF handle on (1, 2, 3).
func score(t *testing.T, cf *model.CFModel) []float32 {
	t.Helper()
	y, err := cf.Score(context.Background(), []float32{1, 2, 3})
	if err != nil {
		t.Fatal(err)
	}
	return y
}

func TestCFScoreInto(t *testing.T) {
	t.Parallel() // after TestInitRuntime; see the note at the top
	ortest.Init(t)
	ctx := context.Background()
	r, _ := v1Registry(t, model.RegistryOptions{CatalogIDs: items})
	want := score(t, r.CF())
	for _, dst := range [][]float32{nil, make([]float32, 1), make([]float32, len(want)), make([]float32, 2, len(want)+5)} {
		got, err := r.CF().ScoreInto(ctx, []float32{1, 2, 3}, dst)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("ScoreInto(dst len %d cap %d) = %v, Score = %v", len(dst), cap(dst), got, want)
		}
		if cap(dst) >= len(want) && &got[0] != &dst[:1][0] {
			t.Errorf("ScoreInto(dst cap %d) did not write into dst", cap(dst))
		}
	}
}

func TestRegistryReloadAndRollback(t *testing.T) {
	t.Parallel() // after TestInitRuntime; see the note at the top
	ortest.Init(t)
	ctx := context.Background()
	r, dir := v1Registry(t, model.RegistryOptions{CatalogIDs: items, IntraOpThreads: 2})
	cf, pm := r.CF(), r.Propensity()
	check := func(step, wantVersion string, want []float32) {
		t.Helper()
		if got := cf.NameVersion(); got != wantVersion {
			t.Errorf("%s: NameVersion = %s, want %s", step, got, wantVersion)
		}
		if got := r.Models()[0].NameVersion(); got != wantVersion {
			t.Errorf("%s: Models()[0] = %s, want %s", step, got, wantVersion)
		}
		if got := score(t, cf); !slices.Equal(got, want) {
			t.Errorf("%s: Score = %v, want %v", step, got, want)
		}
	}
	check("load", "cf@v1", []float32{1, 2, 3})
	if err := r.Rollback(); err == nil {
		t.Error("Rollback right after load: want an error")
	}

	// A flat [batch] propensity output is accepted.
	p, err := pm.Predict(ctx, make([]float32, 2*len(feats)), 2)
	if err != nil || len(p) != 2 || p[0] != 0.5 {
		t.Errorf("Predict(zeros) = %v, %v; want [0.5 0.5]", p, err)
	}

	write(t, dir, "cf.onnx", scaledCF(t, "v2", 2))
	if err := r.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	check("reload v2", "cf@v2", []float32{2, 4, 6})
	served := r.Models()
	if err := r.Reload(ctx); err != nil { // nothing changed: Rollback must still reach v1
		t.Fatal(err)
	}
	if !slices.Equal(r.Models(), served) {
		t.Error("reload unchanged: Models() gives other *Info; want the same generation's")
	}
	check("reload unchanged", "cf@v2", []float32{2, 4, 6})

	write(t, dir, "cf.onnx", nanCF(t, "v3"))
	if err := r.Reload(ctx); err == nil || !strings.Contains(err.Error(), "cf@v3") || !strings.Contains(err.Error(), "warm-up") {
		t.Errorf("Reload(NaN model) = %v, want a warm-up error naming cf@v3", err)
	}
	check("failed reload", "cf@v2", []float32{2, 4, 6})

	write(t, dir, "cf.onnx", scaledCF(t, "v2", 2))
	write(t, dir, "propensity.onnx", prop(t, "p2", []string{"f0", "f2", "f1"}, true, true))
	if err := r.Reload(ctx); err == nil || !strings.Contains(err.Error(), "propensity@p2") || !strings.Contains(err.Error(), "feature names") {
		t.Errorf("Reload(reordered features) = %v, want a feature-names error", err)
	}
	if pm.NameVersion() != "propensity@p1" {
		t.Errorf("propensity after failed reload: %s", pm.NameVersion())
	}

	if err := r.Rollback(); err != nil {
		t.Fatal(err)
	}
	check("rollback", "cf@v1", []float32{1, 2, 3})
	if err := r.Rollback(); err == nil {
		t.Error("second Rollback: want an error")
	}

	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := cf.Score(ctx, []float32{1, 2, 3}); !errors.Is(err, model.ErrClosed) {
		t.Errorf("Score after Close = %v, want ErrClosed", err)
	}
	if cf.NameVersion() != "" || r.Models() != nil || r.Reload(ctx) == nil || r.Rollback() == nil || r.Close() != nil {
		t.Error("after Close: want empty names and models, Reload and Rollback errors, Close nil")
	}
}

// TestRegistryConcurrentSwaps scores from 8 goroutines while models are
// reloaded, rolled back and finally closed. Run it with -race.
func TestRegistryConcurrentSwaps(t *testing.T) {
	t.Parallel() // after TestInitRuntime; see the note at the top
	ortest.Init(t)
	ctx := context.Background()
	dir := writeDir(t, map[string][]byte{"cf.onnx": scaledCF(t, "s1", 1), "propensity.onnx": prop(t, "p1", feats, true, false)})
	r, err := model.LoadRegistry(ctx, dir, model.RegistryOptions{CatalogIDs: items})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()

	var wg sync.WaitGroup
	var calls atomic.Int64
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			cf, pm := r.CF(), r.Propensity()
			for {
				y, err := cf.Score(ctx, []float32{1, 2, 3})
				if errors.Is(err, model.ErrClosed) {
					return
				}
				if err == nil {
					calls.Add(1)
					if len(y) != 3 || y[1] != 2*y[0] || y[2] != 3*y[0] || (y[0] != 1 && y[0] != 2 && y[0] != 3) {
						err = errors.New("torn or wrong scores")
					}
				}
				if err == nil {
					_, err = pm.Predict(ctx, make([]float32, 6), 2)
				}
				if err != nil && !errors.Is(err, model.ErrClosed) {
					errs <- err
					return
				}
				_, _ = cf.NameVersion(), r.Models()
			}
		})
	}
	for i := range 20 {
		write(t, dir, "cf.onnx", scaledCF(t, "s"+string(rune('a'+i)), float32(1+i%3)))
		if err := r.Reload(ctx); err != nil {
			t.Error(err)
		}
		if i%3 == 2 {
			if err := r.Rollback(); err != nil {
				t.Error(err)
			}
		}
	}
	if err := r.Close(); err != nil {
		t.Error(err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if calls.Load() == 0 {
		t.Error("no Score call completed")
	}
	t.Logf("%d scores during 20 reloads and 6 rollbacks", calls.Load())
}

// TestRegistryRefusesANewModelUnderTheServedVersion: responses, metrics and
// the answer cache tell models apart by name@version, so other bytes under
// the served name@version would be served unnoticed (and cached answers of
// the old model reused).
func TestRegistryRefusesANewModelUnderTheServedVersion(t *testing.T) {
	t.Parallel() // after TestInitRuntime; see the note at the top
	ortest.Init(t)
	ctx := context.Background()
	r, dir := v1Registry(t, model.RegistryOptions{CatalogIDs: items})
	write(t, dir, "cf.onnx", scaledCF(t, "v1", 2))
	if err := r.Reload(ctx); err == nil || !strings.Contains(err.Error(), "cf@v1") || !strings.Contains(err.Error(), "version") {
		t.Errorf("Reload(other bytes as cf@v1) = %v, want an error naming cf@v1 and its version", err)
	}
	if got := score(t, r.CF()); !slices.Equal(got, []float32{1, 2, 3}) {
		t.Errorf("after the refused reload: Score = %v, want the served model's [1 2 3]", got)
	}
}

// v1Registry loads cf@v1 (scaledCF, factor 1) and propensity@p1 from a
// directory of their own, closed when the test ends.
func v1Registry(t *testing.T, opts model.RegistryOptions) (*model.Registry, string) {
	t.Helper()
	dir := writeDir(t, map[string][]byte{"cf.onnx": scaledCF(t, "v1", 1), "propensity.onnx": prop(t, "p1", feats, true, true)})
	r, err := model.LoadRegistry(context.Background(), dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r, dir
}

// TestRegistryCheckRefusesModels: RegistryOptions.Check is asked about
// every model at load and at reload, and its refusal names the model.
func TestRegistryCheckRefusesModels(t *testing.T) {
	t.Parallel() // after TestInitRuntime; see the note at the top
	ortest.Init(t)
	ctx := context.Background()
	var asked []string
	opts := model.RegistryOptions{CatalogIDs: items, Check: func(i *model.Info) error {
		asked = append(asked, i.NameVersion())
		if i.Version == "v9" {
			return errors.New("v9 is withdrawn")
		}
		return nil
	}}
	r, dir := v1Registry(t, opts)
	if want := []string{"cf@v1", "propensity@p1"}; !slices.Equal(asked, want) {
		t.Errorf("Check asked about %v at load, want %v", asked, want)
	}
	write(t, dir, "cf.onnx", scaledCF(t, "v9", 2))
	err := r.Reload(ctx)
	if err == nil || !strings.Contains(err.Error(), "model cf@v9") || !strings.Contains(err.Error(), "check: v9 is withdrawn") {
		t.Errorf("Reload(v9) = %v, want the check's refusal naming cf@v9", err)
	}
	if got := r.CF().NameVersion(); got != "cf@v1" {
		t.Errorf("after the refused reload: %s, want cf@v1", got)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if r2, err := model.LoadRegistry(ctx, dir, opts); err == nil || !strings.Contains(err.Error(), "check: v9 is withdrawn") {
		if r2 != nil {
			r2.Close()
		}
		t.Errorf("LoadRegistry with cf@v9 = %v, want the check's refusal", err)
	}
}
