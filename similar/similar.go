// Package similar answers "customers who bought this also bought" and "like
// this one" for one item: an Index built once at start-up from the customer
// histories (co-purchase) and the catalog (title tokens and category), and a
// Service that turns its neighbours into an answer with reasons.
//
// Co-purchase: two items are co-bought when one customer bought both (at any
// time). The score is the cosine of their buyer sets,
// co(i,j)/sqrt(buyers(i)·buyers(j)); only pairs with at least MinCoCount
// common customers count as evidence, and each item keeps its top
// MaxCoPurchase neighbours.
//
// Content: an item's title is cut into upper-case word tokens (stop words
// such as SET, OF, THE, AND and anything with a digit dropped), weighted by
// idf, log(items/items with the token), and L2-normalised. The score is
// (cosine + CategoryBonus·same category)/(1 + CategoryBonus), so it lies in
// [0, 1]; each item keeps its top MaxContent neighbours. An item that shares
// no token with enough others is padded with the most bought items of its
// category, so a cold item always has content neighbours.
//
// Index.Similar blends them: co-purchase neighbours first, then content
// neighbours not already listed, never the item itself. Every order is
// deterministic: score, then evidence (common customers, or buyers), then
// vocabulary index.
package similar

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/tailorhq/tailor/catalog"
)

// The kinds of neighbour, as Neighbour.Kind and the API's source say.
const (
	KindCoPurchase = "co_purchase"
	KindContent    = "content"
)

// Catalog is what the index needs of the serving items (features.Items has
// it): items by vocabulary position j in 0..Len()-1.
type Catalog interface {
	Len() int
	Catalog(j int) catalog.Item
}

// Options tune Build; the zero value means the defaults.
type Options struct {
	MinCoCount    int     // common customers for co-purchase evidence (default 3)
	MaxCoPurchase int     // co-purchase neighbours kept per item (default 50)
	MaxContent    int     // content neighbours kept per item (default 100)
	CategoryBonus float64 // added to the title cosine for the same category (default 0.25)
}

func (o Options) withDefaults() Options {
	if o.MinCoCount <= 0 {
		o.MinCoCount = 3
	}
	if o.MaxCoPurchase <= 0 {
		o.MaxCoPurchase = 50
	}
	if o.MaxContent <= 0 {
		o.MaxContent = 100
	}
	if o.CategoryBonus <= 0 {
		o.CategoryBonus = 0.25
	}
	return o
}

// Neighbour is one similar item.
type Neighbour struct {
	Index  int     // vocabulary position
	Score  float64 // in [0, 1], within its kind
	Kind   string  // KindCoPurchase or KindContent
	Reason string  // one sentence a chatbot can show
}

// coNeighbour and contentNeighbour are the compact stored forms.
type coNeighbour struct {
	j     int32
	count int32 // common customers
	score float32
}

type contentNeighbour struct {
	j     int32
	score float32
}

// Index holds every item's neighbours. It is immutable after Build, so safe
// for concurrent use.
type Index struct {
	opts    Options
	titles  []string
	cats    []string
	tokens  [][]int32 // token ids of each item, by idf descending, then text
	vocab   []string  // token id -> text
	df      []int     // token id -> items with it
	co      [][]coNeighbour
	content [][]contentNeighbour
	buyers  []int32 // distinct customers per item, from the histories
	baskets int     // customers added
}

// Builder collects customer histories for an Index.
type Builder struct {
	items   Catalog
	opts    Options
	baskets [][]int32 // items of each customer, distinct
	buyers  [][]int32 // customers of each item
	scratch []bool
}

// NewBuilder starts an index over items.
func NewBuilder(items Catalog, opts Options) *Builder {
	return &Builder{items: items, opts: opts.withDefaults(), buyers: make([][]int32, items.Len()), scratch: make([]bool, items.Len())}
}

// Add records the items one customer bought (vocabulary positions; repeats
// are ignored). An index out of range is an error.
func (b *Builder) Add(items []int) error {
	basket := make([]int32, 0, len(items))
	for _, j := range items {
		if j < 0 || j >= len(b.buyers) {
			return fmt.Errorf("similar: item index %d out of range [0, %d)", j, len(b.buyers))
		}
		if b.scratch[j] {
			continue
		}
		b.scratch[j] = true
		basket = append(basket, int32(j))
	}
	c := int32(len(b.baskets))
	for _, j := range basket {
		b.scratch[j] = false
		b.buyers[j] = append(b.buyers[j], c)
	}
	b.baskets = append(b.baskets, basket)
	return nil
}

// Build computes every item's neighbours, on all CPUs. The Builder must not
// be used afterwards.
func (b *Builder) Build(ctx context.Context) (*Index, error) {
	n := b.items.Len()
	x := &Index{opts: b.opts, titles: make([]string, n), cats: make([]string, n), buyers: make([]int32, n), baskets: len(b.baskets),
		co: make([][]coNeighbour, n), content: make([][]contentNeighbour, n)}
	for j := range n {
		c := b.items.Catalog(j)
		x.titles[j], x.cats[j] = c.Title, c.Category
		x.buyers[j] = int32(len(b.buyers[j]))
	}
	x.tokenize()
	weights := x.weights()
	postings := make([][]int32, len(x.vocab))
	for j, ts := range x.tokens {
		for _, t := range ts {
			postings[t] = append(postings[t], int32(j))
		}
	}
	byCat := map[string][]int32{}
	for j, c := range x.cats {
		if c != "" && c != catalog.Other {
			byCat[c] = append(byCat[c], int32(j))
		}
	}

	workers := min(runtime.GOMAXPROCS(0), 4)
	var wg sync.WaitGroup
	errs := make([]error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := newScratch(n)
			for j := w; j < n; j += workers {
				if j%256 == w {
					if err := ctx.Err(); err != nil {
						errs[w] = err
						return
					}
				}
				x.co[j] = b.coNeighbours(j, x.buyers, s)
				x.content[j] = x.contentNeighbours(j, weights, postings, byCat[x.cats[j]], s)
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return x, nil
}

// scratch is one worker's dense accumulator with the list of touched slots.
type scratch struct {
	count   []int32
	sim     []float64
	touched []int32
	cos     []coNeighbour
	cont    []contentNeighbour
}

func newScratch(n int) *scratch {
	return &scratch{count: make([]int32, n), sim: make([]float64, n)}
}

// coNeighbours counts the common customers of j with every other item and
// keeps the best MaxCoPurchase with at least MinCoCount.
func (b *Builder) coNeighbours(j int, buyers []int32, s *scratch) []coNeighbour {
	s.touched = s.touched[:0]
	for _, c := range b.buyers[j] {
		for _, i := range b.baskets[c] {
			if s.count[i] == 0 {
				s.touched = append(s.touched, i)
			}
			s.count[i]++
		}
	}
	s.cos = s.cos[:0]
	for _, i := range s.touched {
		co := s.count[i]
		s.count[i] = 0
		if int(i) == j || int(co) < b.opts.MinCoCount {
			continue
		}
		score := float64(co) / math.Sqrt(float64(buyers[j])*float64(buyers[i]))
		s.cos = append(s.cos, coNeighbour{j: i, count: co, score: float32(score)})
	}
	return slices.Clone(topK(s.cos, b.opts.MaxCoPurchase, func(a, c coNeighbour) int {
		return cmp.Or(cmp.Compare(c.score, a.score), cmp.Compare(c.count, a.count), cmp.Compare(a.j, c.j))
	}))
}

// contentNeighbours scores j against every item sharing a token or its
// category and keeps the best MaxContent; equal scores go to the most
// bought, so a list padded from the category starts with its best sellers.
func (x *Index) contentNeighbours(j int, weights [][]float64, postings [][]int32, sameCat []int32, s *scratch) []contentNeighbour {
	s.touched = s.touched[:0]
	touch := func(i int32, v float64) {
		if s.count[i] == 0 { // count is all zero between co-purchase passes
			s.count[i] = 1
			s.touched = append(s.touched, i)
		}
		s.sim[i] += v
	}
	for k, t := range x.tokens[j] {
		w := weights[j][k]
		for _, i := range postings[t] {
			touch(i, w*weightOf(x.tokens[i], weights[i], t))
		}
	}
	bonus := x.opts.CategoryBonus
	for _, i := range sameCat {
		touch(i, bonus)
	}
	s.cont = s.cont[:0]
	for _, i := range s.touched {
		v := s.sim[i]
		s.sim[i], s.count[i] = 0, 0
		if int(i) == j {
			continue
		}
		s.cont = append(s.cont, contentNeighbour{j: i, score: float32(min(v, 1+bonus) / (1 + bonus))})
	}
	return slices.Clone(topK(s.cont, x.opts.MaxContent, func(a, c contentNeighbour) int {
		return cmp.Or(cmp.Compare(c.score, a.score), cmp.Compare(x.buyers[c.j], x.buyers[a.j]), cmp.Compare(a.j, c.j))
	}))
}

// weightOf is the weight of token t in an item's vector (0 when absent).
func weightOf(tokens []int32, w []float64, t int32) float64 {
	for k, u := range tokens {
		if u == t {
			return w[k]
		}
	}
	return 0
}

// Len is the number of items.
func (x *Index) Len() int { return len(x.titles) }

// Similar returns up to k neighbours of item j: co-purchase first, then
// content, without repeats and never j itself. It returns nil for an index
// out of range or k < 1.
func (x *Index) Similar(j, k int) []Neighbour {
	if j < 0 || j >= len(x.titles) || k < 1 {
		return nil
	}
	out := make([]Neighbour, 0, k)
	var seen map[int32]bool
	for _, c := range x.co[j] {
		if len(out) == k {
			return out
		}
		out = append(out, Neighbour{Index: int(c.j), Score: float64(c.score), Kind: KindCoPurchase,
			Reason: fmt.Sprintf("Customers who bought %s also bought this (%d %s)", x.titles[j], c.count, plural(int(c.count), "customer", "customers"))})
	}
	if len(out) > 0 {
		seen = make(map[int32]bool, len(out))
		for _, n := range out {
			seen[int32(n.Index)] = true
		}
	}
	for _, c := range x.content[j] {
		if len(out) == k {
			break
		}
		if seen[c.j] {
			continue
		}
		out = append(out, Neighbour{Index: int(c.j), Score: float64(c.score), Kind: KindContent, Reason: x.contentReason(j, int(c.j))})
	}
	return out
}

// contentReason says what j and i have in common: the category, and up to
// three shared title tokens, rarest first.
func (x *Index) contentReason(j, i int) string {
	var shared []string
	for _, t := range x.tokens[j] {
		if len(shared) == 3 {
			break
		}
		if slices.Contains(x.tokens[i], t) {
			shared = append(shared, x.vocab[t])
		}
	}
	sameCat := x.cats[i] == x.cats[j] && x.cats[j] != "" && x.cats[j] != catalog.Other
	var b strings.Builder
	b.WriteString("Like this one:")
	if sameCat {
		b.WriteString(" also ")
		b.WriteString(article(x.cats[j]))
		b.WriteString(" ")
		b.WriteString(x.cats[j])
		b.WriteString(" item")
	}
	if len(shared) > 0 {
		b.WriteString(" with ")
		b.WriteString(strings.Join(shared, ", "))
		b.WriteString(" in its name")
	}
	if !sameCat && len(shared) == 0 { // cannot happen: every stored neighbour shares one or the other
		b.WriteString(" a similar item")
	}
	return b.String()
}

func article(word string) string {
	if word != "" && strings.ContainsRune("aeiou", rune(word[0])) {
		return "an"
	}
	return "a"
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// Stats describes a built index.
type Stats struct {
	Items, Customers int
	WithCoPurchase   int // items with at least one co-purchase neighbour
	CoPurchaseLinks  int // stored co-purchase neighbours, all items
	ContentLinks     int // stored content neighbours, all items
	Tokens           int // distinct title tokens
}

// Stats counts what Build produced.
func (x *Index) Stats() Stats {
	s := Stats{Items: len(x.titles), Customers: x.baskets, Tokens: len(x.vocab)}
	for j := range x.co {
		if len(x.co[j]) > 0 {
			s.WithCoPurchase++
		}
		s.CoPurchaseLinks += len(x.co[j])
		s.ContentLinks += len(x.content[j])
	}
	return s
}
