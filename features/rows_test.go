package features_test

import (
	"math"
	"slices"
	"testing"

	"github.com/tailorhq/tailor/features"
)

// TestRowsMatchesVector holds the request path's batch assembly to the
// row-by-row definition: the same values bit for bit and the same count of
// defaults, whether an item's columns come from the WithItems table or not.
func TestRowsMatchesVector(t *testing.T) {
	cust, item, now := known()
	hist, _ := cust.History("A")
	old, _ := cust.History("O")
	other := *item
	other.Item, other.Category, other.Buyers, other.FirstSold = "O", "bags", 0, now.AddDate(0, 0, 1)
	second := *cust
	second.Invoices, second.Spend, second.Last = 40, 9000, at(-30)
	second.Categories = map[string]float64{"mugs": 0.1, "bags": 0.9}
	catalog := []*features.ItemStats{item, &other}
	stats := func(j int) *features.ItemStats { return catalog[j] }
	stray := *item // same values as item, but not the catalog's pointer
	stray.Buyers = 1000

	cs := []features.Candidate{
		{Customer: cust, History: &hist, Item: item, ItemIndex: 0, Now: now, CFScore: 0.5, HasCF: true},
		{Customer: cust, History: &old, Item: &other, ItemIndex: 1, Now: now},
		{Customer: cust, Item: item, ItemIndex: 0, Now: now, CFScore: 1, HasCF: true},
		{Customer: cust, Item: &stray, ItemIndex: 0, Now: now}, // index names another item: computed
		{Customer: cust, Item: item, ItemIndex: 7, Now: now},   // out of range: computed
		{Customer: cust, Item: item, ItemIndex: -1, Now: now},
		{Customer: &second, Item: &other, ItemIndex: 1, Now: now}, // another customer mid-batch
		{Customer: &second, Item: item, ItemIndex: 0, Now: at(5)}, // another reference time
		{Item: item, ItemIndex: 0, Now: now},                      // anonymous
		{Customer: cust, Item: &other, ItemIndex: 1, Now: now},
		{Customer: &second, Item: &other, ItemIndex: 1, Now: now}, // back to the second customer
		{Customer: &second, Item: item, ItemIndex: 0, Now: now},
	}
	names := features.Names()
	reversed := slices.Clone(names)
	slices.Reverse(reversed)
	for _, order := range [][]string{names, reversed, {"category_affinity", "item_price_log"}, {"customer_recency_log"}} {
		a, err := features.NewAssembler(order)
		if err != nil {
			t.Fatal(err)
		}
		f := a.Len()
		want := make([]float32, len(cs)*f)
		wantDef := 0
		for i := range cs {
			wantDef += a.Vector(&cs[i], want[i*f:(i+1)*f])
		}
		for _, asm := range []*features.Assembler{a, a.WithItems(len(catalog), stats, now), a.WithItems(len(catalog), stats, at(5)), a.WithItems(len(catalog), stats, at(-3))} {
			got := make([]float32, len(cs)*f)
			for i := range got {
				got[i] = float32(math.NaN()) // every column must be written
			}
			if def := asm.Rows(cs, got); def != wantDef {
				t.Errorf("%v: Rows counted %d defaults, Vector %d", order, def, wantDef)
			}
			for i := range got {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Errorf("%v: row %d column %s = %v, Vector says %v", order, i/f, order[i%f], got[i], want[i])
				}
			}
		}
	}
}
