package cf

import (
	"slices"
	"testing"
	"time"

	"github.com/tailorhq/tailor/dataset"
)

var day0 = time.Date(2011, 1, 1, 0, 0, 0, 0, time.UTC)

func buy(cust, item, inv string, day int) dataset.Purchase {
	return dataset.Purchase{Customer: cust, Item: item, Invoice: inv, Time: day0.AddDate(0, 0, day), Quantity: 1, Price: 1}
}

func matrix(ps []dataset.Purchase) *Interactions {
	var ids []string
	for _, p := range ps {
		ids = append(ids, p.Item)
	}
	slices.Sort(ids)
	return BuildInteractions(ps, NewVocabulary(slices.Compact(ids)))
}

// popData: buyers a:3, b:2 (3 invoices), c:2 (2 invoices), d:1, e:1 (ids break the tie).
func popData() *Interactions {
	return matrix([]dataset.Purchase{
		buy("1", "a", "i1", 0), buy("2", "a", "i2", 0), buy("3", "a", "i3", 0),
		buy("1", "b", "i1", 0), buy("1", "b", "i4", 1), buy("2", "b", "i2", 0),
		buy("2", "c", "i2", 0), buy("3", "c", "i3", 0),
		buy("4", "e", "i5", 2), buy("4", "d", "i5", 2),
	})
}

func ids(m *Interactions, js []int) []string {
	out := make([]string, len(js))
	for i, j := range js {
		out[i] = m.Items.ID(j)
	}
	return out
}

func TestPopular(t *testing.T) {
	m := popData()
	p := NewPopular(m)
	if got := ids(m, p.Order()); !slices.Equal(got, []string{"a", "b", "c", "d", "e"}) {
		t.Fatalf("order %v", got)
	}
	out := make([]float32, m.Items.Len())
	p.Score([]float32{0, 0, 0, 9, 9}, out)
	if got := ids(m, TopK(out, 5, nil)); !slices.Equal(got, []string{"a", "b", "c", "d", "e"}) {
		t.Errorf("TopK of scores %v", got)
	}
	if p.Rank(2) != 2 {
		t.Errorf("rank of c = %d", p.Rank(2))
	}
}

func TestOwnThenPopular(t *testing.T) {
	m := matrix([]dataset.Purchase{
		// Customer 9: e on 3 invoices; d, a, b, c on 1, by recency d (day 2),
		// a and b (day 1; popularity puts a first), c (day 0).
		buy("9", "e", "x1", 0), buy("9", "e", "x2", 1), buy("9", "e", "x3", 2),
		buy("9", "c", "x1", 0), buy("9", "d", "x3", 2),
		buy("9", "b", "x2", 1), buy("9", "a", "x2", 1),
		// Popularity: f (3 buyers), a (2), ...
		buy("1", "f", "y1", 0), buy("2", "f", "y2", 0), buy("3", "f", "y3", 0),
		buy("1", "a", "y1", 0), buy("1", "g", "y1", 0),
	})
	o := NewOwnThenPopular(m)
	if got := o.Recommend("9", 10, nil); !slices.Equal(got, []string{"e", "d", "a", "b", "c", "f", "g"}) {
		t.Errorf("own then popular: %v", got)
	}
	if got := o.Recommend("9", 3, nil); !slices.Equal(got, []string{"e", "d", "a"}) {
		t.Errorf("k=3: %v", got)
	}
	skip := func(it string) bool { return it == "e" || it == "f" }
	if got := o.Recommend("9", 10, skip); !slices.Equal(got, []string{"d", "a", "b", "c", "g"}) {
		t.Errorf("skip: %v", got)
	}
	if got := o.Recommend("nobody", 3, nil); !slices.Equal(got, []string{"f", "a", "e"}) {
		t.Errorf("unknown customer: %v", got)
	}
	if got := o.Recommend("9", 0, nil); len(got) != 0 {
		t.Errorf("k=0: %v", got)
	}
}
