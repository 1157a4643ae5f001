// Package propensity trains the purchase-propensity model: a logistic
// regression over (customer, candidate item) features that estimates the
// probability that the customer buys the item in the next period.
package propensity

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// Params are the training settings.
type Params struct {
	L2         float64 `json:"l2"`         // ridge penalty on the standardised weights
	Iterations int     `json:"iterations"` // Newton steps at most
	Tolerance  float64 `json:"tolerance"`  // stop when the largest weight change is below
}

// DefaultParams are the settings the trainer uses.
func DefaultParams() Params { return Params{L2: 1, Iterations: 25, Tolerance: 1e-6} }

// Model is a fitted logistic regression in the raw feature space:
// p = σ(Bias + Σ Weights[i]·x[i]).
type Model struct {
	Features []string  `json:"feature_names"`
	Weights  []float32 `json:"weights"`
	Bias     float32   `json:"bias"`
	// Mean and Std of each feature over the training rows; the weights were
	// fitted on standardised features and folded back.
	Mean []float64 `json:"mean"`
	Std  []float64 `json:"std"`
}

// Dataset is a dense row-major training matrix with 0/1 labels.
type Dataset struct {
	Names  []string
	X      []float32 // rows × len(Names)
	Labels []float32
}

// Rows is the number of examples.
func (d *Dataset) Rows() int { return len(d.Labels) }

// Fit trains by Newton's method (iteratively reweighted least squares) on
// standardised features. It is deterministic.
func Fit(d *Dataset, p Params) (*Model, int, error) {
	n, f := d.Rows(), len(d.Names)
	if p.Iterations < 1 || p.L2 < 0 || math.IsNaN(p.L2) {
		return nil, 0, fmt.Errorf("propensity: invalid parameters %+v", p)
	}
	if n == 0 || f == 0 || len(d.X) != n*f {
		return nil, 0, fmt.Errorf("propensity: %d rows × %d features with %d values", n, f, len(d.X))
	}
	pos := 0
	for _, y := range d.Labels {
		if y == 1 {
			pos++
		}
	}
	if pos == 0 || pos == n {
		return nil, 0, errors.New("propensity: labels are all one class")
	}
	mean, std, constant := standardise(d)
	dim := f + 1 // last is the bias
	w := make([]float64, dim)
	w[f] = math.Log(float64(pos) / float64(n-pos))
	z := make([]float64, dim)
	// loss is the penalised negative log-likelihood at w.
	loss := func(w []float64) float64 {
		var l float64
		for r := 0; r < n; r++ {
			row := d.X[r*f : (r+1)*f]
			s := w[f]
			for c := 0; c < f; c++ {
				s += w[c] * (float64(row[c]) - mean[c]) / std[c]
			}
			// log(1+e^s) − y·s, computed without overflow.
			l += math.Max(s, 0) + math.Log1p(math.Exp(-math.Abs(s))) - float64(d.Labels[r])*s
		}
		for c := 0; c < f; c++ {
			l += p.L2 / 2 * w[c] * w[c]
		}
		return l
	}
	iters := 0
	for iters < p.Iterations {
		iters++
		grad := make([]float64, dim)
		hess := mat.NewSymDense(dim, nil)
		h := make([]float64, dim*dim)
		for r := 0; r < n; r++ {
			row := d.X[r*f : (r+1)*f]
			for c := 0; c < f; c++ {
				z[c] = (float64(row[c]) - mean[c]) / std[c]
			}
			z[f] = 1
			var s float64
			for c := range z {
				s += w[c] * z[c]
			}
			pr := sigmoid(s)
			g := pr - float64(d.Labels[r])
			wt := pr * (1 - pr)
			for a := 0; a < dim; a++ {
				grad[a] += g * z[a]
				za := wt * z[a]
				for b := a; b < dim; b++ {
					h[a*dim+b] += za * z[b]
				}
			}
		}
		for a := 0; a < dim; a++ {
			if a < f {
				grad[a] += p.L2 * w[a]
				h[a*dim+a] += p.L2
				if constant[a] {
					h[a*dim+a]++
				}
			}
			for b := a; b < dim; b++ {
				hess.SetSym(a, b, h[a*dim+b])
			}
		}
		var ch mat.Cholesky
		if !ch.Factorize(hess) {
			return nil, iters, errors.New("propensity: Hessian is not positive definite")
		}
		var step mat.VecDense
		if err := ch.SolveVecTo(&step, mat.NewVecDense(dim, grad)); err != nil {
			return nil, iters, fmt.Errorf("propensity: newton step: %w", err)
		}
		// Pure Newton can overshoot on nearly separable rows and diverge, so
		// the step is halved until the penalised loss goes down (backtracking
		// line search); near the optimum the full step is taken.
		before := loss(w)
		next := make([]float64, dim)
		t := 1.0
		for range 30 {
			for a := range w {
				next[a] = w[a] - t*step.AtVec(a)
			}
			if loss(next) <= before {
				break
			}
			t /= 2
		}
		var maxDelta float64
		for a := range w {
			maxDelta = math.Max(maxDelta, math.Abs(next[a]-w[a]))
		}
		copy(w, next)
		if maxDelta < p.Tolerance {
			break
		}
	}
	m := &Model{Features: append([]string(nil), d.Names...), Weights: make([]float32, f), Mean: mean, Std: std}
	bias := w[f]
	for c := 0; c < f; c++ {
		m.Weights[c] = float32(w[c] / std[c])
		bias -= w[c] * mean[c] / std[c]
	}
	m.Bias = float32(bias)
	for _, v := range append(append([]float32(nil), m.Weights...), m.Bias) {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return nil, iters, errors.New("propensity: non-finite weights")
		}
	}
	return m, iters, nil
}

// standardise returns each feature's mean and standard deviation over d's
// rows, and which features are constant (their std is reported as 1).
func standardise(d *Dataset) (mean, std []float64, constant []bool) {
	n, f := d.Rows(), len(d.Names)
	mean, std, constant = make([]float64, f), make([]float64, f), make([]bool, f)
	for r := 0; r < n; r++ {
		for c := 0; c < f; c++ {
			mean[c] += float64(d.X[r*f+c])
		}
	}
	for c := range mean {
		mean[c] /= float64(n)
	}
	for r := 0; r < n; r++ {
		for c := 0; c < f; c++ {
			v := float64(d.X[r*f+c]) - mean[c]
			std[c] += v * v
		}
	}
	for c := range std {
		std[c] = math.Sqrt(std[c] / float64(n))
		if std[c] < 1e-9 {
			// A constant column carries no information: standardised it is
			// all zeros, its gradient is 0, and a unit curvature keeps the
			// Hessian invertible, so its weight stays exactly 0.
			std[c], constant[c] = 1, true
		}
	}
	return mean, std, constant
}

func sigmoid(s float64) float64 { return 1 / (1 + math.Exp(-s)) }

// Predictor is a fitted propensity model: logistic regression (Model) or
// gradient-boosted trees (Trees).
type Predictor interface {
	Names() []string          // feature names, in column order
	Predict(x, out []float32) // probability of each row of x into out
}

// Names returns the feature names, in column order.
func (m *Model) Names() []string { return m.Features }

// Predict writes the probability of each row of x (rows × len(Features)) into
// out, computed in float32 the way the ONNX graph computes it.
func (m *Model) Predict(x, out []float32) {
	f := len(m.Weights)
	for r := range out {
		out[r] = float32(1 / (1 + math.Exp(-float64(m.logit(x[r*f:(r+1)*f])))))
	}
}

// logit is Bias + Σ Weights[i]·row[i] in float32.
func (m *Model) logit(row []float32) float32 {
	var s float32
	for c, w := range m.Weights {
		s += w * row[c]
	}
	return s + m.Bias
}
