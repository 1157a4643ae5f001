// Package cf holds the collaborative-filtering models Tailor trains and the
// baselines they are measured against. Every model here scores items for a
// customer from that customer's interaction vector.
package cf

import (
	"slices"
	"time"

	"github.com/tailorhq/tailor/dataset"
)

// Vocabulary maps item ids to column indices, in a fixed order.
type Vocabulary struct {
	ids   []string
	index map[string]int
}

// NewVocabulary keeps ids in the order given; that order is the column order
// of every matrix and model built on it.
func NewVocabulary(ids []string) *Vocabulary {
	v := &Vocabulary{ids: slices.Clone(ids), index: make(map[string]int, len(ids))}
	for i, id := range v.ids {
		v.index[id] = i
	}
	return v
}

// Len is the number of items.
func (v *Vocabulary) Len() int { return len(v.ids) }

// ID returns the item id at column i.
func (v *Vocabulary) ID(i int) string { return v.ids[i] }

// IDs returns the ids in column order. The caller must not modify it.
func (v *Vocabulary) IDs() []string { return v.ids }

// Index returns the column of id.
func (v *Vocabulary) Index(id string) (int, bool) {
	i, ok := v.index[id]
	return i, ok
}

// Interactions is a sparse customer × item matrix in CSR form. Each stored
// cell holds how many distinct invoices of the customer contained the item and
// when the customer last bought it.
type Interactions struct {
	Customers []string // row order, ascending
	Items     *Vocabulary
	RowPtr    []int // len(Customers)+1
	Cols      []int32
	Counts    []float32
	Last      []time.Time

	rowOf map[string]int
}

// BuildInteractions aggregates purchases into a matrix over items. Purchases of
// items outside the vocabulary are ignored.
func BuildInteractions(ps []dataset.Purchase, items *Vocabulary) *Interactions {
	type key struct {
		cust string
		item int32
	}
	type cell struct {
		invoices map[string]struct{}
		last     time.Time
	}
	cells := make(map[key]*cell)
	custSet := make(map[string]struct{})
	for _, p := range ps {
		j, ok := items.Index(p.Item)
		if !ok {
			continue
		}
		custSet[p.Customer] = struct{}{}
		k := key{p.Customer, int32(j)}
		c := cells[k]
		if c == nil {
			c = &cell{invoices: make(map[string]struct{})}
			cells[k] = c
		}
		c.invoices[p.Invoice] = struct{}{}
		if p.Time.After(c.last) {
			c.last = p.Time
		}
	}
	m := &Interactions{Items: items, rowOf: make(map[string]int, len(custSet))}
	for c := range custSet {
		m.Customers = append(m.Customers, c)
	}
	slices.Sort(m.Customers)
	for i, c := range m.Customers {
		m.rowOf[c] = i
	}
	keys := make([]key, 0, len(cells))
	for k := range cells {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b key) int {
		if ra, rb := m.rowOf[a.cust], m.rowOf[b.cust]; ra != rb {
			return ra - rb
		}
		return int(a.item) - int(b.item)
	})
	m.RowPtr = make([]int, len(m.Customers)+1)
	m.Cols = make([]int32, len(keys))
	m.Counts = make([]float32, len(keys))
	m.Last = make([]time.Time, len(keys))
	for n, k := range keys {
		m.RowPtr[m.rowOf[k.cust]+1]++
		m.Cols[n] = k.item
		m.Counts[n] = float32(len(cells[k].invoices))
		m.Last[n] = cells[k].last
	}
	for i := range m.Customers {
		m.RowPtr[i+1] += m.RowPtr[i]
	}
	return m
}

// Rows is the number of customers.
func (m *Interactions) Rows() int { return len(m.Customers) }

// Row returns the columns and invoice counts of customer row u.
func (m *Interactions) Row(u int) (cols []int32, counts []float32) {
	a, b := m.RowPtr[u], m.RowPtr[u+1]
	return m.Cols[a:b], m.Counts[a:b]
}

// CustomerRow returns the row of a customer id.
func (m *Interactions) CustomerRow(id string) (int, bool) {
	u, ok := m.rowOf[id]
	return u, ok
}

// Transpose returns the item × customer view: for each item, the rows that
// bought it and the counts, as CSR arrays.
func (m *Interactions) Transpose() (colPtr []int, rows []int32, counts []float32) {
	n := m.Items.Len()
	colPtr = make([]int, n+1)
	for _, j := range m.Cols {
		colPtr[j+1]++
	}
	for j := 0; j < n; j++ {
		colPtr[j+1] += colPtr[j]
	}
	rows = make([]int32, len(m.Cols))
	counts = make([]float32, len(m.Cols))
	next := slices.Clone(colPtr[:n])
	for u := range m.Customers {
		for p := m.RowPtr[u]; p < m.RowPtr[u+1]; p++ {
			j := m.Cols[p]
			rows[next[j]] = int32(u)
			counts[next[j]] = m.Counts[p]
			next[j]++
		}
	}
	return colPtr, rows, counts
}
