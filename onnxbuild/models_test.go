package onnxbuild_test

import (
	"math"
	"testing"

	"github.com/tailorhq/tailor/onnxbuild"
)

// The test models, each with a plain Go computation of what it should output.

// seq returns n deterministic, varied float32 values.
func seq(n int, scale float32, offset int) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = scale * float32(((i+offset)*37)%17-8)
	}
	return out
}

// matmul multiplies a [r,c] by b [c,k] (row-major) in float64.
func matmul(a []float64, b []float32, r, c, k int) []float64 {
	out := make([]float64, r*k)
	for i := 0; i < r; i++ {
		for j := 0; j < k; j++ {
			var s float64
			for l := 0; l < c; l++ {
				s += a[i*c+l] * float64(b[l*k+j])
			}
			out[i*k+j] = s
		}
	}
	return out
}

func to64(x []float32) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v)
	}
	return out
}

func sigmoid(z float64) float64 { return 1 / (1 + math.Exp(-z)) }

func floatIO(name string, dims ...onnxbuild.Dim) onnxbuild.ValueInfo {
	return onnxbuild.ValueInfo{Name: name, Elem: onnxbuild.ElemFloat, Shape: dims}
}

// denseModel: y = sigmoid(x W + b), x [batch,4], W [4,3], b [3], y [batch,3].
var (
	denseW = seq(4*3, 0.25, 1)
	denseB = []float32{0.1, -0.2, 0.3}
)

func denseModel() *onnxbuild.Model {
	return &onnxbuild.Model{
		ProducerName:    "tailor-test",
		ProducerVersion: "0.1",
		Domain:          "com.tailorhq.test",
		DocString:       "dense test model",
		ModelVersion:    3,
		Metadata: []onnxbuild.Property{
			{Key: "model_kind", Value: "test"},
			{Key: "version", Value: "2011-10-31.1"},
			{Key: "feature_names", Value: `["a","b","c","d"]`},
		},
		Graph: onnxbuild.Graph{
			Name: "dense",
			Nodes: []onnxbuild.Node{
				{Name: "matmul", OpType: "MatMul", Inputs: []string{"x", "W"}, Outputs: []string{"xw"}},
				{Name: "add", OpType: "Add", Inputs: []string{"xw", "b"}, Outputs: []string{"z"}},
				{Name: "sigmoid", OpType: "Sigmoid", Inputs: []string{"z"}, Outputs: []string{"y"}},
			},
			Initializers: []onnxbuild.Tensor{
				{Name: "W", Dims: []int64{4, 3}, Float32: denseW},
				{Name: "b", Dims: []int64{3}, Float32: denseB},
			},
			Inputs:  []onnxbuild.ValueInfo{floatIO("x", onnxbuild.Sym("batch"), onnxbuild.Fixed(4))},
			Outputs: []onnxbuild.ValueInfo{floatIO("y", onnxbuild.Sym("batch"), onnxbuild.Fixed(3))},
		},
	}
}

func denseWant(x []float32, batch int) []float64 {
	z := matmul(to64(x), denseW, batch, 4, 3)
	for i := range z {
		z[i] = sigmoid(z[i] + float64(denseB[i%3]))
	}
	return z
}

// cfModel: scores = (interactions W) Yt, the low-rank shape of the
// collaborative-filtering contract, with n items and k factors.
const cfN, cfK = 7, 3

var (
	cfW  = seq(cfN*cfK, 0.5, 2)
	cfYt = seq(cfK*cfN, 0.125, 5)
)

func cfModel() *onnxbuild.Model {
	return &onnxbuild.Model{
		ProducerName: "tailor-test",
		Metadata: []onnxbuild.Property{
			{Key: "model_kind", Value: "cf"},
			{Key: "version", Value: "test-1"},
			{Key: "items", Value: `["85123A","71053","84406B","84029G","84029E","22752","21730"]`},
		},
		Graph: onnxbuild.Graph{
			Name: "cf_low_rank",
			Nodes: []onnxbuild.Node{
				{Name: "fold_in", OpType: "MatMul", Inputs: []string{"interactions", "W"}, Outputs: []string{"factors"}},
				{Name: "score", OpType: "MatMul", Inputs: []string{"factors", "Yt"}, Outputs: []string{"scores"}},
			},
			Initializers: []onnxbuild.Tensor{
				{Name: "W", Dims: []int64{cfN, cfK}, Float32: cfW},
				{Name: "Yt", Dims: []int64{cfK, cfN}, Float32: cfYt},
			},
			Inputs:  []onnxbuild.ValueInfo{floatIO("interactions", onnxbuild.Sym("batch"), onnxbuild.Fixed(cfN))},
			Outputs: []onnxbuild.ValueInfo{floatIO("scores", onnxbuild.Sym("batch"), onnxbuild.Fixed(cfN))},
		},
	}
}

func cfWant(x []float32, batch int) []float64 {
	return matmul(matmul(to64(x), cfW, batch, cfN, cfK), cfYt, batch, cfK, cfN)
}

// propensityModel exercises INTS, FLOAT and INT attributes and an int64
// initializer: probability = reshape(sigmoid(0.5 * features wRowᵀ + b), [-1]),
// features [batch,3], probability [batch].
var (
	propW = []float32{0.8, -1.5, 2.25}
	propB = []float32{-0.3}
)

func propensityModel() *onnxbuild.Model {
	return &onnxbuild.Model{
		ProducerName: "tailor-test",
		Metadata: []onnxbuild.Property{
			{Key: "model_kind", Value: "propensity"},
			{Key: "feature_names", Value: `["recency_days","frequency","monetary"]`},
		},
		Graph: onnxbuild.Graph{
			Name: "propensity",
			Nodes: []onnxbuild.Node{
				{Name: "transpose", OpType: "Transpose", Inputs: []string{"w_row"}, Outputs: []string{"w_col"},
					Attrs: []onnxbuild.Attr{onnxbuild.IntsAttr("perm", 1, 0)}},
				{Name: "gemm", OpType: "Gemm", Inputs: []string{"features", "w_col", "b"}, Outputs: []string{"logit"},
					Attrs: []onnxbuild.Attr{onnxbuild.FloatAttr("alpha", 0.5), onnxbuild.IntAttr("transB", 0)}},
				{Name: "sigmoid", OpType: "Sigmoid", Inputs: []string{"logit"}, Outputs: []string{"p"}},
				{Name: "flatten", OpType: "Reshape", Inputs: []string{"p", "shape"}, Outputs: []string{"probability"}},
			},
			Initializers: []onnxbuild.Tensor{
				{Name: "w_row", Dims: []int64{1, 3}, Float32: propW},
				{Name: "b", Dims: []int64{1}, Float32: propB},
				{Name: "shape", Dims: []int64{1}, Int64: []int64{-1}},
			},
			Inputs:  []onnxbuild.ValueInfo{floatIO("features", onnxbuild.Sym("batch"), onnxbuild.Fixed(3))},
			Outputs: []onnxbuild.ValueInfo{floatIO("probability", onnxbuild.Sym("batch"))},
		},
	}
}

func propensityWant(x []float32, batch int) []float64 {
	out := make([]float64, batch)
	for i := range out {
		var s float64
		for j := 0; j < 3; j++ {
			s += float64(x[i*3+j]) * float64(propW[j])
		}
		out[i] = sigmoid(0.5*s + float64(propB[0]))
	}
	return out
}

func mustMarshal(t testing.TB, m *onnxbuild.Model) []byte {
	t.Helper()
	b, err := m.Marshal()
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	return b
}

// treeModel exercises a second operator set (ai.onnx.ml) and STRINGS
// attributes: y = sigmoid(TreeEnsembleRegressor(x)), x [batch,2], y
// [batch,1], with one stump on x0 ≤ 0.5 and one leaf, plus a base value.
func treeModel() *onnxbuild.Model {
	return &onnxbuild.Model{
		ProducerName: "tailor-test",
		Opsets:       []onnxbuild.OpsetImport{{Domain: onnxbuild.DomainML, Version: 3}},
		Metadata:     []onnxbuild.Property{{Key: "model_kind", Value: "propensity"}, {Key: "version", Value: "trees-1"}},
		Graph: onnxbuild.Graph{
			Name: "trees",
			Nodes: []onnxbuild.Node{
				{Name: "ensemble", OpType: "TreeEnsembleRegressor", Domain: onnxbuild.DomainML, Inputs: []string{"x"}, Outputs: []string{"logit"},
					Attrs: []onnxbuild.Attr{
						onnxbuild.FloatsAttr("base_values", 0.25),
						onnxbuild.IntAttr("n_targets", 1),
						onnxbuild.IntsAttr("nodes_falsenodeids", 2, 0, 0, 0),
						onnxbuild.IntsAttr("nodes_featureids", 0, 0, 0, 0),
						onnxbuild.StringsAttr("nodes_modes", "BRANCH_LEQ", "LEAF", "LEAF", "LEAF"),
						onnxbuild.IntsAttr("nodes_nodeids", 0, 1, 2, 0),
						onnxbuild.IntsAttr("nodes_treeids", 0, 0, 0, 1),
						onnxbuild.IntsAttr("nodes_truenodeids", 1, 0, 0, 0),
						onnxbuild.FloatsAttr("nodes_values", 0.5, 0, 0, 0),
						onnxbuild.IntsAttr("target_ids", 0, 0, 0),
						onnxbuild.IntsAttr("target_nodeids", 1, 2, 0),
						onnxbuild.IntsAttr("target_treeids", 0, 0, 1),
						onnxbuild.FloatsAttr("target_weights", -1, 2, 0.5),
					}},
				{Name: "sigmoid", OpType: "Sigmoid", Inputs: []string{"logit"}, Outputs: []string{"y"}},
			},
			Inputs:  []onnxbuild.ValueInfo{floatIO("x", onnxbuild.Sym("batch"), onnxbuild.Fixed(2))},
			Outputs: []onnxbuild.ValueInfo{floatIO("y", onnxbuild.Sym("batch"), onnxbuild.Fixed(1))},
		},
	}
}

func treeWant(x []float32, batch int) []float64 {
	out := make([]float64, batch)
	for r := range out {
		z := 0.25 + 0.5 + 2
		if x[r*2] <= 0.5 {
			z = 0.25 + 0.5 - 1
		}
		out[r] = sigmoid(z)
	}
	return out
}
