package onnxbuild

import "testing"

// TestTensorSize: initializers are written in place after a length computed
// by size, so size must match appendProto exactly.
func TestTensorSize(t *testing.T) {
	big := make([]float32, 300*7)
	tensors := []Tensor{
		{},
		{Name: "scalar", Float32: []float32{1}},
		{Dims: []int64{0}, Float32: []float32{}},
		{Name: "shape", Dims: []int64{2}, Int64: []int64{-1, 1 << 40}},
		{Name: "W", Dims: []int64{300, 7}, Float32: big},
		{Name: "long-name-" + string(make([]byte, 200)), Dims: []int64{1 << 20, 0}, Float32: []float32{}},
	}
	for i := range tensors {
		tt := &tensors[i]
		if got, want := tt.size(), len(tt.appendProto(nil)); got != want {
			t.Errorf("tensor %d (%q): size() = %d, encoding is %d bytes", i, tt.Name, got, want)
		}
	}
}
