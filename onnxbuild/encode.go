package onnxbuild

import (
	"encoding/binary"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// Field numbers from onnx.proto (proto2). Fields are written in increasing
// field-number order within each message; repeated scalars are unpacked, as
// proto2 declares them (parsers accept either form).

// ModelProto.
const (
	modelIRVersion       protowire.Number = 1  // int64 ir_version
	modelProducerName    protowire.Number = 2  // string producer_name
	modelProducerVersion protowire.Number = 3  // string producer_version
	modelDomain          protowire.Number = 4  // string domain
	modelModelVersion    protowire.Number = 5  // int64 model_version
	modelDocString       protowire.Number = 6  // string doc_string
	modelGraph           protowire.Number = 7  // GraphProto graph
	modelOpsetImport     protowire.Number = 8  // repeated OperatorSetIdProto opset_import
	modelMetadataProps   protowire.Number = 14 // repeated StringStringEntryProto metadata_props
)

// OperatorSetIdProto.
const (
	opsetDomain  protowire.Number = 1 // string domain ("" is ai.onnx)
	opsetVersion protowire.Number = 2 // int64 version
)

// StringStringEntryProto.
const (
	entryKey   protowire.Number = 1 // string key
	entryValue protowire.Number = 2 // string value
)

// GraphProto.
const (
	graphNode        protowire.Number = 1  // repeated NodeProto node
	graphName        protowire.Number = 2  // string name
	graphInitializer protowire.Number = 5  // repeated TensorProto initializer
	graphInput       protowire.Number = 11 // repeated ValueInfoProto input
	graphOutput      protowire.Number = 12 // repeated ValueInfoProto output
)

// NodeProto.
const (
	nodeInput     protowire.Number = 1 // repeated string input
	nodeOutput    protowire.Number = 2 // repeated string output
	nodeName      protowire.Number = 3 // string name
	nodeOpType    protowire.Number = 4 // string op_type
	nodeAttribute protowire.Number = 5 // repeated AttributeProto attribute
	nodeDomain    protowire.Number = 7 // string domain
)

// AttributeProto.
const (
	attrName    protowire.Number = 1  // string name
	attrF       protowire.Number = 2  // float f
	attrI       protowire.Number = 3  // int64 i
	attrS       protowire.Number = 4  // bytes s
	attrT       protowire.Number = 5  // TensorProto t
	attrFloats  protowire.Number = 7  // repeated float floats
	attrInts    protowire.Number = 8  // repeated int64 ints
	attrStrings protowire.Number = 9  // repeated bytes strings
	attrType    protowire.Number = 20 // AttributeType type
)

// TensorProto.
const (
	tensorDims     protowire.Number = 1 // repeated int64 dims
	tensorDataType protowire.Number = 2 // int32 data_type (DataType enum)
	tensorName     protowire.Number = 8 // string name
	tensorRawData  protowire.Number = 9 // bytes raw_data (little-endian)
)

// ValueInfoProto, TypeProto, TypeProto.Tensor, TensorShapeProto and
// TensorShapeProto.Dimension.
const (
	valueInfoName  protowire.Number = 1 // ValueInfoProto: string name
	valueInfoType  protowire.Number = 2 // ValueInfoProto: TypeProto type
	typeTensorType protowire.Number = 1 // TypeProto: Tensor tensor_type (oneof value)
	tensorElemType protowire.Number = 1 // TypeProto.Tensor: int32 elem_type
	tensorShape    protowire.Number = 2 // TypeProto.Tensor: TensorShapeProto shape
	shapeDim       protowire.Number = 1 // TensorShapeProto: repeated Dimension dim
	dimensionValue protowire.Number = 1 // Dimension: int64 dim_value (oneof value)
	dimensionParam protowire.Number = 2 // Dimension: string dim_param (oneof value)
)

// defaultOpDomain is the domain of the ai.onnx operator set.
const defaultOpDomain = ""

func appendVarintField(b []byte, num protowire.Number, v uint64) []byte {
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

func appendInt64Field(b []byte, num protowire.Number, v int64) []byte {
	return appendVarintField(b, num, uint64(v))
}

func appendFloatField(b []byte, num protowire.Number, v float32) []byte {
	b = protowire.AppendTag(b, num, protowire.Fixed32Type)
	return protowire.AppendFixed32(b, math.Float32bits(v))
}

func appendStringField(b []byte, num protowire.Number, s string) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, s)
}

// appendOptString writes an optional string field, leaving it out when empty.
func appendOptString(b []byte, num protowire.Number, s string) []byte {
	if s == "" {
		return b
	}
	return appendStringField(b, num, s)
}

func appendBytesField(b []byte, num protowire.Number, v []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, v)
}

func (m *Model) appendProto(b []byte) []byte {
	ir, opset := m.IRVersion, m.Opset
	if ir == 0 {
		ir = DefaultIRVersion
	}
	if opset == 0 {
		opset = DefaultOpset
	}
	graph := m.Graph.appendProto(make([]byte, 0, m.Graph.dataSize()+4096))
	if b == nil {
		b = make([]byte, 0, len(graph)+1024)
	}
	b = appendInt64Field(b, modelIRVersion, ir)
	b = appendOptString(b, modelProducerName, m.ProducerName)
	b = appendOptString(b, modelProducerVersion, m.ProducerVersion)
	b = appendOptString(b, modelDomain, m.Domain)
	if m.ModelVersion != 0 {
		b = appendInt64Field(b, modelModelVersion, m.ModelVersion)
	}
	b = appendOptString(b, modelDocString, m.DocString)
	b = appendBytesField(b, modelGraph, graph)

	var op []byte
	op = appendStringField(op, opsetDomain, defaultOpDomain)
	op = appendInt64Field(op, opsetVersion, opset)
	b = appendBytesField(b, modelOpsetImport, op)
	for _, o := range m.Opsets {
		op = appendStringField(op[:0], opsetDomain, o.Domain)
		op = appendInt64Field(op, opsetVersion, o.Version)
		b = appendBytesField(b, modelOpsetImport, op)
	}

	for _, p := range m.Metadata {
		var e []byte
		e = appendStringField(e, entryKey, p.Key)
		e = appendStringField(e, entryValue, p.Value)
		b = appendBytesField(b, modelMetadataProps, e)
	}
	return b
}

func (g *Graph) appendProto(b []byte) []byte {
	for i := range g.Nodes {
		b = appendBytesField(b, graphNode, g.Nodes[i].appendProto(nil))
	}
	b = appendStringField(b, graphName, g.Name)
	for i := range g.Initializers {
		// Written in place, without an intermediate buffer: initializers
		// hold nearly all of a model's bytes.
		t := &g.Initializers[i]
		b = protowire.AppendTag(b, graphInitializer, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(t.size()))
		b = t.appendProto(b)
	}
	for i := range g.Inputs {
		b = appendBytesField(b, graphInput, g.Inputs[i].appendProto(nil))
	}
	for i := range g.Outputs {
		b = appendBytesField(b, graphOutput, g.Outputs[i].appendProto(nil))
	}
	return b
}

// dataSize returns the bytes of raw tensor data in the graph's initializers,
// to size the output buffer.
func (g *Graph) dataSize() int {
	n := 0
	for i := range g.Initializers {
		n += g.Initializers[i].rawSize()
	}
	return n
}

func (n *Node) appendProto(b []byte) []byte {
	for _, s := range n.Inputs {
		b = appendStringField(b, nodeInput, s)
	}
	for _, s := range n.Outputs {
		b = appendStringField(b, nodeOutput, s)
	}
	b = appendOptString(b, nodeName, n.Name)
	b = appendStringField(b, nodeOpType, n.OpType)
	for i := range n.Attrs {
		b = appendBytesField(b, nodeAttribute, n.Attrs[i].appendProto(nil))
	}
	return appendOptString(b, nodeDomain, n.Domain)
}

func (a *Attr) appendProto(b []byte) []byte {
	b = appendStringField(b, attrName, a.Name)
	switch a.Type {
	case AttrFloat:
		b = appendFloatField(b, attrF, a.Float)
	case AttrInt:
		b = appendInt64Field(b, attrI, a.Int)
	case AttrString:
		b = appendStringField(b, attrS, a.String)
	case AttrTensor:
		b = appendBytesField(b, attrT, a.Tensor.appendProto(nil))
	case AttrFloats:
		for _, v := range a.Floats {
			b = appendFloatField(b, attrFloats, v)
		}
	case AttrInts:
		for _, v := range a.Ints {
			b = appendInt64Field(b, attrInts, v)
		}
	case AttrStrings:
		for _, v := range a.Strings {
			b = appendStringField(b, attrStrings, v)
		}
	}
	return appendVarintField(b, attrType, uint64(a.Type))
}

// rawSize returns the length of the tensor's raw_data.
func (t *Tensor) rawSize() int {
	if t.Int64 != nil {
		return 8 * len(t.Int64)
	}
	return 4 * len(t.Float32)
}

// size returns the length of the tensor's encoding by appendProto.
func (t *Tensor) size() int {
	n := 0
	for _, d := range t.Dims {
		n += protowire.SizeTag(tensorDims) + protowire.SizeVarint(uint64(d))
	}
	n += protowire.SizeTag(tensorDataType) + protowire.SizeVarint(uint64(t.Elem()))
	if t.Name != "" {
		n += protowire.SizeTag(tensorName) + protowire.SizeBytes(len(t.Name))
	}
	return n + protowire.SizeTag(tensorRawData) + protowire.SizeBytes(t.rawSize())
}

func (t *Tensor) appendProto(b []byte) []byte {
	for _, d := range t.Dims {
		b = appendInt64Field(b, tensorDims, d)
	}
	b = appendVarintField(b, tensorDataType, uint64(t.Elem()))
	b = appendOptString(b, tensorName, t.Name)

	// raw_data is written straight into b: its length is known up front.
	b = protowire.AppendTag(b, tensorRawData, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(t.rawSize()))
	if t.Int64 != nil {
		for _, v := range t.Int64 {
			b = binary.LittleEndian.AppendUint64(b, uint64(v))
		}
		return b
	}
	for _, v := range t.Float32 {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	return b
}

func (v *ValueInfo) appendProto(b []byte) []byte {
	var shape []byte
	for _, d := range v.Shape {
		var dim []byte
		if d.Param != "" {
			dim = appendStringField(dim, dimensionParam, d.Param)
		} else {
			dim = appendInt64Field(dim, dimensionValue, d.Value)
		}
		shape = appendBytesField(shape, shapeDim, dim)
	}
	var tensor []byte
	tensor = appendVarintField(tensor, tensorElemType, uint64(v.Elem))
	tensor = appendBytesField(tensor, tensorShape, shape)
	var typ []byte
	typ = appendBytesField(typ, typeTensorType, tensor)

	b = appendStringField(b, valueInfoName, v.Name)
	return appendBytesField(b, valueInfoType, typ)
}
