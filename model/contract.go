package model

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	ort "github.com/yalue/onnxruntime_go"
)

// The model contract of DESIGN.md: names of inputs, outputs and metadata.
const (
	KindCF         = "cf"
	KindPropensity = "propensity"

	CFInput          = "interactions"
	CFOutput         = "scores"
	PropensityInput  = "features"
	PropensityOutput = "probability"

	MetaKind         = "model_kind"
	MetaName         = "name"
	MetaVersion      = "version"
	MetaTrainedAt    = "trained_at"
	MetaDataRange    = "data_range"
	MetaItemIDs      = "item_ids"      // cf: JSON list of item ids in index order
	MetaFeatureNames = "feature_names" // propensity: JSON list, column order
	// MetaCoPurchase (propensity, when it reads the copurchase feature):
	// how the co-purchase neighbours it learnt from were made, which must be
	// how the served items file's were (features.CoPurchaseMethod).
	MetaCoPurchase = "copurchase"
)

// Info is what a model file declares about itself.
type Info struct {
	Path     string
	Kind     string
	Name     string
	Version  string
	Meta     map[string]string
	Inputs   []ort.InputOutputInfo
	Outputs  []ort.InputOutputInfo
	ItemIDs  []string // cf only
	Features []string // propensity only
}

// NameVersion is the model's "name@version", as responses report it.
func (i *Info) NameVersion() string { return i.Name + "@" + i.Version }

// Inspect reads a model's metadata and signature through ONNX Runtime and
// checks them against the contract. InitRuntime must have succeeded.
func Inspect(path string) (*Info, error) {
	ins, outs, err := ort.GetInputOutputInfo(path)
	if err != nil {
		return nil, fmt.Errorf("model %s: read signature: %w", path, err)
	}
	md, err := ort.GetModelMetadata(path)
	if err != nil {
		return nil, fmt.Errorf("model %s: read metadata: %w", path, err)
	}
	return newInfo(path, ins, outs, md)
}

func newInfo(path string, ins, outs []ort.InputOutputInfo, md *ort.ModelMetadata) (*Info, error) {
	defer md.Destroy()
	keys, err := md.GetCustomMetadataMapKeys()
	if err != nil {
		return nil, fmt.Errorf("model %s: read metadata keys: %w", path, err)
	}
	info := &Info{Path: path, Meta: make(map[string]string, len(keys)), Inputs: ins, Outputs: outs}
	for _, k := range keys {
		v, _, err := md.LookupCustomMetadataMap(k)
		if err != nil {
			return nil, fmt.Errorf("model %s: read metadata %q: %w", path, k, err)
		}
		info.Meta[k] = v
	}
	if err := info.check(); err != nil {
		return nil, fmt.Errorf("model %s: %w", path, err)
	}
	return info, nil
}

// check validates the metadata and signature against the contract.
func (i *Info) check() error {
	for _, k := range []string{MetaKind, MetaName, MetaVersion, MetaTrainedAt, MetaDataRange} {
		if strings.TrimSpace(i.Meta[k]) == "" {
			return fmt.Errorf("metadata %q is missing", k)
		}
	}
	i.Kind, i.Name, i.Version = i.Meta[MetaKind], i.Meta[MetaName], i.Meta[MetaVersion]
	switch i.Kind {
	case KindCF:
		if err := json.Unmarshal([]byte(i.Meta[MetaItemIDs]), &i.ItemIDs); err != nil || len(i.ItemIDs) == 0 {
			return fmt.Errorf("metadata %q must be a non-empty JSON list of item ids", MetaItemIDs)
		}
		n := int64(len(i.ItemIDs))
		if err := checkIO(i.Inputs, CFInput, n); err != nil {
			return fmt.Errorf("input: %w", err)
		}
		if err := checkIO(i.Outputs, CFOutput, n); err != nil {
			return fmt.Errorf("output: %w", err)
		}
	case KindPropensity:
		if err := json.Unmarshal([]byte(i.Meta[MetaFeatureNames]), &i.Features); err != nil || len(i.Features) == 0 {
			return fmt.Errorf("metadata %q must be a non-empty JSON list of feature names", MetaFeatureNames)
		}
		if err := checkIO(i.Inputs, PropensityInput, int64(len(i.Features))); err != nil {
			return fmt.Errorf("input: %w", err)
		}
		if len(i.Outputs) != 1 || i.Outputs[0].Name != PropensityOutput || i.Outputs[0].DataType != ort.TensorElementDataTypeFloat {
			return fmt.Errorf("output: want one float32 tensor %q", PropensityOutput)
		}
		if d := i.Outputs[0].Dimensions; len(d) == 0 || len(d) > 2 || (len(d) == 2 && d[1] != 1) {
			return fmt.Errorf("output %q: want shape [batch] or [batch, 1], have %v", PropensityOutput, d)
		}
	default:
		return fmt.Errorf("metadata %q is %q; want %q or %q", MetaKind, i.Kind, KindCF, KindPropensity)
	}
	return nil
}

// checkIO wants exactly one float32 tensor called name of shape [batch, width].
func checkIO(ios []ort.InputOutputInfo, name string, width int64) error {
	if len(ios) != 1 || ios[0].Name != name {
		names := make([]string, len(ios))
		for k, io := range ios {
			names[k] = io.Name
		}
		return fmt.Errorf("want one tensor %q, have %v", name, names)
	}
	io := ios[0]
	if io.OrtValueType != ort.ONNXTypeTensor || io.DataType != ort.TensorElementDataTypeFloat {
		return fmt.Errorf("%q: want a float32 tensor, have %v of %v", name, io.OrtValueType, io.DataType)
	}
	if d := io.Dimensions; len(d) != 2 || d[1] != width || !(d[0] == -1 || d[0] >= 1) {
		return fmt.Errorf("%q: want shape [batch, %d], have %v", name, width, io.Dimensions)
	}
	return nil
}

// SameItems reports whether the CF vocabulary matches a catalog's ids, and
// if not, the first difference.
func SameItems(model, catalog []string) error {
	if slices.Equal(model, catalog) {
		return nil
	}
	for k := 0; k < min(len(model), len(catalog)); k++ {
		if model[k] != catalog[k] {
			return fmt.Errorf("item %d is %q in the model and %q in the catalog", k, model[k], catalog[k])
		}
	}
	return fmt.Errorf("the model has %d items and the catalog %d", len(model), len(catalog))
}
