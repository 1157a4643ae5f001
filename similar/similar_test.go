package similar

import (
	"context"
	"errors"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tailorhq/tailor/catalog"
	"github.com/tailorhq/tailor/features"
)

// fakeItems is a small catalog.
type fakeItems []catalog.Item

func (f fakeItems) Len() int                   { return len(f) }
func (f fakeItems) Catalog(j int) catalog.Item { return f[j] }
func (f fakeItems) ID(j int) string            { return f[j].ID }
func (f fakeItems) Index(id string) (int, bool) {
	i := slices.IndexFunc(f, func(c catalog.Item) bool { return c.ID == id })
	return i, i >= 0
}

var small = fakeItems{
	{ID: "A", Title: "REGENCY CAKESTAND 3 TIER", Category: "kitchen & dining", Price: 10.95},
	{ID: "B", Title: "ROSE TEAPOT", Category: "kitchen & dining", Price: 4.95},
	{ID: "C", Title: "ROSE TEACUP AND SAUCER", Category: "kitchen & dining", Price: 2.95},
	{ID: "D", Title: "RED CANDLE", Category: "candles & lights", Price: 1.25},
	{ID: "E", Title: "SET OF 3 ROSE TEAPOT CANDLES", Category: "candles & lights", Price: 3.75},
	{ID: "F", Title: "PAINTED METAL PEARS", Category: catalog.Other, Price: 1.23},
}

func build(t testing.TB, items fakeItems, baskets [][]int) *Index {
	t.Helper()
	b := NewBuilder(items, Options{})
	for _, bk := range baskets {
		if err := b.Add(bk); err != nil {
			t.Fatal(err)
		}
	}
	x, err := b.Build(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func TestTokens(t *testing.T) {
	for title, want := range map[string]string{
		"SET OF 3 ROSE TEAPOT CANDLES":        "ROSE TEAPOT CANDLES",
		"WHITE HANGING HEART T-LIGHT HOLDER":  "WHITE HANGING HEART T-LIGHT HOLDER",
		"pack of 12 children's -spaceboy- 6x": "CHILDREN'S SPACEBOY",
		"SET/6 RED RED SPOTTY PAPER CUPS":     "RED SPOTTY PAPER CUPS",
		"":                                    "",
	} {
		if got := strings.Join(Tokens(title), " "); got != want {
			t.Errorf("Tokens(%q) = %q, want %q", title, got, want)
		}
	}
}

func TestSimilarBlend(t *testing.T) {
	// A and B are co-bought by 3 customers, A and D by 4; C and E only once.
	x := build(t, small, [][]int{{0, 1, 3}, {0, 1, 3}, {0, 1, 3, 3}, {0, 3}, {2, 4}, {5}})
	got := x.Similar(0, 10)
	if len(got) < 3 {
		t.Fatalf("Similar(A) = %+v", got)
	}
	// D: 4/sqrt(4·4) = 1; B: 3/sqrt(4·3) = 0.866.
	if got[0].Index != 3 || got[0].Kind != KindCoPurchase || got[1].Index != 1 || got[1].Kind != KindCoPurchase {
		t.Errorf("co-purchase first, D then B: %+v", got[:2])
	}
	if want := "Customers who bought REGENCY CAKESTAND 3 TIER also bought this (4 customers)"; got[0].Reason != want {
		t.Errorf("reason %q, want %q", got[0].Reason, want)
	}
	seen := map[int]bool{}
	for i, n := range got {
		if n.Index == 0 || seen[n.Index] {
			t.Errorf("item %d: %+v repeats or is the item itself", i, n)
		}
		seen[n.Index] = true
		if i >= 2 && n.Kind != KindContent {
			t.Errorf("item %d: %+v, want content after co-purchase", i, n)
		}
		if n.Score < 0 || n.Score > 1 || n.Reason == "" {
			t.Errorf("item %d: %+v", i, n)
		}
	}
	// C: the same category, no shared token (A has CAKESTAND, TIER, REGENCY).
	if c := got[2]; c.Index != 2 || c.Reason != "Like this one: also a kitchen & dining item" {
		t.Errorf("third %+v", c)
	}

	// B has no co-purchase evidence with C (one customer): content only.
	// E shares ROSE and TEAPOT; C shares ROSE and the category.
	got = x.Similar(1, 2)
	if len(got) != 2 || got[0].Kind != KindCoPurchase || got[0].Index != 0 {
		t.Fatalf("Similar(B) = %+v", got)
	}
	got = x.Similar(4, 5) // E: cold for co-purchase
	if len(got) == 0 || got[0].Index != 1 || got[0].Kind != KindContent ||
		got[0].Reason != "Like this one: with TEAPOT, ROSE in its name" {
		t.Errorf("Similar(E) = %+v", got)
	}
	if got := x.Similar(2, 1); got[0].Reason != "Like this one: also a kitchen & dining item with ROSE in its name" {
		t.Errorf("Similar(C) = %+v", got)
	}
	// F shares nothing and its category is "other": no neighbours at all.
	if got := x.Similar(5, 10); len(got) != 0 {
		t.Errorf("Similar(F) = %+v, want none", got)
	}
	for _, bad := range [][2]int{{-1, 3}, {6, 3}, {0, 0}} {
		if got := x.Similar(bad[0], bad[1]); got != nil {
			t.Errorf("Similar(%d, %d) = %+v, want nil", bad[0], bad[1], got)
		}
	}
	if err := NewBuilder(small, Options{}).Add([]int{6}); err == nil {
		t.Error("Add accepted an index out of range")
	}
}

func TestService(t *testing.T) {
	x := build(t, small, [][]int{{0, 1}, {0, 1}, {0, 1}})
	s := NewService(small, x)
	resp, err := s.Similar(context.Background(), "a", 2)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Item.ID != "A" || len(resp.Items) != 2 || resp.Items[0].ID != "B" || resp.Items[0].Rank != 1 ||
		resp.Items[0].Source != KindCoPurchase || resp.Items[1].Rank != 2 || len(resp.Items[1].Reasons) != 1 {
		t.Errorf("response %+v", resp)
	}
	if _, err := s.Similar(context.Background(), "nope", 2); !errors.Is(err, ErrUnknownItem) {
		t.Errorf("unknown id: %v", err)
	}
}

// realIndex builds the index on the shipped data once per test binary.
func realIndex(t testing.TB) (*features.Items, *Index) {
	t.Helper()
	dir := filepath.Join("..", "data", "features")
	items, err := features.LoadItems(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	x, err := Load(context.Background(), items, items.Baskets(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	return items, x
}

func TestRealData(t *testing.T) {
	items, x := realIndex(t)
	st := x.Stats()
	t.Logf("%+v", st)
	if st.Items != items.Len() || st.Customers < 3000 || st.WithCoPurchase == 0 {
		t.Fatalf("stats %+v", st)
	}
	j, _ := items.Index("85123A")
	got := x.Similar(j, 10)
	if len(got) != 10 || got[0].Kind != KindCoPurchase {
		t.Fatalf("85123A: %+v", got)
	}
	for _, n := range got {
		t.Logf("85123A -> %s %q %s %.3f %s", items.ID(n.Index), items.Catalog(n.Index).Title, n.Kind, n.Score, n.Reason)
	}
	// Every item gets k content neighbours when co-purchase has none,
	// unless it shares nothing with anyone.
	cold := 0
	for j := range items.Len() {
		if len(x.co[j]) > 0 {
			continue
		}
		cold++
		if got := x.Similar(j, 5); len(got) == 0 && items.Catalog(j).Category != catalog.Other {
			t.Errorf("cold item %s %q has no neighbours", items.ID(j), items.Catalog(j).Title)
		}
	}
	t.Logf("%d items without co-purchase neighbours", cold)
	// Deterministic: a second build gives the same lists.
	_, y := realIndex(t)
	for j := range items.Len() {
		if !slices.Equal(x.co[j], y.co[j]) || !slices.Equal(x.content[j], y.content[j]) {
			t.Fatalf("item %d: two builds differ", j)
		}
	}
}

// TestBuildFigures logs the build time and the heap the index keeps (a
// figure, not a timed assertion).
func TestBuildFigures(t *testing.T) {
	items, err := features.LoadItems(context.Background(), filepath.Join("..", "data", "features"))
	if err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	x, err := Load(context.Background(), items, items.Baskets(), Options{})
	took := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	t.Logf("build %s (from the baskets LoadItems read), index heap %.1f MB, allocated during build %.1f MB",
		took, float64(after.HeapAlloc-before.HeapAlloc)/(1<<20), float64(after.TotalAlloc-before.TotalAlloc)/(1<<20))
	runtime.KeepAlive(x)
}

func BenchmarkSimilar(b *testing.B) {
	items, x := realIndex(b)
	j, _ := items.Index("85123A")
	b.ReportAllocs()
	for b.Loop() {
		x.Similar(j, 10)
	}
}

func BenchmarkService(b *testing.B) {
	items, x := realIndex(b)
	s := NewService(items, x)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		s.Similar(ctx, "85123A", 10)
	}
}

func BenchmarkBuild(b *testing.B) {
	dir := filepath.Join("..", "data", "features")
	items, err := features.LoadItems(context.Background(), dir)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Load(context.Background(), items, items.Baskets(), Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

func TestTopK(t *testing.T) {
	for n := range 40 {
		for _, k := range []int{0, 1, 3, 10, 50} {
			xs := make([]int, n)
			for i := range xs {
				xs[i] = (i * 7919) % 31 // repeats
			}
			want := slices.Clone(xs)
			slices.Sort(want)
			want = want[:min(k, n)]
			if got := topK(xs, k, func(a, b int) int { return a - b }); !slices.Equal(got, want) {
				t.Errorf("n=%d k=%d: %v, want %v", n, k, got, want)
			}
		}
	}
}
