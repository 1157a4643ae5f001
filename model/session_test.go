package model_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tailorhq/tailor/model"
	"github.com/tailorhq/tailor/model/ortest"
	"github.com/tailorhq/tailor/onnxbuild"
)

// cfGraph is a tiny identity-like CF model over n items with the given names.
func cfGraph(n int64, in, out string, meta []onnxbuild.Property) onnxbuild.Model {
	w := make([]float32, n*n)
	for i := int64(0); i < n; i++ {
		w[i*n+i] = 1
	}
	return onnxbuild.Model{
		ProducerName: "test",
		Metadata:     meta,
		Graph: onnxbuild.Graph{
			Name:         "g",
			Nodes:        []onnxbuild.Node{{Name: "mm", OpType: "MatMul", Inputs: []string{in, "B"}, Outputs: []string{out}}},
			Initializers: []onnxbuild.Tensor{{Name: "B", Dims: []int64{n, n}, Float32: w}},
			Inputs:       []onnxbuild.ValueInfo{{Name: in, Elem: onnxbuild.ElemFloat, Shape: []onnxbuild.Dim{onnxbuild.Sym("batch"), onnxbuild.Fixed(n)}}},
			Outputs:      []onnxbuild.ValueInfo{{Name: out, Elem: onnxbuild.ElemFloat, Shape: []onnxbuild.Dim{onnxbuild.Sym("batch"), onnxbuild.Fixed(n)}}},
		},
	}
}

func meta(kv ...string) []onnxbuild.Property {
	var p []onnxbuild.Property
	for i := 0; i+1 < len(kv); i += 2 {
		p = append(p, onnxbuild.Property{Key: kv[i], Value: kv[i+1]})
	}
	return p
}

var goodCF = []string{"model_kind", "cf", "name", "cf", "version", "v1", "trained_at", "2011-11-01T00:00:00Z",
	"data_range", "2010-12-01/2011-10-31", "item_ids", `["a","b","c"]`}

func with(base []string, key, value string) []string {
	out := append([]string(nil), base...)
	for i := 0; i < len(out); i += 2 {
		if out[i] == key {
			if value == "" {
				return append(out[:i], out[i+2:]...)
			}
			out[i+1] = value
			return out
		}
	}
	return append(out, key, value)
}

// TestInspectChecksTheContract writes models that break one rule each and
// requires Inspect to refuse them with an error naming the check.
func TestInspectChecksTheContract(t *testing.T) {
	ortest.Init(t)
	for _, tc := range []struct {
		name    string
		model   onnxbuild.Model
		wantErr string
	}{
		{"good cf", cfGraph(3, "interactions", "scores", meta(goodCF...)), ""},
		{"no version", cfGraph(3, "interactions", "scores", meta(with(goodCF, "version", "")...)), `"version" is missing`},
		{"no data range", cfGraph(3, "interactions", "scores", meta(with(goodCF, "data_range", "")...)), `"data_range" is missing`},
		{"unknown kind", cfGraph(3, "interactions", "scores", meta(with(goodCF, "model_kind", "ranker")...)), `"model_kind" is "ranker"`},
		{"vocabulary not JSON", cfGraph(3, "interactions", "scores", meta(with(goodCF, "item_ids", "a,b,c")...)), `"item_ids" must be`},
		{"vocabulary size differs", cfGraph(3, "interactions", "scores", meta(with(goodCF, "item_ids", `["a","b"]`)...)), "want shape [batch, 2]"},
		{"wrong input name", cfGraph(3, "x", "scores", meta(goodCF...)), `want one tensor "interactions"`},
		{"wrong output name", cfGraph(3, "interactions", "y", meta(goodCF...)), `want one tensor "scores"`},
		{"propensity without feature names", cfGraph(3, "features", "probability",
			meta(with(with(goodCF, "model_kind", "propensity"), "item_ids", "")...)), `"feature_names" must be`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := tc.model.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "m.onnx")
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
			info, err := model.Inspect(path)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if info.NameVersion() != "cf@v1" || len(info.ItemIDs) != 3 {
					t.Errorf("info: %s, %d items", info.NameVersion(), len(info.ItemIDs))
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), path) {
				t.Fatalf("Inspect = %v, want an error naming %s and containing %q", err, path, tc.wantErr)
			}
		})
	}
}

func TestSessionRunsAModel(t *testing.T) {
	ortest.Init(t)
	m := cfGraph(3, "interactions", "scores", meta(goodCF...))
	b, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	info, err := model.InspectBytes("mem", b)
	if err != nil {
		t.Fatal(err)
	}
	s, err := model.NewSession(b, info, model.SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.Run([]float32{1, 2, 3, 4, 5, 6}, 2)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []float32{1, 2, 3, 4, 5, 6} {
		if got[i] != want {
			t.Fatalf("out = %v", got)
		}
	}
	if _, err := s.Run([]float32{1, 2}, 1); err == nil {
		t.Error("want an error for a short input")
	}
}

func TestSameItems(t *testing.T) {
	if err := model.SameItems([]string{"a", "b"}, []string{"a", "b"}); err != nil {
		t.Error(err)
	}
	if err := model.SameItems([]string{"a", "b"}, []string{"a", "c"}); err == nil || !strings.Contains(err.Error(), `item 1 is "b"`) {
		t.Errorf("got %v", err)
	}
	if err := model.SameItems([]string{"a"}, []string{"a", "c"}); err == nil {
		t.Error("want a length error")
	}
}
