package similar

import (
	"context"
	"errors"
	"fmt"
	"math"
)

// Items is the item side the service needs (features.Items has it).
type Items interface {
	Catalog
	Index(id string) (int, bool)
	ID(j int) string
}

// Load builds the index from the serving items and the customer histories
// as baskets of item indices (features.Items.Baskets has them).
func Load(ctx context.Context, items Items, baskets [][]int32, opts Options) (*Index, error) {
	b := NewBuilder(items, opts)
	var js []int
	for _, basket := range baskets {
		js = js[:0]
		for _, j := range basket {
			js = append(js, int(j))
		}
		if err := b.Add(js); err != nil {
			return nil, err
		}
	}
	return b.Build(ctx)
}

// ErrUnknownItem is the error of Service.Similar for an id not in the
// catalog.
var ErrUnknownItem = errors.New("unknown item")

// Product is an item as an answer shows it.
type Product struct {
	ID       string  `json:"id"`
	Title    string  `json:"title"`
	Price    float64 `json:"price"`
	Category string  `json:"category"`
}

// Item is one similar item of an answer.
type Item struct {
	Product
	Score   float64  `json:"score"`  // in [0, 1], within its source, to 4 decimals
	Rank    int      `json:"rank"`   // 1-based
	Source  string   `json:"source"` // KindCoPurchase or KindContent
	Reasons []string `json:"reasons"`
}

// Response is the answer for one item.
type Response struct {
	Item  Product `json:"item"`
	Items []Item  `json:"items"` // co-purchase first, then content
}

// Service answers by item id.
type Service struct {
	items Items
	index *Index
}

// NewService serves index over items (the ones it was built from).
func NewService(items Items, index *Index) *Service { return &Service{items: items, index: index} }

// Index returns the index served.
func (s *Service) Index() *Index { return s.index }

// Similar answers up to k items like id. An id not in the catalog is an
// error wrapping ErrUnknownItem; an id in lower case is tried upper-cased
// too, since catalog ids are.
func (s *Service) Similar(ctx context.Context, id string, k int) (Response, error) {
	j, ok := s.items.Index(id)
	if !ok {
		if j, ok = s.items.Index(upper(id)); !ok {
			return Response{}, fmt.Errorf("%w %q", ErrUnknownItem, id)
		}
	}
	if err := ctx.Err(); err != nil {
		return Response{}, err
	}
	ns := s.index.Similar(j, k)
	resp := Response{Item: s.product(j), Items: make([]Item, len(ns))}
	for r, n := range ns {
		resp.Items[r] = Item{Product: s.product(n.Index), Score: math.Round(n.Score*1e4) / 1e4, Rank: r + 1, Source: n.Kind, Reasons: []string{n.Reason}}
	}
	return resp, nil
}

func (s *Service) product(j int) Product {
	c := s.items.Catalog(j)
	return Product{ID: s.items.ID(j), Title: c.Title, Price: c.Price, Category: c.Category}
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}
