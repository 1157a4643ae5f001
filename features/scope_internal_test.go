package features

import (
	"testing"
	"time"
)

// TestScopesAreHonest checks each definition's scope: a per-item feature
// must not change with the customer, the history, the CF score or the
// reference time, and a per-customer one must not change with the item, the
// history or the CF score. Otherwise Rows would serve stale values.
func TestScopesAreHonest(t *testing.T) {
	t0 := time.Date(2011, 11, 1, 0, 0, 0, 0, time.UTC)
	custs := []*CustomerProfile{nil,
		{Last: t0.AddDate(0, 0, -3), Invoices: 5, Spend: 80, Categories: map[string]float64{"mugs": 0.6}},
		{Last: t0.AddDate(0, -5, 0), Invoices: 90, Spend: 12000, Categories: map[string]float64{"bags": 0.9}}}
	items := []*ItemStats{
		{Category: "mugs", Price: 2.5, Buyers: 9, RecentBuyers: 4, PriorBuyers: 2, RepeatRate: 0.25, FirstSold: t0.AddDate(0, -6, 0)},
		{Category: "bags", Price: 19, Buyers: 300, RecentBuyers: 40, PriorBuyers: 70, RepeatRate: 0.6, FirstSold: t0.AddDate(0, -11, 0)}}
	hists := []*ItemHistory{nil, {Invoices: 3, Last: t0.AddDate(0, 0, -10)}, {Invoices: 1, Last: t0.AddDate(0, -8, 0)}}
	nows := []time.Time{t0, t0.AddDate(0, 2, 0)}
	cfs := []float32{0, 0.4, 1}
	for _, d := range Propensity() {
		if d.scope == perRow {
			continue
		}
		seen := map[string]float32{} // the value by what the scope says it depends on
		for _, c := range custs {
			for _, it := range items {
				for _, h := range hists {
					for _, now := range nows {
						for i, cf := range cfs {
							cand := Candidate{Customer: c, History: h, Item: it, Now: now, CFScore: cf, HasCF: i > 0}
							v, ok := d.value(&cand)
							if !ok {
								v = d.Default
							}
							var key string
							switch d.scope {
							case perItem:
								key = it.Category
							case perItemNow:
								key = it.Category + now.String()
							case perCustomerCategory:
								key = it.Category
								if c != nil {
									key += c.Last.String()
								}
							case perCustomer:
								key = now.String()
								if c != nil {
									key += c.Last.String()
								}
							}
							if prev, had := seen[key]; had && prev != v {
								t.Errorf("%s (scope %d) changed with something outside its scope: %v then %v", d.Name, d.scope, prev, v)
							}
							seen[key] = v
						}
					}
				}
			}
		}
	}
}
