package model

import (
	"fmt"

	ort "github.com/yalue/onnxruntime_go"
)

// Session runs one single-input, single-output float32 model. It is safe
// for concurrent use: ONNX Runtime sessions allow concurrent Run calls.
type Session struct {
	sess        *ort.DynamicAdvancedSession
	in, out     string
	width, outW int64
}

// SessionOptions tune a session.
type SessionOptions struct {
	IntraOpThreads int // 0 means 1
}

// NewSession opens the model bytes of a contract-checked model.
func NewSession(onnx []byte, info *Info, opts SessionOptions) (*Session, error) {
	so, err := ort.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("session options: %w", err)
	}
	defer so.Destroy()
	threads := max(opts.IntraOpThreads, 1)
	if err := so.SetIntraOpNumThreads(threads); err != nil {
		return nil, fmt.Errorf("intra-op threads: %w", err)
	}
	if err := so.SetInterOpNumThreads(1); err != nil {
		return nil, fmt.Errorf("inter-op threads: %w", err)
	}
	in, out := info.Inputs[0], info.Outputs[0]
	s, err := ort.NewDynamicAdvancedSessionWithONNXData(onnx, []string{in.Name}, []string{out.Name}, so)
	if err != nil {
		return nil, fmt.Errorf("model %s: open session: %w", info.NameVersion(), err)
	}
	outW := int64(1)
	if d := out.Dimensions; len(d) == 2 {
		outW = d[1]
	}
	return &Session{sess: s, in: in.Name, out: out.Name, width: in.Dimensions[1], outW: outW}, nil
}

// Run scores batch rows of x (batch × input width) and returns batch × output
// width values.
func (s *Session) Run(x []float32, batch int) ([]float32, error) {
	if int64(len(x)) != int64(batch)*s.width {
		return nil, fmt.Errorf("run: %d values for %d rows of %d", len(x), batch, s.width)
	}
	in, err := ort.NewTensor(ort.NewShape(int64(batch), s.width), x)
	if err != nil {
		return nil, fmt.Errorf("run: input tensor: %w", err)
	}
	defer in.Destroy()
	outData := make([]float32, int64(batch)*s.outW)
	out, err := ort.NewTensor(ort.NewShape(int64(batch), s.outW), outData)
	if err != nil {
		return nil, fmt.Errorf("run: output tensor: %w", err)
	}
	defer out.Destroy()
	if err := s.sess.Run([]ort.Value{in}, []ort.Value{out}); err != nil {
		return nil, fmt.Errorf("run: %w", err)
	}
	return outData, nil
}

// Close releases the session.
func (s *Session) Close() error { return s.sess.Destroy() }

// InspectBytes is Inspect for a model held in memory; name is used in errors.
func InspectBytes(name string, onnx []byte) (*Info, error) {
	ins, outs, err := ort.GetInputOutputInfoWithONNXData(onnx)
	if err != nil {
		return nil, fmt.Errorf("model %s: read signature: %w", name, err)
	}
	md, err := ort.GetModelMetadataWithONNXData(onnx)
	if err != nil {
		return nil, fmt.Errorf("model %s: read metadata: %w", name, err)
	}
	return newInfo(name, ins, outs, md)
}
