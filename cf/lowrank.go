package cf

// LowRank is a linear low-rank scorer: scores = (x · W) · Yᵀ, with W and Y
// both N × K, row-major. It is exactly what the CF ONNX model computes.
type LowRank struct {
	N, K int
	W    []float32 // N × K: interaction vector → customer factors
	Y    []float32 // N × K: item factors
}

var _ Scorer = (*LowRank)(nil)

// Score implements Scorer.
func (l *LowRank) Score(x, out []float32) {
	u := make([]float32, l.K)
	l.Factors(x, u)
	l.ScoreFactors(u, out)
}

// Factors writes the customer factors x·W into u (len K).
func (l *LowRank) Factors(x, u []float32) {
	clear(u)
	for j, v := range x {
		if v == 0 {
			continue
		}
		row := l.W[j*l.K : (j+1)*l.K]
		for f := range u {
			u[f] += v * row[f]
		}
	}
}

// ScoreFactors writes u·Yᵀ into out (len N).
func (l *LowRank) ScoreFactors(u, out []float32) {
	for j := range out {
		row := l.Y[j*l.K : (j+1)*l.K]
		var s float32
		for f, v := range u {
			s += v * row[f]
		}
		out[j] = s
	}
}
