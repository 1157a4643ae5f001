package features

import (
	"fmt"
	"math"
	"time"
)

// Candidate is one (customer, item) pair to score, with everything the
// propensity features read.
type Candidate struct {
	Customer *CustomerProfile // nil for an unknown or anonymous customer
	History  *ItemHistory     // nil when the customer never bought the item
	Item     *ItemStats       // never nil
	// CFScore is the item's collaborative-filtering score divided by the
	// customer's best score (so 1 for the top item). HasCF is false when no
	// CF score is available.
	CFScore float32
	HasCF   bool
	Now     time.Time // reference time for recency
	// ItemIndex is Item's index in the catalog an Assembler was given by
	// WithItems; Rows then reads the item's columns from its table. Rows
	// checks that the index holds this very Item, so a Candidate that does
	// not set it (or sets it wrong) is computed from Item as usual.
	ItemIndex int
	// CoBought is, by vocabulary index, the EASE weights summed over the
	// customer's items that are among the item's co-purchase neighbours
	// (AddCoBought fills it once per request); nil when not computed. Read
	// at ItemIndex.
	CoBought []float32
	// Discover is true for a request in discover mode.
	Discover bool
}

// Definition declares one model feature.
type Definition struct {
	Name    string
	Entity  string // customer, item, customer_item or model
	Type    string // always float32 for now
	Default float32
	Source  string // what it is computed from
	value   func(c *Candidate) (float32, bool)
	// scope says what the value depends on, so that Assembler.Rows computes
	// it once per customer or once per catalog item instead of once per row.
	// The zero value, perRow, is always correct.
	scope scope
}

// scope is what a feature's value depends on.
type scope uint8

const (
	perRow              scope = iota // anything in the Candidate: computed for every row
	perCustomer                      // Customer and Now only
	perItem                          // Item only (not Now)
	perItemNow                       // Item and Now only
	perCustomerCategory              // Customer and Item.Category only
)

const day = 24 * time.Hour

func days(from, to time.Time) float64 { return math.Max(0, to.Sub(from).Hours()/24) }

func log1p(v float64) float32 { return float32(math.Log1p(math.Max(0, v))) }

// Propensity lists the features of the purchase-propensity model, in the
// column order the trainer writes into the model's feature_names. Every
// transform is here, so training and serving cannot disagree.
func Propensity() []Definition {
	cust := func(f func(c *CustomerProfile, now time.Time) float32) func(*Candidate) (float32, bool) {
		return func(c *Candidate) (float32, bool) {
			if c.Customer == nil {
				return 0, false
			}
			return f(c.Customer, c.Now), true
		}
	}
	hist := func(f func(h *ItemHistory, c *Candidate) float32) func(*Candidate) (float32, bool) {
		return func(c *Candidate) (float32, bool) {
			if c.History == nil || c.Customer == nil {
				return 0, false
			}
			return f(c.History, c), true
		}
	}
	item := func(f func(s *ItemStats) float32) func(*Candidate) (float32, bool) {
		return func(c *Candidate) (float32, bool) { return f(c.Item), true }
	}
	defs := []Definition{
		{Name: "cf_score", Entity: "model", Default: 0, Source: "CF model score / customer's best score",
			value: func(c *Candidate) (float32, bool) { return c.CFScore, c.HasCF }},
		{Name: "bought_before", Entity: "customer_item", Default: 0, Source: "1 if the customer bought the item before",
			value: hist(func(*ItemHistory, *Candidate) float32 { return 1 })},
		{Name: "item_invoices_log", Entity: "customer_item", Default: 0, Source: "log1p of the customer's invoices containing the item",
			value: hist(func(h *ItemHistory, _ *Candidate) float32 { return log1p(float64(h.Invoices)) })},
		{Name: "item_basket_share", Entity: "customer_item", Default: 0, Source: "share of the customer's invoices containing the item",
			value: hist(func(h *ItemHistory, c *Candidate) float32 {
				return float32(float64(h.Invoices) / math.Max(1, float64(c.Customer.Invoices)))
			})},
		{Name: "item_days_since_log", Entity: "customer_item", Default: float32(math.Log1p(365)), Source: "log1p of days since the customer last bought the item",
			value: hist(func(h *ItemHistory, c *Candidate) float32 { return log1p(days(h.Last, c.Now)) })},
		{Name: "item_recent_90d", Entity: "customer_item", Default: 0, Source: "1 if the customer bought the item in the last 90 days",
			value: hist(func(h *ItemHistory, c *Candidate) float32 {
				if c.Now.Sub(h.Last) <= 90*day {
					return 1
				}
				return 0
			})},
		{Name: "item_buyers_log", Entity: "item", Default: 0, Source: "log1p of the item's distinct buyers",
			scope: perItem, value: item(func(s *ItemStats) float32 { return log1p(float64(s.Buyers)) })},
		{Name: "item_recent_buyers_log", Entity: "item", Default: 0, Source: "log1p of the item's distinct buyers in the last 30 days",
			scope: perItem, value: item(func(s *ItemStats) float32 { return log1p(float64(s.RecentBuyers)) })},
		{Name: "item_trend", Entity: "item", Default: 0, Source: "log of (distinct buyers in the last 30 days + 1) / (distinct buyers in the 30 days before + 1)",
			scope: perItem, value: item(func(s *ItemStats) float32 {
				return float32(math.Log(float64(s.RecentBuyers+1) / float64(s.PriorBuyers+1)))
			})},
		{Name: "item_age_log", Entity: "item", scope: perItemNow, Default: float32(math.Log1p(365)), Source: "log1p of days since the item's first sale",
			value: func(c *Candidate) (float32, bool) {
				if c.Item.FirstSold.IsZero() {
					return 0, false
				}
				return log1p(days(c.Item.FirstSold, c.Now)), true
			}},
		{Name: "item_repeat_rate", Entity: "item", Default: 0, Source: "share of the item's buyers who bought it on two or more invoices",
			scope: perItem, value: item(func(s *ItemStats) float32 { return float32(s.RepeatRate) })},
		{Name: "item_price_log", Entity: "item", Default: 0, Source: "log1p of the item's typical price in GBP",
			scope: perItem, value: item(func(s *ItemStats) float32 { return log1p(s.Price) })},
		{Name: "customer_recency_log", Entity: "customer", Default: float32(math.Log1p(365)), Source: "log1p of days since the customer's last purchase",
			scope: perCustomer, value: cust(func(p *CustomerProfile, now time.Time) float32 { return log1p(days(p.Last, now)) })},
		{Name: "customer_frequency_log", Entity: "customer", Default: 0, Source: "log1p of the customer's invoices",
			scope: perCustomer, value: cust(func(p *CustomerProfile, _ time.Time) float32 { return log1p(float64(p.Invoices)) })},
		{Name: "customer_monetary_log", Entity: "customer", Default: 0, Source: "log1p of the customer's spend in GBP",
			scope: perCustomer, value: cust(func(p *CustomerProfile, _ time.Time) float32 { return log1p(p.Spend) })},
		{Name: "category_affinity", Entity: "customer_item", scope: perCustomerCategory, Default: 0, Source: "share of the customer's invoice lines in the item's category",
			value: func(c *Candidate) (float32, bool) {
				if c.Customer == nil {
					return 0, false
				}
				return float32(c.Customer.Categories[c.Item.Category]), true
			}},
		{Name: CoPurchaseFeature, Entity: "customer_item", Default: 0, Source: "in discover mode (else 0): the EASE weights from the customer's items to this one, summed over those among its 50 strongest positive neighbours (items.jsonl.gz copurchase, fitted by the trainer)",
			value: func(c *Candidate) (float32, bool) {
				if !c.Discover {
					return 0, true // only the discover sub-model reads it
				}
				if c.ItemIndex < 0 || c.ItemIndex >= len(c.CoBought) {
					return 0, false
				}
				return c.CoBought[c.ItemIndex], true
			}},
		{Name: "discover_mode", Entity: "model", Default: 0, Source: "1 when the request is in discover mode (the model selects its discover sub-model)",
			value: func(c *Candidate) (float32, bool) {
				if c.Discover {
					return 1, true
				}
				return 0, true
			}},
	}
	for i := range defs {
		defs[i].Type = "float32"
	}
	return defs
}

// Assembler writes feature vectors in the column order a model declares.
// Vector writes one row from the definitions as they stand; Rows writes a
// batch with the same values, computing the per-customer columns once per
// customer and reading the per-item columns from a table built by WithItems.
type Assembler struct {
	defs        []Definition
	custCols    []int // columns whose scope is perCustomer
	itemCols    []int // perItem
	itemNowCols []int // perItemNow
	custCatCols []int // perCustomerCategory
	rowCols     []int // the rest
	items       *itemTable
}

// itemTable holds the per-item columns of every catalog item, by index, and
// the per-item-and-time columns as of one reference time.
type itemTable struct {
	stats     []*ItemStats // the item each row was computed from
	vals      []float32    // len(stats) × len(itemCols)
	defaulted []uint8      // per item: how many of its itemCols took the default
	now       time.Time    // the reference time of nowVals
	nowVals   []float32    // len(stats) × len(itemNowCols)
	nowDef    []uint8      // per item: how many of its itemNowCols took the default
	cat       []int        // per item: the ordinal of its category among the table's
	ncat      int          // distinct categories
}

// NewAssembler resolves a model's feature_names against the definitions. An
// unknown name is an error, so a model that needs a feature Tailor cannot
// compute is refused at load time, not at request time.
func NewAssembler(names []string) (*Assembler, error) {
	byName := make(map[string]Definition)
	for _, d := range Propensity() {
		byName[d.Name] = d
	}
	a := &Assembler{defs: make([]Definition, len(names))}
	for i, n := range names {
		d, ok := byName[n]
		if !ok {
			return nil, fmt.Errorf("feature %q (column %d) is not defined", n, i)
		}
		a.defs[i] = d
		switch d.scope {
		case perCustomer:
			a.custCols = append(a.custCols, i)
		case perItem:
			a.itemCols = append(a.itemCols, i)
		case perItemNow:
			a.itemNowCols = append(a.itemNowCols, i)
		case perCustomerCategory:
			a.custCatCols = append(a.custCatCols, i)
		default:
			a.rowCols = append(a.rowCols, i)
		}
	}
	return a, nil
}

// WithItems returns an Assembler whose Rows reads the per-item columns of
// the n catalog items stats(0) … stats(n-1) from a table computed here, once,
// and the columns that depend on the item and the reference time from a
// table computed for now (used while a candidate's Now equals it). A
// Candidate opts in by setting ItemIndex to its item's index.
func (a *Assembler) WithItems(n int, stats func(j int) *ItemStats, now time.Time) *Assembler {
	t := &itemTable{stats: make([]*ItemStats, n), now: now, cat: make([]int, n)}
	ords := map[string]int{}
	for j := range n {
		t.stats[j] = stats(j)
		o, ok := ords[t.stats[j].Category]
		if !ok {
			o = len(ords)
			ords[t.stats[j].Category] = o
		}
		t.cat[j] = o
	}
	t.ncat = len(ords)
	t.vals, t.defaulted = a.table(t.stats, a.itemCols, time.Time{})
	t.nowVals, t.nowDef = a.table(t.stats, a.itemNowCols, now)
	b := *a
	b.items = t
	return &b
}

// table computes the columns cols of every item at reference time now.
func (a *Assembler) table(stats []*ItemStats, cols []int, now time.Time) ([]float32, []uint8) {
	w := len(cols)
	vals, def := make([]float32, len(stats)*w), make([]uint8, len(stats))
	for j, s := range stats {
		c := Candidate{Item: s, Now: now}
		def[j] = uint8(a.compute(&c, cols, vals[j*w:(j+1)*w:(j+1)*w], true))
	}
	return vals, def
}

// Len is the vector length.
func (a *Assembler) Len() int { return len(a.defs) }

// Vector writes c's features into out (len Len()) and returns how many took
// their declared default because the source had no value.
func (a *Assembler) Vector(c *Candidate, out []float32) (defaulted int) {
	for i, d := range a.defs {
		v, ok := d.value(c)
		if !ok {
			v = d.Default
			defaulted++
		}
		out[i] = v
	}
	return defaulted
}

// Rows writes the features of every candidate into out (len(cs) × Len(),
// row-major), exactly as Vector would row by row, and returns how many
// values took their declared default. It is the request path's batch: the
// candidates of one request share a customer and a reference time.
func (a *Assembler) Rows(cs []Candidate, out []float32) (defaulted int) {
	f := len(a.defs)
	t := a.items
	// The per-customer columns, and the per-customer-and-category ones by
	// category ordinal (catDef[o] < 0: not computed yet), are kept for the
	// customer and time of the row before; small enough for the stack.
	var (
		custBuf, catBuf [32]float32
		catDefBuf       [32]int
		custVals        = custBuf[:len(a.custCols)]
		catVals         = catBuf[:0]
		catDef          = catDefBuf[:0]
		custDef         int
		have            bool
		cust            *CustomerProfile
		now             time.Time
	)
	if len(a.custCols) > len(custBuf) {
		custVals = make([]float32, len(a.custCols))
	}
	if t != nil && len(a.custCatCols) > 0 {
		if n := t.ncat * len(a.custCatCols); n <= len(catBuf) && t.ncat <= len(catDefBuf) {
			catVals, catDef = catBuf[:n], catDefBuf[:t.ncat]
		} else {
			catVals, catDef = make([]float32, n), make([]int, t.ncat)
		}
	}
	for i := range cs {
		c := &cs[i]
		row := out[i*f : (i+1)*f]
		if !have || c.Customer != cust || !c.Now.Equal(now) {
			have, cust, now = true, c.Customer, c.Now
			custDef = a.compute(c, a.custCols, custVals, true)
			for k := range catDef {
				catDef[k] = -1
			}
		}
		copyCols(row, a.custCols, custVals)
		defaulted += custDef
		inTable := t != nil && c.ItemIndex >= 0 && c.ItemIndex < len(t.stats) && t.stats[c.ItemIndex] == c.Item
		if j, w := c.ItemIndex, len(a.itemCols); inTable {
			copyCols(row, a.itemCols, t.vals[j*w:(j+1)*w])
			defaulted += int(t.defaulted[j])
		} else {
			defaulted += a.compute(c, a.itemCols, row, false)
		}
		if j, w := c.ItemIndex, len(a.itemNowCols); inTable && c.Now.Equal(t.now) {
			copyCols(row, a.itemNowCols, t.nowVals[j*w:(j+1)*w])
			defaulted += int(t.nowDef[j])
		} else {
			defaulted += a.compute(c, a.itemNowCols, row, false)
		}
		if o, w := 0, len(a.custCatCols); w > 0 && inTable {
			o = t.cat[c.ItemIndex]
			if catDef[o] < 0 {
				catDef[o] = a.compute(c, a.custCatCols, catVals[o*w:(o+1)*w], true)
			}
			copyCols(row, a.custCatCols, catVals[o*w:(o+1)*w])
			defaulted += catDef[o]
		} else {
			defaulted += a.compute(c, a.custCatCols, row, false)
		}
		defaulted += a.compute(c, a.rowCols, row, false)
	}
	return defaulted
}

// compute writes the columns cols of c into row: at their column, or one
// after another when packed.
func (a *Assembler) compute(c *Candidate, cols []int, row []float32, packed bool) (defaulted int) {
	for k, col := range cols {
		v, ok := a.defs[col].value(c)
		if !ok {
			v = a.defs[col].Default
			defaulted++
		}
		if packed {
			row[k] = v
		} else {
			row[col] = v
		}
	}
	return defaulted
}

func copyCols(row []float32, cols []int, vals []float32) {
	for k, col := range cols {
		row[col] = vals[k]
	}
}

// Names returns the names of Propensity(), in order.
func Names() []string {
	defs := Propensity()
	out := make([]string, len(defs))
	for i, d := range defs {
		out[i] = d.Name
	}
	return out
}
