package trainer

import (
	"encoding/json"
	"fmt"

	"github.com/tailorhq/tailor/model"
	"github.com/tailorhq/tailor/onnxbuild"
	"github.com/tailorhq/tailor/propensity"
)

// splitArtifact encodes a ModeSplit of two tree sub-models (each boosted
// from a logistic regression) as one graph over every column, with no
// branch computed twice:
//
//	probability = Sigmoid(TreeEnsembleRegressor(features) + GatherElements(features · W + b, mode))
//
// The ensemble pairs the sub-models' trees: tree t is a root that splits on
// the mode column with auto's tree t below it on one side (≤ 0.5) and
// discover's on the other; W's two columns are the sub-models' weights placed at their columns
// (0 elsewhere), b their biases plus the trees' base values, and whether the
// mode column is above 0.5, cast to an index (0 auto, 1 discover), picks one.
func (m *Models) splitArtifact(s *propensity.ModeSplit) (*Artifact, error) {
	auto, ok1 := s.Auto.(*propensity.Trees)
	disc, ok2 := s.Discover.(*propensity.Trees)
	if lin, ok := s.Discover.(*propensity.Model); ok {
		disc, ok2 = &propensity.Trees{Features: lin.Features, Linear: lin}, true // no trees
	}
	if !ok1 || !ok2 || auto.Linear == nil || disc.Linear == nil {
		return nil, fmt.Errorf("propensity mode split: the auto sub-model must be trees boosted from a logistic regression, the discover one the same or a logistic regression")
	}
	f := int64(len(s.Features))
	names, err := json.Marshal(s.Features)
	if err != nil {
		return nil, err
	}
	merged := &propensity.Trees{Features: s.Features}
	w := make([]float32, 2*len(s.Features)) // [f, 2], row-major
	bias := make([]float32, 2)
	subs := []struct {
		t    *propensity.Trees
		cols []int
	}{{auto, s.AutoColumns}, {disc, s.DiscoverColumns}}
	// Tree t of the ensemble: a root on the mode column, auto's tree t on
	// the left (≤ 0.5), discover's on the right (a leaf of 0 where a
	// sub-model has fewer trees), so each row walks as many trees as one
	// sub-model has, one node deeper.
	for t := range max(len(auto.Trees), len(disc.Trees)) {
		nodes := []propensity.TreeNode{{Feature: s.ModeColumn, Threshold: 0.5}}
		for k, sub := range subs {
			at := len(nodes)
			if k == 0 {
				nodes[0].Left = at
			} else {
				nodes[0].Right = at
			}
			if t >= len(sub.t.Trees) {
				nodes = append(nodes, propensity.TreeNode{Feature: -1})
				continue
			}
			for _, nd := range sub.t.Trees[t].Nodes {
				if nd.Feature >= 0 {
					nd.Feature, nd.Left, nd.Right = sub.cols[nd.Feature], nd.Left+at, nd.Right+at
				}
				nodes = append(nodes, nd)
			}
		}
		merged.Trees = append(merged.Trees, propensity.Tree{Nodes: nodes})
	}
	for k, sub := range subs {
		for c, v := range sub.t.Linear.Weights {
			w[sub.cols[c]*2+k] = v
		}
		bias[k] = sub.t.Linear.Bias + sub.t.Base
	}
	attrs := treeAttrs(merged)
	digest := attrsDigest(attrs)
	digest = append(append(digest, w...), bias...)
	g := onnxbuild.Graph{
		Name: "tailor_propensity_mode_split",
		Nodes: []onnxbuild.Node{
			{Name: "trees", OpType: "TreeEnsembleRegressor", Domain: onnxbuild.DomainML,
				Inputs: []string{model.PropensityInput}, Outputs: []string{"tree_logit"}, Attrs: attrs},
			{Name: "linear", OpType: "MatMul", Inputs: []string{model.PropensityInput, "w"}, Outputs: []string{"linear_raw"}},
			{Name: "bias", OpType: "Add", Inputs: []string{"linear_raw", "b"}, Outputs: []string{"linear_both"}},
			{Name: "mode_gather", OpType: "Gather", Inputs: []string{model.PropensityInput, "mode_column"}, Outputs: []string{"mode"},
				Attrs: []onnxbuild.Attr{onnxbuild.IntAttr("axis", 1)}},
			{Name: "is_discover", OpType: "Greater", Inputs: []string{"mode", "half"}, Outputs: []string{"discover"}},
			{Name: "mode_index", OpType: "Cast", Inputs: []string{"discover"}, Outputs: []string{"mode_int"},
				Attrs: []onnxbuild.Attr{onnxbuild.IntAttr("to", int64(onnxbuild.ElemInt64))}},
			{Name: "select", OpType: "GatherElements", Inputs: []string{"linear_both", "mode_int"}, Outputs: []string{"linear_logit"},
				Attrs: []onnxbuild.Attr{onnxbuild.IntAttr("axis", 1)}},
			{Name: "sum", OpType: "Add", Inputs: []string{"tree_logit", "linear_logit"}, Outputs: []string{"logit"}},
			{Name: "sigmoid", OpType: "Sigmoid", Inputs: []string{"logit"}, Outputs: []string{model.PropensityOutput}},
		},
		Initializers: []onnxbuild.Tensor{
			{Name: "w", Dims: []int64{f, 2}, Float32: w},
			{Name: "b", Dims: []int64{2}, Float32: bias},
			{Name: "mode_column", Dims: []int64{1}, Int64: []int64{int64(s.ModeColumn)}},
			{Name: "half", Dims: []int64{1}, Float32: []float32{0.5}},
		},
		Inputs:  []onnxbuild.ValueInfo{{Name: model.PropensityInput, Elem: onnxbuild.ElemFloat, Shape: []onnxbuild.Dim{onnxbuild.Sym("batch"), onnxbuild.Fixed(f)}}},
		Outputs: []onnxbuild.ValueInfo{{Name: model.PropensityOutput, Elem: onnxbuild.ElemFloat, Shape: []onnxbuild.Dim{onnxbuild.Sym("batch"), onnxbuild.Fixed(1)}}},
	}
	params, _ := json.Marshal(auto.Params)
	ver := version(m.Cut, float32Bytes(digest, []float32{float32(s.ModeColumn)}), names, params)
	return m.propensityArtifact(g, ver,
		"two sub-models selected by the discover_mode column: for auto, a logistic regression (Newton/IRLS) whose logit gradient-boosted regression trees correct, trained on the auto and discover candidates; for discover, the same recipe trained on the discover candidates alone, with the co-purchase feature",
		params, names,
		"Tailor purchase propensity: probability = sigmoid(trees(features) + (features · W + b)[discover_mode]); the trees of each mode's sub-model sit under a root split on discover_mode",
		onnxbuild.OpsetImport{Domain: onnxbuild.DomainML, Version: mlOpset})
}
