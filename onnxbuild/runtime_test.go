package onnxbuild_test

import (
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/tailorhq/tailor/model/ortest"
	"github.com/tailorhq/tailor/onnxbuild"
)

// These tests load the marshalled models into the real ONNX Runtime.

// run feeds x with shape inShape to the model's single input and returns its
// single output, with the output's shape.
func run(t *testing.T, sess *ort.DynamicAdvancedSession, x []float32, inShape ort.Shape) ([]float32, ort.Shape) {
	t.Helper()
	in, err := ort.NewTensor(inShape, x)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Destroy()
	outs := []ort.Value{nil} // let the runtime allocate the output
	if err := sess.Run([]ort.Value{in}, outs); err != nil {
		t.Fatalf("Run: %v", err)
	}
	defer outs[0].Destroy()
	out, ok := outs[0].(*ort.Tensor[float32])
	if !ok {
		t.Fatalf("output is %T, want *ort.Tensor[float32]", outs[0])
	}
	return slices.Clone(out.GetData()), slices.Clone(out.GetShape())
}

// near reports whether got is within 1e-5 relative of want (with an absolute
// floor of 1e-6 for values near zero).
func near(got float32, want float64) bool {
	return math.Abs(float64(got)-want) <= 1e-5*math.Abs(want)+1e-6
}

func compare(t *testing.T, what string, got []float32, want []float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range got {
		if !near(got[i], want[i]) {
			t.Errorf("%s[%d] = %v, want %v", what, i, got[i], want[i])
		}
	}
}

func TestRuntimeOutputs(t *testing.T) {
	ortest.Init(t)
	tests := []struct {
		build    func() *onnxbuild.Model
		in, out  string
		width    int   // features per row of the input
		outShape []int // output dims after batch
		want     func([]float32, int) []float64
	}{
		{denseModel, "x", "y", 4, []int{3}, denseWant},
		{cfModel, "interactions", "scores", cfN, []int{cfN}, cfWant},
		{propensityModel, "features", "probability", 3, nil, propensityWant},
		{treeModel, "x", "y", 2, []int{1}, treeWant},
	}
	for _, tt := range tests {
		m := tt.build()
		t.Run(m.Graph.Name, func(t *testing.T) {
			data := mustMarshal(t, m)
			sess, err := ort.NewDynamicAdvancedSessionWithONNXData(data, []string{tt.in}, []string{tt.out}, nil)
			if err != nil {
				t.Fatalf("ONNX Runtime rejects the model: %v", err)
			}
			defer sess.Destroy()
			for _, batch := range []int{1, 2, 5} {
				x := seq(batch*tt.width, 0.3, batch)
				got, shape := run(t, sess, x, ort.NewShape(int64(batch), int64(tt.width)))
				wantShape := ort.NewShape(int64(batch))
				for _, d := range tt.outShape {
					wantShape = append(wantShape, int64(d))
				}
				if !slices.Equal(shape, wantShape) {
					t.Errorf("batch %d: output shape %v, want %v", batch, shape, wantShape)
				}
				compare(t, tt.out, got, tt.want(x, batch))
			}
		})
	}
}

// TestRuntimeFromFile loads the CF model from a file, as the server will,
// with a fixed-shape AdvancedSession.
func TestRuntimeFromFile(t *testing.T) {
	ortest.Init(t)
	path := filepath.Join(t.TempDir(), "cf.onnx")
	if err := os.WriteFile(path, mustMarshal(t, cfModel()), 0o644); err != nil {
		t.Fatal(err)
	}
	const batch = 3
	x := make([]float32, batch*cfN)
	x[0], x[3], x[cfN+1], x[2*cfN+6], x[2*cfN+2] = 1, 2.5, 1, 0.5, 3
	in, err := ort.NewTensor(ort.NewShape(batch, cfN), x)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Destroy()
	out, err := ort.NewEmptyTensor[float32](ort.NewShape(batch, cfN))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Destroy()
	sess, err := ort.NewAdvancedSession(path, []string{"interactions"}, []string{"scores"},
		[]ort.Value{in}, []ort.Value{out}, nil)
	if err != nil {
		t.Fatalf("ONNX Runtime rejects %s: %v", path, err)
	}
	defer sess.Destroy()
	if err := sess.Run(); err != nil {
		t.Fatal(err)
	}
	compare(t, "scores", out.GetData(), cfWant(x, batch))
}

func TestRuntimeMetadata(t *testing.T) {
	ortest.Init(t)
	m := denseModel()
	path := filepath.Join(t.TempDir(), "dense.onnx")
	if err := os.WriteFile(path, mustMarshal(t, m), 0o644); err != nil {
		t.Fatal(err)
	}
	md, err := ort.GetModelMetadata(path)
	if err != nil {
		t.Fatal(err)
	}
	defer md.Destroy()

	for _, p := range m.Metadata {
		v, ok, err := md.LookupCustomMetadataMap(p.Key)
		if err != nil || !ok || v != p.Value {
			t.Errorf("metadata %q = %q, %v, %v; want %q", p.Key, v, ok, err, p.Value)
		}
	}
	if _, ok, err := md.LookupCustomMetadataMap("absent"); ok || err != nil {
		t.Errorf("metadata \"absent\": found %v, error %v", ok, err)
	}
	keys, err := md.GetCustomMetadataMapKeys()
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(keys)
	if want := []string{"feature_names", "model_kind", "version"}; !slices.Equal(keys, want) {
		t.Errorf("metadata keys %v, want %v", keys, want)
	}

	check := func(what string, get func() (string, error), want string) {
		t.Helper()
		if got, err := get(); err != nil || got != want {
			t.Errorf("%s = %q, %v; want %q", what, got, err, want)
		}
	}
	check("producer", md.GetProducerName, m.ProducerName)
	check("graph name", md.GetGraphName, m.Graph.Name)
	check("domain", md.GetDomain, m.Domain)
	check("description", md.GetDescription, m.DocString)
	if v, err := md.GetVersion(); err != nil || v != m.ModelVersion {
		t.Errorf("version = %d, %v; want %d", v, err, m.ModelVersion)
	}
}

func TestRuntimeInputOutputInfo(t *testing.T) {
	ortest.Init(t)
	tests := []struct {
		build   func() *onnxbuild.Model
		in, out ort.InputOutputInfo
	}{
		{denseModel,
			ort.InputOutputInfo{Name: "x", Dimensions: ort.Shape{-1, 4}},
			ort.InputOutputInfo{Name: "y", Dimensions: ort.Shape{-1, 3}}},
		{cfModel,
			ort.InputOutputInfo{Name: "interactions", Dimensions: ort.Shape{-1, cfN}},
			ort.InputOutputInfo{Name: "scores", Dimensions: ort.Shape{-1, cfN}}},
		{propensityModel,
			ort.InputOutputInfo{Name: "features", Dimensions: ort.Shape{-1, 3}},
			ort.InputOutputInfo{Name: "probability", Dimensions: ort.Shape{-1}}},
	}
	for _, tt := range tests {
		m := tt.build()
		ins, outs, err := ort.GetInputOutputInfoWithONNXData(mustMarshal(t, m))
		if err != nil {
			t.Fatalf("%s: %v", m.Graph.Name, err)
		}
		for _, c := range []struct {
			got  []ort.InputOutputInfo
			want ort.InputOutputInfo
		}{{ins, tt.in}, {outs, tt.out}} {
			if len(c.got) != 1 {
				t.Errorf("%s: %d infos, want 1 (%v)", m.Graph.Name, len(c.got), c.got)
				continue
			}
			g := c.got[0]
			if g.Name != c.want.Name || g.OrtValueType != ort.ONNXTypeTensor ||
				g.DataType != ort.TensorElementDataTypeFloat || !slices.Equal(g.Dimensions, c.want.Dimensions) {
				t.Errorf("%s: got %s, want float tensor %q %v", m.Graph.Name, &g, c.want.Name, c.want.Dimensions)
			}
		}
	}
}
