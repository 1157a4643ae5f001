// Package dataset reads the UCI Online Retail purchase files (one gzip CSV per
// month) and applies the cleaning rules of DESIGN.md: only real purchases of
// real products by known customers are kept, and every dropped row is counted
// by reason.
package dataset

import "time"

// Purchase is one cleaned invoice line.
type Purchase struct {
	Invoice     string    // InvoiceNo, e.g. "536365"
	Item        string    // StockCode, upper-cased, e.g. "85123A"
	Description string    // as written in the file, trimmed
	Quantity    int       // units, always > 0
	Price       float64   // GBP per unit, always > 0
	Time        time.Time // InvoiceDate, read as UTC
	Customer    string    // CustomerID without the ".0", e.g. "17850"
	Country     string
}

// DropReason names why a row was not kept.
type DropReason string

// The reasons a row is dropped, checked in this order.
const (
	DropNoCustomer          DropReason = "no_customer"
	DropCancellation        DropReason = "cancellation"
	DropNotProduct          DropReason = "not_a_product"
	DropNonPositiveQuantity DropReason = "non_positive_quantity"
	DropNonPositivePrice    DropReason = "non_positive_price"
)

// Stats counts what a read saw.
type Stats struct {
	Files   int
	Rows    int // data rows, header excluded
	Kept    int
	Dropped map[DropReason]int
}

// Before returns the purchases strictly before t, in their original order.
func Before(ps []Purchase, t time.Time) []Purchase {
	out := make([]Purchase, 0, len(ps))
	for _, p := range ps {
		if p.Time.Before(t) {
			out = append(out, p)
		}
	}
	return out
}

// Between returns the purchases in [from, to), in their original order.
func Between(ps []Purchase, from, to time.Time) []Purchase {
	out := make([]Purchase, 0)
	for _, p := range ps {
		if !p.Time.Before(from) && p.Time.Before(to) {
			out = append(out, p)
		}
	}
	return out
}
