package trainer

import (
	"fmt"
	"math"

	"github.com/tailorhq/tailor/model"
)

// VerifyTolerance is the largest relative difference allowed between ONNX
// Runtime's output and the Go computation of the same model.
const VerifyTolerance = 1e-4

// Verify loads both encoded models through ONNX Runtime (InitRuntime must
// have succeeded), checks them against the contract, and compares their
// outputs with the Go computation on real customers: up to samples CF
// vectors and the propensity rows of the same customers. It returns the
// largest relative difference seen.
func (m *Models) Verify(cfArt, propArt *Artifact, samples int) (float64, error) {
	cfInfo, err := model.InspectBytes(cfArt.File, cfArt.ONNX)
	if err != nil {
		return 0, err
	}
	if err := model.SameItems(cfInfo.ItemIDs, m.Catalog.IDs()); err != nil {
		return 0, fmt.Errorf("cf vocabulary: %w", err)
	}
	propInfo, err := model.InspectBytes(propArt.File, propArt.ONNX)
	if err != nil {
		return 0, err
	}
	cfSess, err := model.NewSession(cfArt.ONNX, cfInfo, model.SessionOptions{})
	if err != nil {
		return 0, err
	}
	defer cfSess.Close()
	propSess, err := model.NewSession(propArt.ONNX, propInfo, model.SessionOptions{})
	if err != nil {
		return 0, err
	}
	defer propSess.Close()

	r, err := m.Ranker()
	if err != nil {
		return 0, err
	}
	n := m.Vocab.Len()
	worst := 0.0
	step := max(1, len(m.Profiles)/max(samples, 1))
	for i := 0; i < len(m.Profiles) && i/step < samples; i += step {
		prof := &m.Profiles[i]
		x := make([]float32, n)
		r.vector(prof, x)
		want := make([]float32, n)
		m.CF.Score(x, want)
		got, err := cfSess.Run(x, 1)
		if err != nil {
			return worst, err
		}
		if worst, err = compare("cf", prof.ID, got, want, worst); err != nil {
			return worst, err
		}

		// The rows of both modes: auto's candidates, then discover's (the
		// items the customer never bought), which a mode-split model scores
		// with its discover sub-model.
		owned := make(map[int]bool, len(prof.Items))
		for _, h := range prof.Items {
			if j, ok := m.Vocab.Index(h.Item); ok {
				owned[j] = true
			}
		}
		ps := append(r.gather(prof, nil), r.gather(prof, func(j int) bool { return owned[j] })...)
		rows := r.matrix(ps)
		wantP := make([]float32, len(ps))
		m.Predictor().Predict(rows, wantP)
		gotP, err := propSess.Run(rows, len(ps))
		if err != nil {
			return worst, err
		}
		if worst, err = compare("propensity", prof.ID, gotP, wantP, worst); err != nil {
			return worst, err
		}
	}
	return worst, nil
}

// compare checks got against want relative to want's largest magnitude.
func compare(what, customer string, got, want []float32, worst float64) (float64, error) {
	if len(got) != len(want) {
		return worst, fmt.Errorf("verify %s for customer %s: %d outputs, want %d", what, customer, len(got), len(want))
	}
	scale := 1e-6
	for _, w := range want {
		scale = math.Max(scale, math.Abs(float64(w)))
	}
	for k := range got {
		if math.IsNaN(float64(got[k])) {
			return worst, fmt.Errorf("verify %s for customer %s: NaN at %d", what, customer, k)
		}
		d := math.Abs(float64(got[k])-float64(want[k])) / scale
		worst = math.Max(worst, d)
		if d > VerifyTolerance {
			return worst, fmt.Errorf("verify %s for customer %s: output %d is %g in ONNX Runtime and %g in Go", what, customer, k, got[k], want[k])
		}
	}
	return worst, nil
}
