package propensity

// ModeSplit is one propensity model made of two sub-models selected per row
// by a mode column: rows whose ModeColumn is above 0.5 are scored by
// Discover, the others by Auto. Each sub-model reads its own columns of the
// row (AutoColumns, DiscoverColumns: indices into Features, in the
// sub-model's order).
type ModeSplit struct {
	Features        []string
	ModeColumn      int
	Auto, Discover  Predictor
	AutoColumns     []int
	DiscoverColumns []int
}

// Names returns the feature names, in column order.
func (s *ModeSplit) Names() []string { return s.Features }

// Predict writes the probability of each row of x into out.
func (s *ModeSplit) Predict(x, out []float32) {
	f := len(s.Features)
	buf := make([]float32, max(len(s.AutoColumns), len(s.DiscoverColumns)))
	for r := range out {
		row := x[r*f : (r+1)*f]
		p, cols := s.Auto, s.AutoColumns
		if row[s.ModeColumn] > 0.5 {
			p, cols = s.Discover, s.DiscoverColumns
		}
		sub := buf[:len(cols)]
		for k, c := range cols {
			sub[k] = row[c]
		}
		p.Predict(sub, out[r:r+1])
	}
}

// Columns returns the indices of names in d's columns and a dataset of just
// those columns, in that order. Every name must be one of d.Names.
func (d *Dataset) Columns(names []string) ([]int, *Dataset) {
	idx := make([]int, len(names))
	for k, n := range names {
		idx[k] = -1
		for c, m := range d.Names {
			if m == n {
				idx[k] = c
			}
		}
		if idx[k] < 0 {
			panic("propensity: no column " + n)
		}
	}
	f := len(d.Names)
	out := &Dataset{Names: append([]string(nil), names...), Labels: d.Labels, X: make([]float32, 0, d.Rows()*len(names))}
	for r := range d.Rows() {
		for _, c := range idx {
			out.X = append(out.X, d.X[r*f+c])
		}
	}
	return idx, out
}
