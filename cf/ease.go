package cf

import (
	"fmt"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/lapack/lapack64"
)

// EASE is the shallow linear autoencoder of Steck (2019), "Embarrassingly
// Shallow Autoencoders for Sparse Data": with G = XᵀX over the binarised
// customer × item matrix and P = (G + λI)⁻¹, the item-item weights are
// B = −P / diag(P) (column j divided by P_jj) with a zero diagonal, and
// score = x · B.
type EASE struct {
	Lambda float64
	n      int
	b      []float32 // n × n, row-major
}

// NewEASE fits EASE on m with L2 weight lambda (> 0). It inverts the
// symmetric positive definite G + λI through its Cholesky factorisation in
// float64 and keeps B as float32. Memory peaks at about 12·n² bytes.
func NewEASE(m *Interactions, lambda float64) (*EASE, error) {
	if !(lambda > 0) {
		return nil, fmt.Errorf("ease: lambda must be > 0, got %v", lambda)
	}
	n := m.Items.Len()
	g := Gram[float64](m, func(float32) float32 { return 1 })
	for i := range n {
		g[i*n+i] += lambda
	}
	if _, ok := lapack64.Potrf(blas64.Symmetric{Uplo: blas.Upper, N: n, Stride: n, Data: g}); !ok {
		return nil, fmt.Errorf("ease: G + λI is not positive definite (λ=%v)", lambda)
	}
	if _, ok := lapack64.Potri(blas64.Triangular{Uplo: blas.Upper, Diag: blas.NonUnit, N: n, Stride: n, Data: g}); !ok {
		return nil, fmt.Errorf("ease: G + λI is singular (λ=%v)", lambda)
	}
	// The upper triangle of g now holds P. B_ij = −P_ij / P_jj, built tile by
	// tile so that reading P's upper triangle for the lower half stays in cache.
	diag := make([]float64, n)
	for j := range n {
		diag[j] = g[j*n+j]
	}
	b := make([]float32, n*n)
	const tile = 64
	for i0 := 0; i0 < n; i0 += tile {
		for j0 := i0; j0 < n; j0 += tile {
			for i := i0; i < min(i0+tile, n); i++ {
				for j := max(j0, i+1); j < min(j0+tile, n); j++ {
					pij := g[i*n+j]
					b[i*n+j] = float32(-pij / diag[j])
					b[j*n+i] = float32(-pij / diag[i])
				}
			}
		}
	}
	return &EASE{Lambda: lambda, n: n, b: b}, nil
}

// Score writes score(j) = Σ_i x_i · B_ij into out.
func (e *EASE) Score(x, out []float32) { denseScore(e.b, e.n, x, out) }

// Weights returns B as an n × n row-major matrix (row i holds B_i·). The
// caller must not modify it.
func (e *EASE) Weights() []float32 { return e.b }
