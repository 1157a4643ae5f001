package onnxbuild

import (
	"errors"
	"fmt"
	"math"
)

// validate checks what Marshal promises: every name that must be set is set,
// every value is defined once (as a graph input, an initializer or a node
// output) before a node or a graph output uses it, tensors hold exactly
// product(dims) elements, and attribute and element types are known.
func (m *Model) validate() error {
	if m.IRVersion < 0 {
		return fmt.Errorf("onnxbuild: IR version %d is negative", m.IRVersion)
	}
	if m.Opset < 0 {
		return fmt.Errorf("onnxbuild: opset %d is negative", m.Opset)
	}
	domains := map[string]bool{defaultOpDomain: true}
	for i, o := range m.Opsets {
		if o.Domain == defaultOpDomain || o.Domain == "ai.onnx" {
			return fmt.Errorf("onnxbuild: opset import %d is the default domain, set by Model.Opset", i)
		}
		if domains[o.Domain] {
			return fmt.Errorf("onnxbuild: domain %q is imported twice", o.Domain)
		}
		if o.Version < 1 {
			return fmt.Errorf("onnxbuild: domain %q has version %d", o.Domain, o.Version)
		}
		domains[o.Domain] = true
	}
	for _, n := range m.Graph.Nodes {
		if !domains[n.Domain] {
			return fmt.Errorf("onnxbuild: graph %q: node %q uses domain %q, which the model does not import", m.Graph.Name, n.Name, n.Domain)
		}
	}
	keys := make(map[string]bool, len(m.Metadata))
	for i, p := range m.Metadata {
		if p.Key == "" {
			return fmt.Errorf("onnxbuild: metadata entry %d has an empty key", i)
		}
		if keys[p.Key] {
			return fmt.Errorf("onnxbuild: metadata key %q appears twice", p.Key)
		}
		keys[p.Key] = true
	}
	if err := m.Graph.validate(); err != nil {
		return fmt.Errorf("onnxbuild: graph %q: %w", m.Graph.Name, err)
	}
	return nil
}

func (g *Graph) validate() error {
	if g.Name == "" {
		return errors.New("the graph has no name")
	}
	// defined maps a value name to what defined it, for error messages.
	defined := make(map[string]string)
	define := func(name, by string) error {
		if prev, ok := defined[name]; ok {
			return fmt.Errorf("%s defines %q, already defined by %s", by, name, prev)
		}
		defined[name] = by
		return nil
	}
	for i := range g.Inputs {
		v := &g.Inputs[i]
		if err := v.validate(); err != nil {
			return fmt.Errorf("input %d: %w", i, err)
		}
		if err := define(v.Name, "graph input"); err != nil {
			return err
		}
	}
	for i := range g.Initializers {
		t := &g.Initializers[i]
		if t.Name == "" {
			return fmt.Errorf("initializer %d has no name", i)
		}
		if err := t.validate(); err != nil {
			return fmt.Errorf("initializer %q: %w", t.Name, err)
		}
		if err := define(t.Name, "an initializer"); err != nil {
			return err
		}
	}
	nodeNames := make(map[string]bool, len(g.Nodes))
	for i := range g.Nodes {
		n := &g.Nodes[i]
		if n.Name == "" {
			return fmt.Errorf("node %d (%s) has no name", i, n.OpType)
		}
		if nodeNames[n.Name] {
			return fmt.Errorf("node name %q appears twice", n.Name)
		}
		nodeNames[n.Name] = true
		if err := n.validate(defined); err != nil {
			return fmt.Errorf("node %q: %w", n.Name, err)
		}
		for _, out := range n.Outputs {
			if err := define(out, fmt.Sprintf("node %q", n.Name)); err != nil {
				return err
			}
		}
	}
	if len(g.Outputs) == 0 {
		return errors.New("the graph has no outputs")
	}
	outputs := make(map[string]bool, len(g.Outputs))
	for i := range g.Outputs {
		v := &g.Outputs[i]
		if err := v.validate(); err != nil {
			return fmt.Errorf("output %d: %w", i, err)
		}
		if outputs[v.Name] {
			return fmt.Errorf("output %q is listed twice", v.Name)
		}
		outputs[v.Name] = true
		if _, ok := defined[v.Name]; !ok {
			return fmt.Errorf("output %q is not defined by any input, initializer or node", v.Name)
		}
	}
	return nil
}

// validate checks a node against the values defined before it; it does not
// add the node's outputs.
func (n *Node) validate(defined map[string]string) error {
	if n.OpType == "" {
		return errors.New("no op type")
	}
	for _, in := range n.Inputs {
		if in == "" {
			continue // an optional input left out
		}
		if _, ok := defined[in]; !ok {
			return fmt.Errorf("input %q is not defined by a graph input, an initializer or an earlier node", in)
		}
	}
	if len(n.Outputs) == 0 {
		return errors.New("no outputs")
	}
	for j, out := range n.Outputs {
		if out == "" {
			return fmt.Errorf("output %d has no name", j)
		}
	}
	attrs := make(map[string]bool, len(n.Attrs))
	for j := range n.Attrs {
		a := &n.Attrs[j]
		if a.Name == "" {
			return fmt.Errorf("attribute %d has no name", j)
		}
		if attrs[a.Name] {
			return fmt.Errorf("attribute %q appears twice", a.Name)
		}
		attrs[a.Name] = true
		if err := a.validate(); err != nil {
			return fmt.Errorf("attribute %q: %w", a.Name, err)
		}
	}
	return nil
}

func (a *Attr) validate() error {
	switch a.Type {
	case AttrFloat, AttrInt, AttrString, AttrFloats, AttrInts, AttrStrings:
		return nil
	case AttrTensor:
		if a.Tensor == nil {
			return errors.New("type TENSOR without a tensor")
		}
		return a.Tensor.validate()
	default:
		return fmt.Errorf("unsupported attribute type %d", a.Type)
	}
}

// validate checks the tensor's data against its dims; the name is checked by
// the caller, since a Constant's tensor attribute may leave it empty.
func (t *Tensor) validate() error {
	if t.Float32 != nil && t.Int64 != nil {
		return errors.New("both Float32 and Int64 data are set")
	}
	want := int64(1)
	for i, d := range t.Dims {
		if d < 0 {
			return fmt.Errorf("dim %d is negative (%d)", i, d)
		}
		if d != 0 && want > math.MaxInt64/d {
			return fmt.Errorf("dims %v overflow int64", t.Dims)
		}
		want *= d
	}
	got := int64(len(t.Float32))
	if t.Int64 != nil {
		got = int64(len(t.Int64))
	}
	if got != want {
		return fmt.Errorf("%d elements for dims %v, want %d", got, t.Dims, want)
	}
	return nil
}

func (v *ValueInfo) validate() error {
	if v.Name == "" {
		return errors.New("no name")
	}
	if v.Elem <= 0 {
		return fmt.Errorf("%q: element type %d is not an ONNX data type", v.Name, v.Elem)
	}
	for i, d := range v.Shape {
		if d.Param != "" && d.Value != 0 {
			return fmt.Errorf("%q: dim %d has both a name (%q) and a size (%d)", v.Name, i, d.Param, d.Value)
		}
		if d.Value < 0 {
			return fmt.Errorf("%q: dim %d is negative (%d)", v.Name, i, d.Value)
		}
	}
	return nil
}
