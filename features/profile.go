// Package features defines every feature Tailor's models read, in one
// declarative place, and computes the offline features the trainer writes and
// the server loads: customer profiles (recency, frequency, monetary value,
// category affinities, per-item purchase history) and item statistics.
package features

import (
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/tailorhq/tailor/dataset"
)

// ItemHistory is one customer's history with one item.
type ItemHistory struct {
	Item     string    `json:"item"`
	Invoices int       `json:"invoices"` // distinct invoices containing the item
	Quantity int       `json:"quantity"` // units bought in all
	Last     time.Time `json:"last"`     // last purchase
}

// CustomerProfile is what Tailor knows offline about one customer.
type CustomerProfile struct {
	ID       string    `json:"id"`
	Country  string    `json:"country"` // country of the latest invoice
	First    time.Time `json:"first"`
	Last     time.Time `json:"last"`
	Invoices int       `json:"invoices"` // frequency
	Spend    float64   `json:"spend"`    // monetary value, GBP
	// Categories is the share of the customer's invoice lines per category.
	Categories map[string]float64 `json:"categories"`
	Items      []ItemHistory      `json:"items"` // ascending item id
}

// History returns the customer's history with item, if any.
func (c *CustomerProfile) History(item string) (ItemHistory, bool) {
	i, ok := slices.BinarySearchFunc(c.Items, item, func(h ItemHistory, id string) int {
		return strings.Compare(h.Item, id)
	})
	if !ok {
		return ItemHistory{}, false
	}
	return c.Items[i], true
}

// ItemStats is what Tailor knows offline about one item.
type ItemStats struct {
	Item         string    `json:"item"`
	Category     string    `json:"category"`
	Price        float64   `json:"price"`
	Buyers       int       `json:"buyers"`        // distinct customers
	RecentBuyers int       `json:"recent_buyers"` // distinct customers in the RecentWindow before the reference time
	PriorBuyers  int       `json:"prior_buyers"`  // distinct customers in the RecentWindow before that one
	RepeatRate   float64   `json:"repeat_rate"`   // share of buyers with two or more invoices of it
	FirstSold    time.Time `json:"first_sold"`    // the item's first sale
	// CoPurchase are the items whose purchase predicts this one (EASE
	// weights, see SetCoPurchase), best first: what the copurchase feature
	// sums. Written by the trainer, which fits them on the same purchases;
	// LoadItems links them and then drops them.
	CoPurchase []CoLink `json:"copurchase,omitempty"`
	// CoBoughtBy are the vocabulary indices of the items that have this
	// one among their CoPurchase, CoBoughtSims its weight in each. Not
	// stored: LinkCoPurchase derives them when the items are loaded.
	CoBoughtBy   []int32   `json:"-"`
	CoBoughtSims []float32 `json:"-"`
}

// RecentWindow is how far back an item's recent popularity looks.
const RecentWindow = 30 * 24 * time.Hour

// BuildProfiles aggregates purchases into customer profiles, ordered by id.
// category maps an item id to its category.
func BuildProfiles(ps []dataset.Purchase, category func(item string) string) []CustomerProfile {
	type agg struct {
		p        *CustomerProfile
		invoices map[string]struct{}
		items    map[string]*itemAgg
		lines    int
		cats     map[string]int
	}
	byID := make(map[string]*agg)
	for _, p := range ps {
		a := byID[p.Customer]
		if a == nil {
			a = &agg{
				p:        &CustomerProfile{ID: p.Customer, First: p.Time, Last: p.Time, Country: p.Country},
				invoices: make(map[string]struct{}),
				items:    make(map[string]*itemAgg),
				cats:     make(map[string]int),
			}
			byID[p.Customer] = a
		}
		if p.Time.Before(a.p.First) {
			a.p.First = p.Time
		}
		if !p.Time.Before(a.p.Last) {
			a.p.Last = p.Time
			a.p.Country = p.Country
		}
		a.invoices[p.Invoice] = struct{}{}
		a.p.Spend += float64(p.Quantity) * p.Price
		a.lines++
		a.cats[category(p.Item)]++
		it := a.items[p.Item]
		if it == nil {
			it = &itemAgg{invoices: make(map[string]struct{})}
			a.items[p.Item] = it
		}
		it.invoices[p.Invoice] = struct{}{}
		it.quantity += p.Quantity
		if p.Time.After(it.last) {
			it.last = p.Time
		}
	}
	out := make([]CustomerProfile, 0, len(byID))
	for _, a := range byID {
		c := a.p
		c.Invoices = len(a.invoices)
		c.Categories = make(map[string]float64, len(a.cats))
		for cat, n := range a.cats {
			c.Categories[cat] = float64(n) / float64(a.lines)
		}
		for id, it := range a.items {
			c.Items = append(c.Items, ItemHistory{Item: id, Invoices: len(it.invoices), Quantity: it.quantity, Last: it.last})
		}
		slices.SortFunc(c.Items, func(x, y ItemHistory) int { return strings.Compare(x.Item, y.Item) })
		out = append(out, *c)
	}
	slices.SortFunc(out, func(x, y CustomerProfile) int { return strings.Compare(x.ID, y.ID) })
	return out
}

type itemAgg struct {
	invoices map[string]struct{}
	quantity int
	last     time.Time
}

// BuildItemStats aggregates purchases before ref into item statistics for the
// given items (in that order). price and category describe each item.
func BuildItemStats(ps []dataset.Purchase, items []string, ref time.Time, price func(string) float64, category func(string) string) []ItemStats {
	type agg struct {
		buyers map[string]map[string]struct{} // customer → invoices
		recent map[string]struct{}
		prior  map[string]struct{}
		first  time.Time
	}
	byID := make(map[string]*agg, len(items))
	for _, id := range items {
		byID[id] = &agg{buyers: make(map[string]map[string]struct{}), recent: make(map[string]struct{}), prior: make(map[string]struct{})}
	}
	from := ref.Add(-RecentWindow)
	priorFrom := from.Add(-RecentWindow)
	for _, p := range ps {
		a := byID[p.Item]
		if a == nil || !p.Time.Before(ref) {
			continue
		}
		inv := a.buyers[p.Customer]
		if inv == nil {
			inv = make(map[string]struct{})
			a.buyers[p.Customer] = inv
		}
		inv[p.Invoice] = struct{}{}
		switch {
		case !p.Time.Before(from):
			a.recent[p.Customer] = struct{}{}
		case !p.Time.Before(priorFrom):
			a.prior[p.Customer] = struct{}{}
		}
		if a.first.IsZero() || p.Time.Before(a.first) {
			a.first = p.Time
		}
	}
	out := make([]ItemStats, len(items))
	for n, id := range items {
		a := byID[id]
		s := ItemStats{Item: id, Category: category(id), Price: price(id), Buyers: len(a.buyers), RecentBuyers: len(a.recent),
			PriorBuyers: len(a.prior), FirstSold: a.first.UTC()}
		repeat := 0
		for _, inv := range a.buyers {
			if len(inv) >= 2 {
				repeat++
			}
		}
		if s.Buyers > 0 {
			s.RepeatRate = float64(repeat) / float64(s.Buyers)
		}
		out[n] = s
	}
	return out
}

// ErrNotFound is wrapped by stores for an id they hold nothing for.
var ErrNotFound = errors.New("not found")
