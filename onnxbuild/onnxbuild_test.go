package onnxbuild_test

import (
	"bytes"
	"encoding/binary"
	"math"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/tailorhq/tailor/onnxbuild"
)

// field is one decoded protobuf field: a varint, a fixed32 or bytes.
type field struct {
	num   protowire.Number
	typ   protowire.Type
	u     uint64
	bytes []byte
}

// decode splits one protobuf message into its fields, in wire order.
func decode(t *testing.T, b []byte) []field {
	t.Helper()
	var out []field
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			t.Fatalf("bad tag: %v", protowire.ParseError(n))
		}
		b = b[n:]
		f := field{num: num, typ: typ}
		switch typ {
		case protowire.VarintType:
			f.u, n = protowire.ConsumeVarint(b)
		case protowire.Fixed32Type:
			var v uint32
			v, n = protowire.ConsumeFixed32(b)
			f.u = uint64(v)
		case protowire.BytesType:
			f.bytes, n = protowire.ConsumeBytes(b)
		default:
			t.Fatalf("field %d: unexpected wire type %d", num, typ)
		}
		if n < 0 {
			t.Fatalf("field %d: %v", num, protowire.ParseError(n))
		}
		b = b[n:]
		out = append(out, f)
	}
	return out
}

// only returns the fields numbered num.
func only(fs []field, num protowire.Number) []field {
	var out []field
	for _, f := range fs {
		if f.num == num {
			out = append(out, f)
		}
	}
	return out
}

// TestWireFields reads the model-level fields back by their onnx.proto
// numbers: the defaults, the opset import and metadata_props in order.
func TestWireFields(t *testing.T) {
	m := denseModel()
	model := decode(t, mustMarshal(t, m))

	if f := only(model, 1); len(f) != 1 || f[0].u != onnxbuild.DefaultIRVersion {
		t.Errorf("ir_version = %+v, want one field of %d", f, onnxbuild.DefaultIRVersion)
	}
	for num, want := range map[protowire.Number]string{2: m.ProducerName, 3: m.ProducerVersion, 4: m.Domain, 6: m.DocString} {
		if f := only(model, num); len(f) != 1 || string(f[0].bytes) != want {
			t.Errorf("field %d = %+v, want %q", num, f, want)
		}
	}
	if f := only(model, 5); len(f) != 1 || f[0].u != 3 {
		t.Errorf("model_version = %+v, want 3", f)
	}
	opsets := only(model, 8)
	if len(opsets) != 1 {
		t.Fatalf("%d opset_import fields, want 1", len(opsets))
	}
	op := decode(t, opsets[0].bytes)
	if d := only(op, 1); len(d) != 1 || len(d[0].bytes) != 0 {
		t.Errorf("opset domain = %+v, want the empty domain", d)
	}
	if v := only(op, 2); len(v) != 1 || v[0].u != onnxbuild.DefaultOpset {
		t.Errorf("opset version = %+v, want %d", v, onnxbuild.DefaultOpset)
	}
	props := only(model, 14)
	if len(props) != len(m.Metadata) {
		t.Fatalf("%d metadata_props, want %d", len(props), len(m.Metadata))
	}
	for i, p := range props {
		e := decode(t, p.bytes)
		k, v := only(e, 1), only(e, 2)
		if len(k) != 1 || len(v) != 1 || string(k[0].bytes) != m.Metadata[i].Key || string(v[0].bytes) != m.Metadata[i].Value {
			t.Errorf("metadata_props[%d] = %+v, want %+v", i, e, m.Metadata[i])
		}
	}

	m.IRVersion, m.Opset = 7, 13
	model = decode(t, mustMarshal(t, m))
	if f := only(model, 1); f[0].u != 7 {
		t.Errorf("ir_version = %d, want 7", f[0].u)
	}
	if v := only(decode(t, only(model, 8)[0].bytes), 2); v[0].u != 13 {
		t.Errorf("opset version = %d, want 13", v[0].u)
	}
}

// TestTensorRawData checks dims, data_type and little-endian raw_data of an
// initializer, for float32 and int64.
func TestTensorRawData(t *testing.T) {
	m := propensityModel()
	graph := decode(t, only(decode(t, mustMarshal(t, m)), 7)[0].bytes)
	inits := only(graph, 5)
	if len(inits) != 3 {
		t.Fatalf("%d initializers, want 3", len(inits))
	}
	w := decode(t, inits[0].bytes)
	if d := only(w, 1); len(d) != 2 || d[0].u != 1 || d[1].u != 3 {
		t.Errorf("w_row dims = %+v, want [1 3]", d)
	}
	if dt := only(w, 2); dt[0].u != uint64(onnxbuild.ElemFloat) {
		t.Errorf("w_row data_type = %d, want FLOAT", dt[0].u)
	}
	raw := only(w, 9)[0].bytes
	for i, v := range propW {
		if got := math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:])); got != v {
			t.Errorf("w_row[%d] = %v, want %v", i, got, v)
		}
	}
	shape := decode(t, inits[2].bytes)
	if dt := only(shape, 2); dt[0].u != uint64(onnxbuild.ElemInt64) {
		t.Errorf("shape data_type = %d, want INT64", dt[0].u)
	}
	if raw := only(shape, 9)[0].bytes; int64(binary.LittleEndian.Uint64(raw)) != -1 {
		t.Errorf("shape raw_data = %x, want -1", raw)
	}
}

// TestMarshalDeterministic: the same model marshals to the same bytes, also
// from a fresh copy.
func TestMarshalDeterministic(t *testing.T) {
	for _, build := range []func() *onnxbuild.Model{denseModel, cfModel, propensityModel} {
		m := build()
		a, b, c := mustMarshal(t, m), mustMarshal(t, m), mustMarshal(t, build())
		if !bytes.Equal(a, b) || !bytes.Equal(a, c) {
			t.Errorf("%s: Marshal is not deterministic", m.Graph.Name)
		}
	}
}

func TestMarshalValidation(t *testing.T) {
	tests := []struct {
		name   string
		change func(*onnxbuild.Model)
		want   string
	}{
		{"negative IR version", func(m *onnxbuild.Model) { m.IRVersion = -1 }, "IR version -1"},
		{"negative opset", func(m *onnxbuild.Model) { m.Opset = -2 }, "opset -2"},
		{"empty metadata key", func(m *onnxbuild.Model) { m.Metadata[1].Key = "" }, "metadata entry 1 has an empty key"},
		{"duplicate metadata key", func(m *onnxbuild.Model) { m.Metadata[2].Key = "model_kind" }, `metadata key "model_kind" appears twice`},
		{"graph name", func(m *onnxbuild.Model) { m.Graph.Name = "" }, "the graph has no name"},
		{"input name", func(m *onnxbuild.Model) { m.Graph.Inputs[0].Name = "" }, "input 0: no name"},
		{"input elem", func(m *onnxbuild.Model) { m.Graph.Inputs[0].Elem = 0 }, "element type 0"},
		{"negative dim", func(m *onnxbuild.Model) { m.Graph.Inputs[0].Shape[1].Value = -4 }, "dim 1 is negative"},
		{"named and sized dim", func(m *onnxbuild.Model) { m.Graph.Inputs[0].Shape[0].Value = 2 }, `dim 0 has both a name ("batch") and a size (2)`},
		{"initializer name", func(m *onnxbuild.Model) { m.Graph.Initializers[1].Name = "" }, "initializer 1 has no name"},
		{"initializer too short", func(m *onnxbuild.Model) { m.Graph.Initializers[0].Float32 = denseW[:11] }, "11 elements for dims [4 3], want 12"},
		{"initializer too long", func(m *onnxbuild.Model) { m.Graph.Initializers[1].Dims = []int64{2} }, "3 elements for dims [2], want 2"},
		{"initializer negative dim", func(m *onnxbuild.Model) { m.Graph.Initializers[1].Dims = []int64{-3} }, "dim 0 is negative"},
		{"initializer both types", func(m *onnxbuild.Model) { m.Graph.Initializers[1].Int64 = []int64{1, 2, 3} }, "both Float32 and Int64"},
		{"initializer overflow", func(m *onnxbuild.Model) { m.Graph.Initializers[1].Dims = []int64{1 << 40, 1 << 40} }, "overflow"},
		{"initializer shadows input", func(m *onnxbuild.Model) { m.Graph.Initializers[0].Name = "x" }, `an initializer defines "x", already defined by graph input`},
		{"node name", func(m *onnxbuild.Model) { m.Graph.Nodes[1].Name = "" }, "node 1 (Add) has no name"},
		{"duplicate node name", func(m *onnxbuild.Model) { m.Graph.Nodes[2].Name = "add" }, `node name "add" appears twice`},
		{"op type", func(m *onnxbuild.Model) { m.Graph.Nodes[0].OpType = "" }, `node "matmul": no op type`},
		{"undefined input", func(m *onnxbuild.Model) { m.Graph.Nodes[1].Inputs[1] = "bias" }, `input "bias" is not defined`},
		{"input used before defined", func(m *onnxbuild.Model) {
			n := m.Graph.Nodes
			n[0], n[1] = n[1], n[0]
		}, `node "add": input "xw" is not defined`},
		{"no node outputs", func(m *onnxbuild.Model) { m.Graph.Nodes[2].Outputs = nil }, `node "sigmoid": no outputs`},
		{"empty node output", func(m *onnxbuild.Model) { m.Graph.Nodes[2].Outputs = []string{""} }, "output 0 has no name"},
		{"value defined twice", func(m *onnxbuild.Model) { m.Graph.Nodes[1].Outputs = []string{"xw"} }, `node "add" defines "xw", already defined by node "matmul"`},
		{"attribute name", func(m *onnxbuild.Model) { m.Graph.Nodes[0].Attrs = []onnxbuild.Attr{onnxbuild.IntAttr("", 1)} }, "attribute 0 has no name"},
		{"duplicate attribute", func(m *onnxbuild.Model) {
			m.Graph.Nodes[0].Attrs = []onnxbuild.Attr{onnxbuild.IntAttr("a", 1), onnxbuild.FloatAttr("a", 1)}
		}, `attribute "a" appears twice`},
		{"attribute type", func(m *onnxbuild.Model) { m.Graph.Nodes[0].Attrs = []onnxbuild.Attr{{Name: "a", Type: 5}} }, "unsupported attribute type 5"},
		{"tensor attribute without tensor", func(m *onnxbuild.Model) {
			m.Graph.Nodes[0].Attrs = []onnxbuild.Attr{{Name: "value", Type: onnxbuild.AttrTensor}}
		}, "type TENSOR without a tensor"},
		{"bad tensor attribute", func(m *onnxbuild.Model) {
			m.Graph.Nodes[0].Attrs = []onnxbuild.Attr{onnxbuild.TensorAttr("value", onnxbuild.Tensor{Dims: []int64{2}})}
		}, "0 elements for dims [2], want 2"},
		{"unimported domain", func(m *onnxbuild.Model) { m.Graph.Nodes[2].Domain = onnxbuild.DomainML }, `node "sigmoid" uses domain "ai.onnx.ml", which the model does not import`},
		{"default domain imported", func(m *onnxbuild.Model) { m.Opsets = []onnxbuild.OpsetImport{{Domain: "", Version: 17}} }, "opset import 0 is the default domain"},
		{"domain imported twice", func(m *onnxbuild.Model) {
			m.Opsets = []onnxbuild.OpsetImport{{Domain: onnxbuild.DomainML, Version: 3}, {Domain: onnxbuild.DomainML, Version: 2}}
		}, `domain "ai.onnx.ml" is imported twice`},
		{"domain version", func(m *onnxbuild.Model) { m.Opsets = []onnxbuild.OpsetImport{{Domain: onnxbuild.DomainML}} }, `domain "ai.onnx.ml" has version 0`},
		{"no outputs", func(m *onnxbuild.Model) { m.Graph.Outputs = nil }, "the graph has no outputs"},
		{"output name", func(m *onnxbuild.Model) { m.Graph.Outputs[0].Name = "" }, "output 0: no name"},
		{"undefined output", func(m *onnxbuild.Model) { m.Graph.Outputs[0].Name = "probability" }, `output "probability" is not defined`},
		{"duplicate output", func(m *onnxbuild.Model) { m.Graph.Outputs = append(m.Graph.Outputs, m.Graph.Outputs[0]) }, `output "y" is listed twice`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := denseModel()
			tt.change(m)
			b, err := m.Marshal()
			if err == nil {
				t.Fatalf("Marshal succeeded with %d bytes, want an error containing %q", len(b), tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "onnxbuild: ") {
				t.Errorf("error %q, want one starting with \"onnxbuild: \" and containing %q", err, tt.want)
			}
			if b != nil {
				t.Errorf("Marshal returned %d bytes with its error", len(b))
			}
		})
	}
}

// TestMarshalAccepts covers what validation must let through: an omitted
// optional input, a scalar, an empty INTS attribute and a Constant.
func TestMarshalAccepts(t *testing.T) {
	m := denseModel()
	m.Graph.Nodes = append(m.Graph.Nodes,
		onnxbuild.Node{Name: "clip", OpType: "Clip", Inputs: []string{"y", "", "one"}, Outputs: []string{"clipped"}},
		onnxbuild.Node{Name: "const", OpType: "Constant", Outputs: []string{"c"},
			Attrs: []onnxbuild.Attr{onnxbuild.TensorAttr("value", onnxbuild.Tensor{Float32: []float32{2}})}},
		onnxbuild.Node{Name: "ints", OpType: "Identity", Inputs: []string{"c"}, Outputs: []string{"c2"},
			Attrs: []onnxbuild.Attr{onnxbuild.IntsAttr("unused"), onnxbuild.StringsAttr("s", "a", "b"), onnxbuild.StringAttr("t", "u")}},
	)
	m.Graph.Initializers = append(m.Graph.Initializers, onnxbuild.Tensor{Name: "one", Float32: []float32{1}})
	if _, err := m.Marshal(); err != nil {
		t.Fatal(err)
	}
}

// TestValueInfoWire reads a graph input back: name, elem_type and a shape
// whose symbolic dim is a dim_param and whose fixed dim is a dim_value (the
// runtime reports both a dim_param and a missing dim as -1, so only the wire
// tells them apart).
func TestValueInfoWire(t *testing.T) {
	graph := decode(t, only(decode(t, mustMarshal(t, denseModel())), 7)[0].bytes)
	inputs := only(graph, 11)
	if len(inputs) != 1 {
		t.Fatalf("%d graph inputs, want 1", len(inputs))
	}
	vi := decode(t, inputs[0].bytes)
	if n := only(vi, 1); len(n) != 1 || string(n[0].bytes) != "x" {
		t.Errorf("name = %+v, want x", n)
	}
	tensor := decode(t, only(decode(t, only(vi, 2)[0].bytes), 1)[0].bytes)
	if e := only(tensor, 1); len(e) != 1 || e[0].u != uint64(onnxbuild.ElemFloat) {
		t.Errorf("elem_type = %+v, want FLOAT", e)
	}
	dims := only(decode(t, only(tensor, 2)[0].bytes), 1)
	if len(dims) != 2 {
		t.Fatalf("%d dims, want 2", len(dims))
	}
	d0, d1 := decode(t, dims[0].bytes), decode(t, dims[1].bytes)
	if len(d0) != 1 || d0[0].num != 2 || string(d0[0].bytes) != "batch" {
		t.Errorf("dim 0 = %+v, want dim_param (2) \"batch\"", d0)
	}
	if len(d1) != 1 || d1[0].num != 1 || d1[0].u != 4 {
		t.Errorf("dim 1 = %+v, want dim_value (1) 4", d1)
	}
}
