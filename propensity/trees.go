package propensity

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// TreeParams are the settings of the gradient-boosted trees.
type TreeParams struct {
	Trees        int     `json:"trees"`
	Depth        int     `json:"depth"` // splits from the root to a leaf, at most
	LearningRate float64 `json:"learning_rate"`
	L2           float64 `json:"l2"`          // ridge penalty on the leaf values
	MinHessian   float64 `json:"min_hessian"` // smallest sum of p(1−p) a child may hold
	Bins         int     `json:"bins"`        // histogram bins per feature, 2..256
}

// DefaultTreeParams are the settings the trainer uses.
func DefaultTreeParams() TreeParams {
	return TreeParams{Trees: 15, Depth: 3, LearningRate: 0.1, L2: 10, MinHessian: 50, Bins: 64}
}

// TreeNode is a split (Feature ≥ 0: a row goes to Left when its value is at
// most Threshold, else to Right) or a leaf (Feature −1) adding Value to the
// logit.
type TreeNode struct {
	Feature   int     `json:"feature"`
	Threshold float32 `json:"threshold"`
	Left      int     `json:"left"`
	Right     int     `json:"right"`
	Value     float32 `json:"value"`
}

// Tree is one regression tree; Nodes[0] is the root and children follow
// their parent.
type Tree struct {
	Nodes []TreeNode `json:"nodes"`
}

// Trees is a fitted ensemble of regression trees on the logit scale:
// p = σ(Σ leaf values + Base), the way ONNX's TreeEnsembleRegressor (SUM,
// base_values) followed by Sigmoid computes it.
type Trees struct {
	Features []string   `json:"feature_names"`
	Base     float32    `json:"base"`
	Trees    []Tree     `json:"trees"`
	Params   TreeParams `json:"params"`
	// Linear, when set, is a logistic regression whose logit the trees
	// correct: p = σ(linear logit + Σ leaf values + Base).
	Linear *Model `json:"linear,omitempty"`
}

// Logit returns the ensemble's logit of one row, summed in float32 in tree
// order, then the base added.
func (e *Trees) Logit(row []float32) float32 {
	var s float32
	for t := range e.Trees {
		nodes := e.Trees[t].Nodes
		n := 0
		for nodes[n].Feature >= 0 {
			if row[nodes[n].Feature] <= nodes[n].Threshold {
				n = nodes[n].Left
			} else {
				n = nodes[n].Right
			}
		}
		s += nodes[n].Value
	}
	s += e.Base
	if e.Linear != nil {
		s += e.Linear.logit(row)
	}
	return s
}

// Predict writes the probability of each row of x (rows × len(Features))
// into out.
func (e *Trees) Predict(x, out []float32) {
	f := len(e.Features)
	for r := range out {
		out[r] = float32(1 / (1 + math.Exp(-float64(e.Logit(x[r*f:(r+1)*f])))))
	}
}

// Names returns the feature names, in column order.
func (e *Trees) Names() []string { return e.Features }

// binned is the training matrix quantised per feature: bin b of feature c
// holds the values in (cuts[c][b−1], cuts[c][b]]; the last bin, index
// len(cuts[c]), holds the values above every cut.
type binned struct {
	cuts [][]float32
	bins []uint8 // rows × features
}

// quantise cuts each feature at up to bins−1 of its quantiles, taken from
// its distinct values so that a cut is a value the data holds.
func quantise(d *Dataset, bins int) *binned {
	n, f := d.Rows(), len(d.Names)
	q := &binned{cuts: make([][]float32, f), bins: make([]uint8, n*f)}
	col := make([]float32, n)
	for c := range f {
		for r := range n {
			col[r] = d.X[r*f+c]
		}
		slices.Sort(col)
		uniq := slices.Compact(slices.Clone(col))
		var cuts []float32
		if len(uniq) <= bins {
			cuts = uniq[:len(uniq)-1]
		} else {
			for k := 1; k < bins; k++ {
				v := col[k*n/bins]
				if v != col[n-1] && (len(cuts) == 0 || v > cuts[len(cuts)-1]) {
					cuts = append(cuts, v)
				}
			}
		}
		q.cuts[c] = cuts
		for r := range n {
			b, _ := slices.BinarySearch(cuts, d.X[r*f+c])
			q.bins[r*f+c] = uint8(b)
		}
	}
	return q
}

// split is the best split found for an open node.
type split struct {
	feature, bin int
	gain         float64
	gl, hl       float64
}

// FitTrees trains gradient-boosted regression trees on the logistic loss,
// depth-wise with histograms and Newton leaf values. With linear set, the
// boosting starts from its logit instead of the base rate, and the trees
// learn what it misses. It is deterministic.
func FitTrees(d *Dataset, p TreeParams, linear *Model) (*Trees, error) {
	n, f := d.Rows(), len(d.Names)
	if p.Trees < 1 || p.Depth < 1 || p.Bins < 2 || p.Bins > 256 || !(p.LearningRate > 0) || p.L2 < 0 || p.MinHessian < 0 {
		return nil, fmt.Errorf("propensity: invalid tree parameters %+v", p)
	}
	if n == 0 || f == 0 || len(d.X) != n*f {
		return nil, fmt.Errorf("propensity: %d rows × %d features with %d values", n, f, len(d.X))
	}
	pos := 0
	for _, y := range d.Labels {
		if y == 1 {
			pos++
		}
	}
	if pos == 0 || pos == n {
		return nil, errors.New("propensity: labels are all one class")
	}
	q := quantise(d, p.Bins)
	e := &Trees{Features: slices.Clone(d.Names), Base: float32(math.Log(float64(pos) / float64(n-pos))), Params: p}
	score := make([]float64, n)
	for r := range score {
		if linear != nil {
			score[r] = float64(linear.logit(d.X[r*f : (r+1)*f]))
		} else {
			score[r] = float64(e.Base)
		}
	}
	if linear != nil {
		e.Base, e.Linear = 0, linear
	}
	g, h := make([]float64, n), make([]float64, n)
	at := make([]int32, n) // each row's node in the tree being grown
	nb := p.Bins
	for range p.Trees {
		for r := range n {
			pr := 1 / (1 + math.Exp(-score[r]))
			g[r], h[r] = pr-float64(d.Labels[r]), max(pr*(1-pr), 1e-12)
			at[r] = 0
		}
		var root struct{ g, h float64 }
		for r := range n {
			root.g += g[r]
			root.h += h[r]
		}
		nodes := []TreeNode{{Feature: -1}}
		sums := [][2]float64{{root.g, root.h}} // per node: gradient and hessian sums
		open := []int{0}
		for depth := 0; depth < p.Depth && len(open) > 0; depth++ {
			slot := make([]int, len(nodes)) // node -> position in open, or -1
			for i := range slot {
				slot[i] = -1
			}
			for i, nd := range open {
				slot[nd] = i
			}
			hist := make([]float64, len(open)*f*nb*2)
			for r := range n {
				o := slot[at[r]]
				if o < 0 {
					continue
				}
				base := o * f * nb
				row := q.bins[r*f : (r+1)*f]
				for c, b := range row {
					k := (base + c*nb + int(b)) * 2
					hist[k] += g[r]
					hist[k+1] += h[r]
				}
			}
			splits := make([]split, len(open))
			var next []int
			for i, nd := range open {
				s := bestSplit(hist[i*f*nb*2:(i+1)*f*nb*2], q.cuts, sums[nd][0], sums[nd][1], nb, p)
				splits[i] = s
				if s.feature < 0 {
					continue
				}
				l, rt := len(nodes), len(nodes)+1
				nodes[nd] = TreeNode{Feature: s.feature, Threshold: q.cuts[s.feature][s.bin], Left: l, Right: rt}
				nodes = append(nodes, TreeNode{Feature: -1}, TreeNode{Feature: -1})
				sums = append(sums, [2]float64{s.gl, s.hl}, [2]float64{sums[nd][0] - s.gl, sums[nd][1] - s.hl})
				next = append(next, l, rt)
			}
			for r := range n {
				o := slot[at[r]]
				if o < 0 || splits[o].feature < 0 {
					continue
				}
				nd := &nodes[at[r]]
				if int(q.bins[r*f+nd.Feature]) <= splits[o].bin {
					at[r] = int32(nd.Left)
				} else {
					at[r] = int32(nd.Right)
				}
			}
			open = next
		}
		for i := range nodes {
			if nodes[i].Feature < 0 {
				nodes[i].Value = float32(-sums[i][0] / (sums[i][1] + p.L2) * p.LearningRate)
			}
		}
		for r := range n {
			score[r] += float64(nodes[at[r]].Value)
		}
		e.Trees = append(e.Trees, Tree{Nodes: nodes})
	}
	for _, t := range e.Trees {
		for _, nd := range t.Nodes {
			if math.IsNaN(float64(nd.Value)) || math.IsInf(float64(nd.Value), 0) {
				return nil, errors.New("propensity: non-finite leaf values")
			}
		}
	}
	return e, nil
}

// bestSplit scans one node's histograms (feature-major, nb bins of gradient
// and hessian sums) for the split of largest gain; feature −1 when no split
// gains or every split leaves a child under MinHessian. Ties keep the first.
func bestSplit(hist []float64, cuts [][]float32, gs, hs float64, nb int, p TreeParams) split {
	best := split{feature: -1}
	parent := gs * gs / (hs + p.L2)
	for c := range cuts {
		var gl, hl float64
		for b := range cuts[c] {
			k := (c*nb + b) * 2
			gl += hist[k]
			hl += hist[k+1]
			gr, hr := gs-gl, hs-hl
			if hl < p.MinHessian || hr < p.MinHessian {
				continue
			}
			gain := gl*gl/(hl+p.L2) + gr*gr/(hr+p.L2) - parent
			if gain > best.gain+1e-9 {
				best = split{feature: c, bin: b, gain: gain, gl: gl, hl: hl}
			}
		}
	}
	return best
}
