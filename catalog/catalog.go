// Package catalog derives the item catalogue from the cleaned purchases: one
// Item per StockCode with a title, a typical price, a keyword-derived
// category and popularity counts. It reads and writes the catalogue as JSON
// lines.
package catalog

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/tailorhq/tailor/dataset"
)

// Item is one product of the catalogue.
type Item struct {
	ID       string  `json:"id"`       // StockCode, upper-cased, e.g. "85123A"
	Title    string  `json:"title"`    // most frequent description over its purchase rows (ties: lexicographically smallest), as in the data
	Price    float64 `json:"price"`    // typical price in GBP: median UnitPrice over its purchase rows, rounded to 2 decimals
	Category string  `json:"category"` // Categorize(Title)
	Buyers   int     `json:"buyers"`   // distinct customers who bought it
	Orders   int     `json:"orders"`   // distinct invoices containing it
	// InStock is the shop's stock mark: false means out of stock. Absent
	// (nil) means in stock, so every item is in stock unless marked
	// otherwise. Build never sets it, and WriteJSONL omits it when nil, so a
	// catalogue of items in stock is written exactly as before the field
	// existed.
	InStock *bool `json:"in_stock,omitempty"`
}

// IsInStock reports whether the item is in stock: true unless it is marked
// "in_stock": false.
func (it Item) IsInStock() bool { return it.InStock == nil || *it.InStock }

// Catalog is an immutable set of items in ID order.
type Catalog struct {
	items []Item
	index map[string]int // ID -> position in items
}

// newCatalog indexes items, which must be sorted by ID without duplicates.
func newCatalog(items []Item) *Catalog {
	c := &Catalog{items: items, index: make(map[string]int, len(items))}
	for i, it := range items {
		c.index[it.ID] = i
	}
	return c
}

// Build derives one Item per distinct purchase Item (StockCode), sorted by
// ID ascending. Every statistic is over purchase rows (invoice lines), not
// units: the title is the most frequent description, the price the median
// unit price.
func Build(ps []dataset.Purchase) *Catalog {
	type acc struct {
		descs     map[string]int
		prices    []float64
		customers map[string]struct{}
		invoices  map[string]struct{}
	}
	accs := make(map[string]*acc)
	for _, p := range ps {
		a := accs[p.Item]
		if a == nil {
			a = &acc{
				descs:     make(map[string]int, 1),
				customers: make(map[string]struct{}),
				invoices:  make(map[string]struct{}),
			}
			accs[p.Item] = a
		}
		a.descs[p.Description]++
		a.prices = append(a.prices, p.Price)
		a.customers[p.Customer] = struct{}{}
		a.invoices[p.Invoice] = struct{}{}
	}
	items := make([]Item, 0, len(accs))
	for id, a := range accs {
		title := mostFrequent(a.descs)
		items = append(items, Item{
			ID:       id,
			Title:    title,
			Price:    round2(median(a.prices)),
			Category: Categorize(title),
			Buyers:   len(a.customers),
			Orders:   len(a.invoices),
		})
	}
	sort.Slice(items, func(i, j int) bool { return items[i].ID < items[j].ID })
	return newCatalog(items)
}

// mostFrequent returns the key with the highest count; ties go to the
// lexicographically smallest key.
func mostFrequent(counts map[string]int) string {
	best, bestN := "", -1
	for s, n := range counts {
		if n > bestN || n == bestN && s < best {
			best, bestN = s, n
		}
	}
	return best
}

// median returns the median of xs (the mean of the two middle values when
// len(xs) is even); it sorts xs.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	slices.Sort(xs)
	n := len(xs)
	if n%2 == 1 {
		return xs[n/2]
	}
	return (xs[n/2-1] + xs[n/2]) / 2
}

// round2 rounds x to 2 decimals, halves away from zero.
func round2(x float64) float64 { return math.Round(x*100) / 100 }

// Items returns the items in ID order. The slice is shared: the caller must
// not modify it.
func (c *Catalog) Items() []Item { return c.items }

// Lookup returns the item with the given ID.
func (c *Catalog) Lookup(id string) (Item, bool) {
	i, ok := c.index[id]
	if !ok {
		return Item{}, false
	}
	return c.items[i], true
}

// Len returns the number of items.
func (c *Catalog) Len() int { return len(c.items) }

// IDs returns the item IDs in ascending order, in a new slice.
func (c *Catalog) IDs() []string {
	ids := make([]string, len(c.items))
	for i, it := range c.items {
		ids[i] = it.ID
	}
	return ids
}

// WriteJSONL writes one JSON object per item and line, in ID order. The
// bytes depend only on the items: same catalogue, same file.
func (c *Catalog) WriteJSONL(w io.Writer) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false) // keep "&" in titles and categories readable
	for i := range c.items {
		if err := enc.Encode(&c.items[i]); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// ReadJSONL reads a catalogue written by WriteJSONL. It checks every line:
// one JSON object with only the Item fields (in_stock is optional), an ID
// that is a product code in upper case, IDs strictly ascending, a finite
// price >= 0, a known category, and counts >= 0 with buyers <= orders (each
// invoice has one customer). An error names the line (1-based).
func ReadJSONL(r io.Reader) (*Catalog, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	var items []Item
	line := 0
	for sc.Scan() {
		line++
		lineErr := func(format string, args ...any) error {
			return fmt.Errorf("catalog: line %d: %s", line, fmt.Sprintf(format, args...))
		}
		text := sc.Bytes()
		if len(strings.TrimSpace(string(text))) == 0 {
			return nil, lineErr("empty line")
		}
		dec := json.NewDecoder(strings.NewReader(string(text)))
		dec.DisallowUnknownFields()
		var it Item
		if err := dec.Decode(&it); err != nil {
			return nil, lineErr("%v", err)
		}
		if dec.More() {
			return nil, lineErr("more than one JSON value")
		}
		if err := validate(it); err != nil {
			return nil, lineErr("item %q: %v", it.ID, err)
		}
		if n := len(items); n > 0 && it.ID <= items[n-1].ID {
			return nil, lineErr("item %q: IDs not strictly ascending (after %q)", it.ID, items[n-1].ID)
		}
		items = append(items, it)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("catalog: line %d: %w", line+1, err)
	}
	return newCatalog(items), nil
}

// validate checks one item read from a file.
func validate(it Item) error {
	switch {
	case !dataset.IsProductCode(it.ID) || strings.ToUpper(it.ID) != it.ID:
		return errors.New("id is not an upper-case product code")
	case math.IsNaN(it.Price) || math.IsInf(it.Price, 0) || it.Price < 0:
		return fmt.Errorf("invalid price %v", it.Price)
	case !isCategory(it.Category):
		return fmt.Errorf("unknown category %q", it.Category)
	case it.Buyers < 0 || it.Orders < 0:
		return errors.New("negative count")
	case it.Buyers > it.Orders:
		return fmt.Errorf("%d buyers but only %d orders", it.Buyers, it.Orders)
	}
	return nil
}

// CanonicalID is id as the catalog spells ids: its ASCII letters
// upper-cased (stock codes are upper-case, "85123A", and a chatbot may well
// send "85123a"). It returns id itself, without allocating, when there is
// nothing to change. Lookups try it after the id as given, so two ids with
// the same CanonicalID name the same item.
func CanonicalID(id string) string {
	if !strings.ContainsFunc(id, func(r rune) bool { return 'a' <= r && r <= 'z' }) {
		return id
	}
	b := []byte(id)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}
