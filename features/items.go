package features

import (
	"cmp"
	"compress/gzip"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/tailorhq/tailor/catalog"
)

// MinCountryCustomers is how many customers a country needs for its own
// popular list. Below it PopularIn returns the overall list: a handful of
// customers (often one wholesaler) is not a popularity signal. On the
// shipped data five countries qualify: United Kingdom, Germany, France,
// Spain and Belgium.
const MinCountryCustomers = 20

// Items is the item side of serving: the catalog, the item statistics and
// the popular lists, all indexed by vocabulary position j (catalog order =
// id order = the CF model's item order). Immutable after LoadItems, so safe
// for concurrent reads. Slices it returns are shared: do not modify them.
type Items struct {
	ids     []string
	index   map[string]int
	cat     []catalog.Item
	stats   []ItemStats
	popular []int
	country map[string][]int // countries with at least MinCountryCustomers customers
	// countryKeys finds those countries by other spellings (Country).
	countryKeys map[string]string
	baskets     [][]int32 // each customer's items, in file order
}

// LoadItems reads catalog.jsonl, items.jsonl.gz and customers.jsonl.gz from
// dir and checks that they agree: items.jsonl.gz has one line per catalog item, in
// the same order, and every item a customer bought is in the catalog. An
// error names the file and the line.
func LoadItems(ctx context.Context, dir string) (*Items, error) {
	catPath := filepath.Join(dir, CatalogFile)
	f, err := os.Open(catPath)
	if err != nil {
		return nil, fmt.Errorf("features: items: %w", err)
	}
	c, err := catalog.ReadJSONL(f)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("features: %s: %w", catPath, err)
	}
	it := &Items{ids: c.IDs(), cat: c.Items(), index: make(map[string]int, c.Len())}
	for j, id := range it.ids {
		it.index[id] = j
	}
	if it.stats, err = readItemStats(ctx, filepath.Join(dir, ItemsFile), it.ids); err != nil {
		return nil, err
	}
	it.popular = rank(it.Len(), func(j int) (int, int) { return it.cat[j].Buyers, it.cat[j].Orders })
	if it.country, it.baskets, err = it.countryLists(ctx, filepath.Join(dir, CustomersFile)); err != nil {
		return nil, err
	}
	it.countryKeys = countryKeys(it.country)
	exact := func(id string) (int, bool) { j, ok := it.index[id]; return j, ok }
	if err := LinkCoPurchase(it.stats, exact); err != nil {
		return nil, fmt.Errorf("features: %s: %w", filepath.Join(dir, ItemsFile), err)
	}
	for j := range it.stats {
		it.stats[j].CoPurchase = nil // linked into CoBoughtBy and CoBoughtSims; serving reads only those
	}
	return it, nil
}

// readItemStats reads items.jsonl.gz and checks it line by line against ids.
func readItemStats(ctx context.Context, path string, ids []string) ([]ItemStats, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("features: items: %w", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("features: %s: %w", path, err)
	}
	defer zr.Close()
	stats := make([]ItemStats, 0, len(ids))
	err = readLines(ctx, zr, path, func(line int, b []byte) error {
		var s ItemStats
		if err := decodeLine(b, &s, true); err != nil {
			return err
		}
		switch j := line - 1; {
		case j >= len(ids):
			return fmt.Errorf("item %q: %s has only %d items", s.Item, CatalogFile, len(ids))
		case s.Item != ids[j]:
			return fmt.Errorf("item %q, but %s line %d is item %q", s.Item, CatalogFile, line, ids[j])
		}
		stats = append(stats, s)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("features: %w", err)
	}
	if len(stats) != len(ids) {
		return nil, fmt.Errorf("features: %s: %d lines, but %s has %d items", path, len(stats), CatalogFile, len(ids))
	}
	return stats, nil
}

// countryLists ranks, for every country with at least MinCountryCustomers
// customers (by the country of their latest invoice), the items its
// customers bought: distinct buyers, then their distinct invoices, then id.
func (it *Items) countryLists(ctx context.Context, path string) (map[string][]int, [][]int32, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("features: items: %w", err)
	}
	var baskets [][]int32
	defer f.Close()
	type tally struct {
		customers      int
		buyers, orders []int32
	}
	byCountry := make(map[string]*tally)
	err = readCustomers(ctx, f, path, func(_ int, p *CustomerProfile) error {
		t := byCountry[p.Country]
		if t == nil {
			t = &tally{buyers: make([]int32, it.Len()), orders: make([]int32, it.Len())}
			byCountry[p.Country] = t
		}
		t.customers++
		b := make([]int32, 0, len(p.Items))
		for _, h := range p.Items {
			j, ok := it.index[h.Item]
			if !ok {
				return fmt.Errorf("customer %q: item %q is not in %s", p.ID, h.Item, CatalogFile)
			}
			t.buyers[j]++
			t.orders[j] += int32(h.Invoices)
			b = append(b, int32(j))
		}
		baskets = append(baskets, b)
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("features: %w", err)
	}
	out := make(map[string][]int)
	for country, t := range byCountry {
		if t.customers < MinCountryCustomers {
			continue
		}
		ranked := rank(it.Len(), func(j int) (int, int) { return int(t.buyers[j]), int(t.orders[j]) })
		if n := slices.IndexFunc(ranked, func(j int) bool { return t.buyers[j] == 0 }); n >= 0 {
			ranked = slices.Clip(ranked[:n]) // only items bought there
		}
		out[country] = ranked
	}
	return out, baskets, nil
}

// rank returns 0..n-1 ordered by key descending (first buyers, then orders),
// ties by index (= id) ascending.
func rank(n int, key func(j int) (buyers, orders int)) []int {
	idx := make([]int, n)
	for j := range idx {
		idx[j] = j
	}
	slices.SortFunc(idx, func(a, b int) int {
		ba, oa := key(a)
		bb, ob := key(b)
		return cmp.Or(cmp.Compare(bb, ba), cmp.Compare(ob, oa), cmp.Compare(a, b))
	})
	return idx
}

// Len is the number of items.
func (it *Items) Len() int { return len(it.ids) }

// Index returns the vocabulary position of item id. An id not found as
// given is tried with its ASCII letters upper-cased: stock codes are
// upper-case ("85123A"), and a chatbot may well send "85123a".
func (it *Items) Index(id string) (int, bool) {
	if j, ok := it.index[id]; ok {
		return j, true
	}
	if u := catalog.CanonicalID(id); u != id {
		j, ok := it.index[u]
		return j, ok
	}
	return 0, false
}

// ID returns the id of item j.
func (it *Items) ID(j int) string { return it.ids[j] }

// IDs returns every id in vocabulary order (shared).
func (it *Items) IDs() []string { return it.ids }

// Baskets returns every customer's bought items as vocabulary indices, one
// list per line of customers.jsonl.gz in file order (shared), so that
// indexes built over the histories need not read the file again.
func (it *Items) Baskets() [][]int32 { return it.baskets }

// Catalog returns the catalog entry of item j: title, price, category.
func (it *Items) Catalog(j int) catalog.Item { return it.cat[j] }

// CoPurchaseLinks is how many co-purchase neighbour links the items file
// gave (every item's list, summed): 0 when it was written without them.
func (it *Items) CoPurchaseLinks() int {
	n := 0
	for j := range it.stats {
		n += len(it.stats[j].CoBoughtBy)
	}
	return n
}

// Stats returns the offline statistics of item j (shared).
func (it *Items) Stats(j int) *ItemStats { return &it.stats[j] }

// Popular returns every item index by distinct buyers descending, then
// orders descending, then id (shared).
func (it *Items) Popular() []int { return it.popular }

// PopularIn returns the items bought by customers of country, ranked like
// Popular on that country's customers alone, or Popular() when the country
// has fewer than MinCountryCustomers customers (shared). A country list
// holds only items bought there; callers that need more pad from Popular.
func (it *Items) PopularIn(country string) []int {
	l, _ := it.PopularInCountry(country)
	return l
}

// PopularInCountry is PopularIn that also says whether the list is the
// country's own (false: the overall list), so a reason can say which.
func (it *Items) PopularInCountry(country string) ([]int, bool) {
	if l, ok := it.country[country]; ok {
		return l, true
	}
	return it.popular, false
}

// Countries returns the countries with their own popular list, sorted.
func (it *Items) Countries() []string {
	out := make([]string, 0, len(it.country))
	for c := range it.country {
		out = append(out, c)
	}
	slices.Sort(out)
	return out
}
