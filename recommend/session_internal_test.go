package recommend

import (
	"context"
	"slices"
	"testing"

	"github.com/tailorhq/tailor/cf"
	"github.com/tailorhq/tailor/fallback"
	"github.com/tailorhq/tailor/features"
)

// idCatalog is a catalog of ids only: enough for reading a session.
type idCatalog struct {
	anyCatalog
	ids []string
}

type anyCatalog = Catalog

func (c idCatalog) Len() int { return len(c.ids) }
func (c idCatalog) Index(id string) (int, bool) {
	j := slices.Index(c.ids, id)
	return j, j >= 0
}

// The documented weights: a view half an invoice, a cart or a purchase one,
// added up per item and to the customer's own invoices, through cf.Weight;
// unknown ids ignored; only the latest MaxSessionItems events read.
func TestSessionWeights(t *testing.T) {
	s := &Service{deps: Deps{Items: idCatalog{ids: []string{"A", "B", "C", "D", "E"}}}}
	r := &run{s: s, owned: make([]*features.ItemHistory, 5), req: Request{Session: []SessionItem{
		{"E", EventCart}, // pushed out by the 50 below
		{"A", EventCart}, {"B", EventView}, {"NOPE", EventView}, {"B", EventView}, {"C", EventPurchase},
	}}}
	for range MaxSessionItems - 5 {
		r.req.Session = append(r.req.Session, SessionItem{"D", EventView})
	}
	r.owned[0] = &features.ItemHistory{Item: "A", Invoices: 3}
	r.bought = []fallback.Purchase{{Index: 0, Invoices: 3}}
	r.readSession(context.Background())
	x := make([]float32, 5)
	x[0] = cf.Weight(3)
	r.addSession(x)
	want := []float32{cf.Weight(3 + 1), cf.Weight(0.5 + 0.5), cf.Weight(1), cf.Weight(0.5 * (MaxSessionItems - 5)), 0}
	if !slices.Equal(x, want) {
		t.Errorf("interaction vector %v, want %v", x, want)
	}
	if r.sess.unknown != 1 || len(r.sess.items) != 4 {
		t.Errorf("%d unknown, %d items", r.sess.unknown, len(r.sess.items))
	}
	if n := r.historyItems(); n != 4 { // A bought, then B, C and D
		t.Errorf("history items %d, want 4", n)
	}
	if !(sessionCount(EventView) < sessionCount(EventCart) && sessionCount(EventCart) <= sessionCount(EventPurchase)) {
		t.Error("the weights do not rise from view to cart to purchase")
	}
}
