package trainer

import (
	"encoding/json"

	"github.com/tailorhq/tailor/model"
	"github.com/tailorhq/tailor/onnxbuild"
	"github.com/tailorhq/tailor/propensity"
)

// mlOpset is the ai.onnx.ml version the tree ensemble is written at: the
// highest that onnx 1.12's checker knows, and ONNX Runtime reads it.
const mlOpset = 3

// treesArtifact encodes the gradient-boosted trees as
// probability = Sigmoid(TreeEnsembleRegressor(features) [+ features · w + b]),
// [batch, 1], the linear term when the trees were boosted from the logistic
// regression's logit.
func (m *Models) treesArtifact() (*Artifact, error) {
	e := m.Trees
	f := int64(len(e.Features))
	names, err := json.Marshal(e.Features)
	if err != nil {
		return nil, err
	}
	params, _ := json.Marshal(e.Params)
	attrs := treeAttrs(e)
	digest := attrsDigest(attrs)
	method := "gradient-boosted regression trees on the logistic loss (histograms, Newton leaf values)"
	g := onnxbuild.Graph{
		Name: "tailor_propensity_trees",
		Nodes: []onnxbuild.Node{{Name: "trees", OpType: "TreeEnsembleRegressor", Domain: onnxbuild.DomainML,
			Inputs: []string{model.PropensityInput}, Outputs: []string{"logit"}, Attrs: attrs}},
		Inputs:  []onnxbuild.ValueInfo{{Name: model.PropensityInput, Elem: onnxbuild.ElemFloat, Shape: []onnxbuild.Dim{onnxbuild.Sym("batch"), onnxbuild.Fixed(f)}}},
		Outputs: []onnxbuild.ValueInfo{{Name: model.PropensityOutput, Elem: onnxbuild.ElemFloat, Shape: []onnxbuild.Dim{onnxbuild.Sym("batch"), onnxbuild.Fixed(1)}}},
	}
	if l := e.Linear; l != nil {
		digest = append(append(digest, l.Weights...), l.Bias)
		method = "logistic regression (Newton/IRLS, L2 on standardised features, folded into raw weights) whose logit " + method + " correct"
		g.Name = "tailor_propensity_logistic_trees"
		g.Nodes[0].Outputs = []string{"tree_logit"}
		g.Nodes = append(g.Nodes,
			onnxbuild.Node{Name: "linear", OpType: "MatMul", Inputs: []string{model.PropensityInput, "w"}, Outputs: []string{"linear_raw"}},
			onnxbuild.Node{Name: "bias", OpType: "Add", Inputs: []string{"linear_raw", "b"}, Outputs: []string{"linear_logit"}},
			onnxbuild.Node{Name: "sum", OpType: "Add", Inputs: []string{"tree_logit", "linear_logit"}, Outputs: []string{"logit"}})
		g.Initializers = []onnxbuild.Tensor{
			{Name: "w", Dims: []int64{f, 1}, Float32: l.Weights},
			{Name: "b", Dims: []int64{1}, Float32: []float32{l.Bias}},
		}
	}
	g.Nodes = append(g.Nodes, onnxbuild.Node{Name: "sigmoid", OpType: "Sigmoid", Inputs: []string{"logit"}, Outputs: []string{model.PropensityOutput}})
	ver := version(m.Cut, float32Bytes(digest), names, params)
	return m.propensityArtifact(g, ver, method, params, names,
		"Tailor purchase propensity: probability = sigmoid(logit), the logit a sum of tree leaf values (plus features · w + b)",
		onnxbuild.OpsetImport{Domain: onnxbuild.DomainML, Version: mlOpset})
}

// treeAttrs are TreeEnsembleRegressor's attributes for e: one entry per node
// (BRANCH_LEQ: x ≤ threshold goes to the true node) and one target per leaf.
func treeAttrs(e *propensity.Trees) []onnxbuild.Attr {
	var (
		treeIDs, nodeIDs, featIDs, trueIDs, falseIDs []int64
		values                                       []float32
		modes                                        []string
		tTree, tNode, tID                            []int64
		tWeight                                      []float32
	)
	for t, tr := range e.Trees {
		for i, nd := range tr.Nodes {
			treeIDs, nodeIDs = append(treeIDs, int64(t)), append(nodeIDs, int64(i))
			if nd.Feature < 0 {
				featIDs, values, modes = append(featIDs, 0), append(values, 0), append(modes, "LEAF")
				trueIDs, falseIDs = append(trueIDs, 0), append(falseIDs, 0)
				tTree, tNode, tID = append(tTree, int64(t)), append(tNode, int64(i)), append(tID, 0)
				tWeight = append(tWeight, nd.Value)
				continue
			}
			featIDs, values, modes = append(featIDs, int64(nd.Feature)), append(values, nd.Threshold), append(modes, "BRANCH_LEQ")
			trueIDs, falseIDs = append(trueIDs, int64(nd.Left)), append(falseIDs, int64(nd.Right))
		}
	}
	return []onnxbuild.Attr{
		onnxbuild.StringAttr("aggregate_function", "SUM"),
		onnxbuild.FloatsAttr("base_values", e.Base),
		onnxbuild.IntAttr("n_targets", 1),
		onnxbuild.IntsAttr("nodes_falsenodeids", falseIDs...),
		onnxbuild.IntsAttr("nodes_featureids", featIDs...),
		onnxbuild.StringsAttr("nodes_modes", modes...),
		onnxbuild.IntsAttr("nodes_nodeids", nodeIDs...),
		onnxbuild.IntsAttr("nodes_treeids", treeIDs...),
		onnxbuild.IntsAttr("nodes_truenodeids", trueIDs...),
		onnxbuild.FloatsAttr("nodes_values", values...),
		onnxbuild.StringAttr("post_transform", "NONE"),
		onnxbuild.IntsAttr("target_ids", tID...),
		onnxbuild.IntsAttr("target_nodeids", tNode...),
		onnxbuild.IntsAttr("target_treeids", tTree...),
		onnxbuild.FloatsAttr("target_weights", tWeight...),
	}
}

// attrsDigest flattens a tree ensemble's attributes into the floats its
// model version is hashed from.
func attrsDigest(attrs []onnxbuild.Attr) []float32 {
	var digest []float32
	for _, a := range attrs {
		digest = append(digest, a.Floats...)
		for _, v := range a.Ints {
			digest = append(digest, float32(v))
		}
	}
	return digest
}
