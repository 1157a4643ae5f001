package cf

import (
	"math"
	"runtime"
	"sync"

	"gonum.org/v1/gonum/blas/blas32"
)

// ItemKNNConfig chooses how item-kNN builds its similarities.
type ItemKNNConfig struct {
	// Weighted builds the similarities on Weight(count) cells instead of the
	// binarised (bought or not) customer × item matrix.
	Weighted bool
	// Neighbours keeps only the Neighbours most similar items of each item
	// (ties to the lower index); 0 keeps all.
	Neighbours int
}

// ItemKNN is item-based k-nearest-neighbours with cosine similarity:
// sim(i, j) = <X_i, X_j> / (|X_i| |X_j|) over the columns of the customer ×
// item matrix X, with sim(i, i) = 0, and score(j) = Σ_i x_i · sim(i, j). With
// Neighbours = N, row i of sim keeps only i's N most similar items.
type ItemKNN struct {
	Config ItemKNNConfig
	n      int
	sim    []float32 // n × n, row-major
}

// NewItemKNN computes the similarities of the items of m by sparse
// co-occurrence counting over the customers' rows.
func NewItemKNN(m *Interactions, cfg ItemKNNConfig) *ItemKNN {
	n := m.Items.Len()
	cell := func(float32) float32 { return 1 }
	if cfg.Weighted {
		cell = Weight
	}
	sim := Gram[float32](m, cell)
	norm := make([]float32, n)
	for i := range n {
		norm[i] = float32(math.Sqrt(float64(sim[i*n+i])))
	}
	for i := range n {
		row := sim[i*n : (i+1)*n]
		for j := range row {
			if d := norm[i] * norm[j]; d > 0 && i != j {
				row[j] /= d
			} else {
				row[j] = 0
			}
		}
		if cfg.Neighbours > 0 && cfg.Neighbours < n-1 {
			keep := TopK(row, cfg.Neighbours, nil)
			kept := make([]float32, len(keep))
			for t, j := range keep {
				kept[t] = row[j]
			}
			clear(row)
			for t, j := range keep {
				row[j] = kept[t]
			}
		}
	}
	return &ItemKNN{Config: cfg, n: n, sim: sim}
}

// Score writes score(j) = Σ_i x_i · sim(i, j) into out.
func (k *ItemKNN) Score(x, out []float32) { denseScore(k.sim, k.n, x, out) }

// Similarity returns the n × n row-major similarity matrix (row i holds
// sim(i, ·)). The caller must not modify it.
func (k *ItemKNN) Similarity() []float32 { return k.sim }

// denseScore computes out = xᵀ W for a row-major n × n matrix W, touching only
// the rows where x is non-zero.
func denseScore(w []float32, n int, x, out []float32) {
	clear(out[:n])
	y := blas32.Vector{N: n, Inc: 1, Data: out[:n]}
	for i, xi := range x[:n] {
		if xi != 0 {
			blas32.Axpy(xi, blas32.Vector{N: n, Inc: 1, Data: w[i*n : (i+1)*n]}, y)
		}
	}
}

// Gram returns the dense n × n row-major matrix G = XᵀX of m, where X holds
// cell(count) in each stored cell. It counts co-occurrences customer by
// customer, so the work is Σ_u |row u|² rather than n² column products.
// Workers split the item rows of G between them; each cell is summed in
// customer order, so the result does not depend on scheduling.
func Gram[T float32 | float64](m *Interactions, cell func(count float32) float32) []T {
	n := m.Items.Len()
	g := make([]T, n*n)
	workers := max(1, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var vals []T
			for u := range m.Rows() {
				cols, counts := m.Row(u)
				vals = vals[:0]
				for _, c := range counts {
					vals = append(vals, T(cell(c)))
				}
				for p, a := range cols {
					if int(a)%workers != w {
						continue
					}
					row := g[int(a)*n : int(a)*n+n]
					va := vals[p]
					for q := p; q < len(cols); q++ {
						row[cols[q]] += va * vals[q]
					}
				}
			}
		}()
	}
	wg.Wait()
	for a := range n {
		for b := a + 1; b < n; b++ {
			g[b*n+a] = g[a*n+b]
		}
	}
	return g
}
