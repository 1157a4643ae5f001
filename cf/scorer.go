package cf

import (
	"math"
	"slices"
)

// Scorer scores every item of a vocabulary for one customer, given that
// customer's dense interaction vector x (index = vocabulary order). It writes
// len(x) scores into out. Implementations must be safe for concurrent use.
type Scorer interface {
	Score(x, out []float32)
}

// Weight is the value a customer's interaction vector holds for an item bought
// on count distinct invoices. Training, evaluation and serving all build the
// vector through this one function.
func Weight(count float32) float32 {
	if count <= 0 {
		return 0
	}
	return float32(math.Log1p(float64(count)))
}

// Vector fills x (len = vocabulary size) with the weighted row u of m.
func (m *Interactions) Vector(u int, x []float32) {
	clear(x)
	cols, counts := m.Row(u)
	for n, j := range cols {
		x[j] = Weight(counts[n])
	}
}

// TopK returns the indices of the k highest scores, best first, skipping
// indices for which skip returns true (skip may be nil). Ties go to the lower
// index so results are deterministic. NaN scores are never returned.
//
// It keeps a buffer of up to 2k contenders above a threshold: when the
// buffer fills, a selection keeps its k best and their worst becomes the
// threshold. Most scores then cost one comparison, and the k-th best is
// found in linear time instead of through a heap's log-k sifts. Contenders
// are packed into uint64 keys whose ascending order is best first, so that
// selecting and sorting them compares plain integers.
func TopK(scores []float32, k int, skip func(j int) bool) []int {
	if k <= 0 {
		return nil
	}
	buf := make([]uint64, 0, 2*k)
	thr, full := float32(0), false
	for j, s := range scores {
		// Scanning in index order, a score equal to the threshold's loses
		// the tie to it, so "not above" is out.
		if s != s || (full && !(s > thr)) || (skip != nil && skip(j)) {
			continue
		}
		buf = append(buf, rankKey(s, j))
		if len(buf) == cap(buf) {
			selectSmallest(buf, k)
			buf = buf[:k]
			thr, full = keyScore(slices.Max(buf)), true
		}
	}
	if len(buf) > k {
		selectSmallest(buf, k)
		buf = buf[:k]
	}
	slices.Sort(buf)
	out := make([]int, len(buf))
	for i, key := range buf {
		out[i] = int(uint32(key))
	}
	return out
}

// rankKey packs a (non-NaN) score and its index so that a smaller key is a
// better entry: a higher score, or the same score and a lower index. The
// high half is the score's bits mapped to an order-preserving unsigned
// integer, then inverted; the low half is the index.
func rankKey(s float32, j int) uint64 {
	if s == 0 {
		s = 0 // -0 ties with +0, as the float comparison says
	}
	b := math.Float32bits(s)
	if b&(1<<31) != 0 {
		b = ^b // negative: larger magnitude is smaller
	} else {
		b |= 1 << 31
	}
	return uint64(^b)<<32 | uint64(uint32(j))
}

// keyScore is the score packed in a rankKey.
func keyScore(key uint64) float32 {
	b := ^uint32(key >> 32)
	if b&(1<<31) != 0 {
		b &^= 1 << 31
	} else {
		b = ^b
	}
	return math.Float32frombits(b)
}

// selectSmallest reorders keys so that keys[:k] holds its k smallest, in no
// particular order (quickselect, median-of-three pivots). Keys are distinct
// (each holds its own index), so ties cannot degrade it.
func selectSmallest(keys []uint64, k int) {
	lo, hi := 0, len(keys)-1
	for lo < hi {
		mid := lo + (hi-lo)/2
		if keys[mid] < keys[lo] {
			keys[lo], keys[mid] = keys[mid], keys[lo]
		}
		if keys[hi] < keys[lo] {
			keys[lo], keys[hi] = keys[hi], keys[lo]
		}
		if keys[hi] < keys[mid] {
			keys[mid], keys[hi] = keys[hi], keys[mid]
		}
		p := keys[mid]
		i, j := lo, hi
		for i <= j {
			for keys[i] < p {
				i++
			}
			for p < keys[j] {
				j--
			}
			if i <= j {
				keys[i], keys[j] = keys[j], keys[i]
				i++
				j--
			}
		}
		// keys[lo..j] ≤ p ≤ keys[i..hi].
		switch {
		case k-1 <= j:
			hi = j
		case k-1 >= i:
			lo = i
		default:
			return
		}
	}
}
