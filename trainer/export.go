package trainer

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/tailorhq/tailor/catalog"
	"github.com/tailorhq/tailor/features"
	"github.com/tailorhq/tailor/model"
	"github.com/tailorhq/tailor/onnxbuild"
	"github.com/tailorhq/tailor/propensity"
)

// Producer names the program that writes the models.
const Producer = "tailor-train"

// File names inside the models directory (the features directory's are in
// package features).
const (
	CFFile             = "cf.onnx"
	CFCardFile         = "cf.card.json"
	PropensityFile     = "propensity.onnx"
	PropensityCardFile = "propensity.card.json"
)

// Artifact is one encoded model with its card.
type Artifact struct {
	File    string
	ONNX    []byte
	Card    Card
	Version string
}

// Card is the model card written beside each ONNX file.
type Card struct {
	Name       string            `json:"name"`
	Kind       string            `json:"model_kind"`
	Version    string            `json:"version"`
	File       string            `json:"file"`
	SHA256     string            `json:"sha256"`
	TrainedAt  string            `json:"trained_at"`
	Producer   string            `json:"producer"`
	Data       CardData          `json:"data"`
	Method     string            `json:"method"`
	Parameters any               `json:"parameters"`
	Inputs     map[string]string `json:"inputs"`
	Outputs    map[string]string `json:"outputs"`
	Features   []CardFeature     `json:"features,omitempty"`
	Training   any               `json:"training"`
	Metrics    any               `json:"offline_metrics"`
	// Validation is written by `make evaluate`; ValidationStale replaces
	// it when the model file changed since (see KeepValidation).
	Validation      *Validation `json:"validation,omitempty"`
	ValidationStale string      `json:"validation_stale,omitempty"`
	Notes           []string    `json:"notes"`
}

// CardData describes the training data.
type CardData struct {
	Source     string         `json:"source"`
	License    string         `json:"license"`
	Range      string         `json:"range"`
	Cut        string         `json:"cut"`
	Purchases  int            `json:"purchases"`
	Customers  int            `json:"customers"`
	Items      int            `json:"items"`
	Categories string         `json:"categories"`
	Rules      []catalog.Rule `json:"category_rules"`
}

// CardFeature documents one propensity input column.
type CardFeature struct {
	Name    string  `json:"name"`
	Entity  string  `json:"entity"`
	Default float32 `json:"default"`
	Source  string  `json:"source"`
	Weight  float32 `json:"weight"` // in the logistic regression
	// TreeSplits counts the tree splits on the feature.
	TreeSplits int `json:"tree_splits,omitempty"`
	// The same in the discover-mode sub-model, when there is one.
	DiscoverWeight     *float32 `json:"discover_weight,omitempty"`
	DiscoverTreeSplits int      `json:"discover_tree_splits,omitempty"`
}

// dataRange is "first/last" purchase dates.
func (m *Models) dataRange() string {
	return m.First.Format(time.DateOnly) + "/" + m.Last.Format(time.DateOnly)
}

// trainedAt is the training cut, not the wall clock, so that the same data
// and parameters always give byte-identical files.
func (m *Models) trainedAt() string { return m.Cut.UTC().Format(time.RFC3339) }

// version is the cut date and a digest of the weights and metadata.
func version(cut time.Time, parts ...[]byte) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write(p)
	}
	return cut.Format("20060102") + "." + hex.EncodeToString(h.Sum(nil))[:8]
}

func float32Bytes(vs ...[]float32) []byte {
	var b bytes.Buffer
	for _, v := range vs {
		for _, f := range v {
			fmt.Fprintf(&b, "%x,", f)
		}
	}
	return b.Bytes()
}

// encode marshals an ONNX model whose metadata gets name, version and the
// common keys in a fixed order.
func encode(g onnxbuild.Graph, meta []onnxbuild.Property, doc string, opsets ...onnxbuild.OpsetImport) ([]byte, error) {
	m := onnxbuild.Model{
		Opsets:          opsets,
		ProducerName:    Producer,
		ProducerVersion: "1",
		Domain:          "ai.tailor",
		DocString:       doc,
		ModelVersion:    1,
		Metadata:        meta,
		Graph:           g,
	}
	return m.Marshal()
}

// CFArtifact encodes the CF model: scores = (interactions · W) · Yᵀ.
func (m *Models) CFArtifact() (*Artifact, error) {
	lr := m.CF
	n, k := int64(lr.N), int64(lr.K)
	yt := make([]float32, len(lr.Y))
	for j := 0; j < lr.N; j++ {
		for f := 0; f < lr.K; f++ {
			yt[f*lr.N+j] = lr.Y[j*lr.K+f]
		}
	}
	ids, err := json.Marshal(m.Vocab.IDs())
	if err != nil {
		return nil, err
	}
	params, _ := json.Marshal(m.ALS.Params)
	ver := version(m.Cut, float32Bytes(lr.W, lr.Y), ids, params)
	g := onnxbuild.Graph{
		Name: "tailor_cf_als_foldin",
		Nodes: []onnxbuild.Node{
			{Name: "fold_in", OpType: "MatMul", Inputs: []string{model.CFInput, "W"}, Outputs: []string{"factors"}},
			{Name: "score", OpType: "MatMul", Inputs: []string{"factors", "Yt"}, Outputs: []string{model.CFOutput}},
		},
		Initializers: []onnxbuild.Tensor{
			{Name: "W", Dims: []int64{n, k}, Float32: lr.W},
			{Name: "Yt", Dims: []int64{k, n}, Float32: yt},
		},
		Inputs:  []onnxbuild.ValueInfo{{Name: model.CFInput, Elem: onnxbuild.ElemFloat, Shape: []onnxbuild.Dim{onnxbuild.Sym("batch"), onnxbuild.Fixed(n)}}},
		Outputs: []onnxbuild.ValueInfo{{Name: model.CFOutput, Elem: onnxbuild.ElemFloat, Shape: []onnxbuild.Dim{onnxbuild.Sym("batch"), onnxbuild.Fixed(n)}}},
	}
	meta := []onnxbuild.Property{
		{Key: model.MetaKind, Value: model.KindCF},
		{Key: model.MetaName, Value: "cf"},
		{Key: model.MetaVersion, Value: ver},
		{Key: model.MetaTrainedAt, Value: m.trainedAt()},
		{Key: model.MetaDataRange, Value: m.dataRange()},
		{Key: "method", Value: "implicit ALS with linear ridge fold-in"},
		{Key: "parameters", Value: string(params)},
		{Key: "interaction_weight", Value: "log1p(distinct invoices with the item)"},
		{Key: model.MetaItemIDs, Value: string(ids)},
	}
	b, err := encode(g, meta, "Tailor collaborative filtering: scores = (interactions · W) · Yᵀ, W = Y (YᵀY + λI)⁻¹")
	if err != nil {
		return nil, fmt.Errorf("encode cf: %w", err)
	}
	return &Artifact{File: CFFile, ONNX: b, Version: ver}, nil
}

// PropensityArtifact encodes the served propensity model: the trees when
// fitted (see treesArtifact), else p = sigmoid(features · w + b) as
// [batch, 1].
func (m *Models) PropensityArtifact() (*Artifact, error) {
	if s, ok := m.Predictor().(*propensity.ModeSplit); ok {
		return m.splitArtifact(s)
	}
	if m.Trees != nil {
		return m.treesArtifact()
	}
	p := m.Propensity
	f := int64(len(p.Weights))
	names, err := json.Marshal(p.Features)
	if err != nil {
		return nil, err
	}
	ver := version(m.Cut, float32Bytes(p.Weights, []float32{p.Bias}), names)
	g := onnxbuild.Graph{
		Name: "tailor_propensity_logistic",
		Nodes: []onnxbuild.Node{
			{Name: "linear", OpType: "MatMul", Inputs: []string{model.PropensityInput, "w"}, Outputs: []string{"logit_raw"}},
			{Name: "bias", OpType: "Add", Inputs: []string{"logit_raw", "b"}, Outputs: []string{"logit"}},
			{Name: "sigmoid", OpType: "Sigmoid", Inputs: []string{"logit"}, Outputs: []string{model.PropensityOutput}},
		},
		Initializers: []onnxbuild.Tensor{
			{Name: "w", Dims: []int64{f, 1}, Float32: p.Weights},
			{Name: "b", Dims: []int64{1}, Float32: []float32{p.Bias}},
		},
		Inputs:  []onnxbuild.ValueInfo{{Name: model.PropensityInput, Elem: onnxbuild.ElemFloat, Shape: []onnxbuild.Dim{onnxbuild.Sym("batch"), onnxbuild.Fixed(f)}}},
		Outputs: []onnxbuild.ValueInfo{{Name: model.PropensityOutput, Elem: onnxbuild.ElemFloat, Shape: []onnxbuild.Dim{onnxbuild.Sym("batch"), onnxbuild.Fixed(1)}}},
	}
	return m.propensityArtifact(g, ver, "logistic regression (Newton/IRLS, L2 on standardised features, folded into raw weights)", nil, names,
		"Tailor purchase propensity: probability = sigmoid(features · w + b)")
}

// propensityArtifact encodes a propensity graph with the contract's
// metadata, in a fixed order; "parameters" only when params is not nil.
func (m *Models) propensityArtifact(g onnxbuild.Graph, ver, method string, params, names []byte, doc string, opsets ...onnxbuild.OpsetImport) (*Artifact, error) {
	meta := []onnxbuild.Property{
		{Key: model.MetaKind, Value: model.KindPropensity},
		{Key: model.MetaName, Value: "propensity"},
		{Key: model.MetaVersion, Value: ver},
		{Key: model.MetaTrainedAt, Value: m.trainedAt()},
		{Key: model.MetaDataRange, Value: m.dataRange()},
		{Key: "method", Value: method},
	}
	if params != nil {
		meta = append(meta, onnxbuild.Property{Key: "parameters", Value: string(params)})
	}
	var ns []string
	if err := json.Unmarshal(names, &ns); err != nil {
		return nil, fmt.Errorf("encode propensity %s: feature names: %w", g.Name, err)
	}
	if slices.Contains(ns, features.CoPurchaseFeature) {
		meta = append(meta, onnxbuild.Property{Key: model.MetaCoPurchase, Value: features.CoPurchaseMethod})
	}
	meta = append(meta, onnxbuild.Property{Key: model.MetaFeatureNames, Value: string(names)})
	b, err := encode(g, meta, doc, opsets...)
	if err != nil {
		return nil, fmt.Errorf("encode propensity %s: %w", g.Name, err)
	}
	return &Artifact{File: PropensityFile, ONNX: b, Version: ver}, nil
}

// WriteFile writes b to path through a temporary file and a rename, so a
// reader never sees half a model.
func WriteFile(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path))
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// JSONCard encodes a card with a trailing newline.
func JSONCard(c Card) ([]byte, error) {
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// FeatureFiles encodes the offline features: the catalog (JSON lines), the
// item statistics and the customer profiles (gzip JSON lines each).
func (m *Models) FeatureFiles() (map[string][]byte, error) {
	var cat bytes.Buffer
	if err := m.Catalog.WriteJSONL(&cat); err != nil {
		return nil, err
	}
	items, err := gzipLines(m.Items)
	if err != nil {
		return nil, err
	}
	cust, err := gzipLines(m.Profiles)
	if err != nil {
		return nil, err
	}
	return map[string][]byte{features.CatalogFile: cat.Bytes(), features.ItemsFile: items, features.CustomersFile: cust}, nil
}

// gzipLines encodes vs as gzip JSON lines, with no name and no modification
// time in the header, so that the same values give the same bytes.
func gzipLines[T any](vs []T) ([]byte, error) {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	enc := json.NewEncoder(zw)
	for i := range vs {
		if err := enc.Encode(&vs[i]); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Digest is the hex sha256 of b.
func Digest(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
