// Package onnxbuild writes ONNX model files.
//
// It describes a model with a few plain structs (Model, Graph, Node, Attr,
// Tensor, ValueInfo) and serialises them to the ONNX ModelProto wire format
// with google.golang.org/protobuf/encoding/protowire and the field numbers of
// the ONNX specification (onnx.proto), without generated code or an ML
// framework. Marshal validates the model first (names, tensor sizes, that every
// value is defined before it is used) and its output is byte-identical for
// identical input.
//
// Nodes use the default operator set (domain "", "ai.onnx") at Model.Opset,
// unless Node.Domain names another set, which Model.Opsets must import (for
// example "ai.onnx.ml" for tree ensembles). The defaults, IR version 8 and
// opset 17, are what the project's model contract allows: ONNX Runtime 1.24
// and onnx 1.12's checker both read them.
package onnxbuild

import (
	"fmt"
	"math"
)

// Defaults used by Marshal when Model.IRVersion or Model.Opset is 0.
const (
	DefaultIRVersion = 8
	DefaultOpset     = 17
)

// Element types of tensors and values (TensorProto.DataType in onnx.proto).
const (
	ElemFloat int32 = 1 // float32
	ElemInt64 int32 = 7 // int64
)

// Model is an ONNX model: one graph plus the model-level fields of ModelProto.
type Model struct {
	IRVersion       int64 // ir_version; DefaultIRVersion when 0
	Opset           int64 // version of the default operator set; DefaultOpset when 0
	ProducerName    string
	ProducerVersion string
	Domain          string
	DocString       string
	ModelVersion    int64
	Metadata        []Property // metadata_props, written in this order; keys must be unique
	// Opsets are the operator sets imported besides the default one, written
	// after it in this order; every Node.Domain must be among them.
	Opsets []OpsetImport
	Graph  Graph
}

// OpsetImport is one imported operator set: a domain other than the default
// and its version.
type OpsetImport struct {
	Domain  string
	Version int64
}

// DomainML is the domain of the ONNX-ML operators (TreeEnsembleRegressor, ...).
const DomainML = "ai.onnx.ml"

// Property is one key/value entry of the model's metadata_props.
type Property struct {
	Key, Value string
}

// Graph is the computation: nodes in topological order, constant tensors
// (initializers), and the declared graph inputs and outputs.
type Graph struct {
	Name         string // required by the ONNX checker
	Nodes        []Node
	Initializers []Tensor
	Inputs       []ValueInfo // the values a caller feeds; initializers need not be listed
	Outputs      []ValueInfo
}

// Node is one operator call. Inputs and Outputs name values of the graph; an
// empty input name leaves an optional input out.
type Node struct {
	Name    string // unique within the graph
	OpType  string // an operator of Domain, e.g. "MatMul"
	Domain  string // the operator set; empty for the default one
	Inputs  []string
	Outputs []string
	Attrs   []Attr
}

// AttrType is the type of an attribute (AttributeProto.AttributeType).
type AttrType int32

// The attribute types Attr supports, numbered as in onnx.proto.
const (
	AttrFloat   AttrType = 1
	AttrInt     AttrType = 2
	AttrString  AttrType = 3
	AttrTensor  AttrType = 4
	AttrFloats  AttrType = 6
	AttrInts    AttrType = 7
	AttrStrings AttrType = 8
)

// Attr is a node attribute. Type says which value field is written; the others
// are ignored. The constructors IntAttr, FloatAttr, IntsAttr, FloatsAttr,
// StringAttr, StringsAttr and TensorAttr fill it in.
type Attr struct {
	Name    string
	Type    AttrType
	Int     int64
	Float   float32
	Ints    []int64
	Floats  []float32
	String  string
	Strings []string
	Tensor  *Tensor
}

// IntAttr returns an INT attribute.
func IntAttr(name string, v int64) Attr { return Attr{Name: name, Type: AttrInt, Int: v} }

// FloatAttr returns a FLOAT attribute.
func FloatAttr(name string, v float32) Attr { return Attr{Name: name, Type: AttrFloat, Float: v} }

// IntsAttr returns an INTS attribute.
func IntsAttr(name string, v ...int64) Attr { return Attr{Name: name, Type: AttrInts, Ints: v} }

// FloatsAttr returns a FLOATS attribute.
func FloatsAttr(name string, v ...float32) Attr {
	return Attr{Name: name, Type: AttrFloats, Floats: v}
}

// StringAttr returns a STRING attribute.
func StringAttr(name, v string) Attr { return Attr{Name: name, Type: AttrString, String: v} }

// StringsAttr returns a STRINGS attribute.
func StringsAttr(name string, v ...string) Attr {
	return Attr{Name: name, Type: AttrStrings, Strings: v}
}

// TensorAttr returns a TENSOR attribute, as the Constant operator takes.
func TensorAttr(name string, t Tensor) Attr { return Attr{Name: name, Type: AttrTensor, Tensor: &t} }

// Tensor is a dense constant tensor, written as little-endian raw_data. Its
// element type is int64 when Int64 is non-nil and float32 otherwise; setting
// both is an error. The number of elements must be the product of Dims (1 for
// a scalar, whose Dims are empty).
type Tensor struct {
	Name    string
	Dims    []int64
	Float32 []float32
	Int64   []int64
}

// Elem returns the tensor's element type, ElemFloat or ElemInt64.
func (t *Tensor) Elem() int32 {
	if t.Int64 != nil {
		return ElemInt64
	}
	return ElemFloat
}

// ValueInfo declares a graph input or output: a tensor with an element type
// (ElemFloat, ElemInt64, ...) and a shape. The shape is always written, so an
// empty Shape declares a scalar.
type ValueInfo struct {
	Name  string
	Elem  int32
	Shape []Dim
}

// Dim is one dimension of a ValueInfo's shape: symbolic when Param is set
// (e.g. "batch", read back by ONNX Runtime as -1), else the fixed size Value.
type Dim struct {
	Param string
	Value int64
}

// Sym returns a symbolic dimension named param.
func Sym(param string) Dim { return Dim{Param: param} }

// Fixed returns a dimension of fixed size n.
func Fixed(n int64) Dim { return Dim{Value: n} }

// maxProtoSize is the largest message protobuf parsers (and so ONNX Runtime
// and the onnx package) read: 2 GiB. Larger models need ONNX external data,
// which this package does not write.
const maxProtoSize = math.MaxInt32

// Marshal validates the model and returns its ONNX ModelProto encoding.
// Identical models give identical bytes. A model over the 2 GiB protobuf
// limit is an error.
func (m *Model) Marshal() ([]byte, error) {
	if err := m.validate(); err != nil {
		return nil, err
	}
	b := m.appendProto(nil)
	if len(b) > maxProtoSize {
		return nil, fmt.Errorf("onnxbuild: graph %q: the model is %d bytes, over the 2 GiB protobuf limit", m.Graph.Name, len(b))
	}
	return b, nil
}
