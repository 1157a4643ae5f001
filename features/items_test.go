package features_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tailorhq/tailor/features"
	"github.com/tailorhq/tailor/recommend"
)

// The flow reads the item side through recommend.Catalog.
var _ recommend.Catalog = (*features.Items)(nil)

func loadRealItems(tb testing.TB) *features.Items {
	tb.Helper()
	it, err := features.LoadItems(context.Background(), realDir)
	if err != nil {
		tb.Fatal(err)
	}
	return it
}

func TestLoadItemsReal(t *testing.T) {
	it := loadRealItems(t)
	if it.Len() != 3604 || len(it.IDs()) != 3604 {
		t.Fatalf("Len = %d, want the 3,604 items of the shipped data", it.Len())
	}
	for j, id := range it.IDs() {
		if k, ok := it.Index(id); !ok || k != j || it.ID(j) != id || it.Catalog(j).ID != id || it.Stats(j).Item != id {
			t.Fatalf("item %d (%s) is not consistent across Index, ID, Catalog and Stats", j, id)
		}
		if j > 0 && it.ID(j-1) >= id {
			t.Fatalf("ids not ascending at %d", j)
		}
	}
	if _, ok := it.Index("NOPE"); ok {
		t.Error("Index found an unknown id")
	}

	pop := it.Popular()
	if got := slices.Sorted(slices.Values(pop)); !slices.Equal(got, seq(it.Len())) {
		t.Fatal("Popular is not a permutation of the items")
	}
	maxBuyers := 0
	for j := range it.Len() {
		maxBuyers = max(maxBuyers, it.Catalog(j).Buyers)
	}
	top := it.Catalog(pop[0])
	if top.Buyers != maxBuyers {
		t.Errorf("most popular %s has %d buyers, the maximum is %d", top.ID, top.Buyers, maxBuyers)
	}
	for n := 1; n < len(pop); n++ {
		a, b := it.Catalog(pop[n-1]), it.Catalog(pop[n])
		if a.Buyers < b.Buyers || a.Buyers == b.Buyers && (a.Orders < b.Orders || a.Orders == b.Orders && a.ID > b.ID) {
			t.Fatalf("Popular out of order at %d: %+v before %+v", n, a, b)
		}
	}
	t.Logf("most popular: %s %q, %d buyers", top.ID, top.Title, top.Buyers)

	// The trainer's co-purchase neighbours, linked for serving: each item
	// has some (the shipped EASE fit gives every item its 50), and the
	// stored lists are dropped once linked.
	has := make([]int, it.Len())
	links := 0
	for j := range it.Len() {
		s := it.Stats(j)
		if s.CoPurchase != nil {
			t.Fatalf("%s keeps its stored co-purchase list after linking", s.Item)
		}
		for x, i := range s.CoBoughtBy {
			if int(i) == j || !(s.CoBoughtSims[x] > 0) {
				t.Fatalf("%s counts for %s with weight %v", s.Item, it.ID(int(i)), s.CoBoughtSims[x])
			}
			has[i]++
		}
		links += len(s.CoBoughtBy)
	}
	for i, n := range has {
		if n == 0 || n > features.CoPurchaseNeighbours {
			t.Fatalf("%s has %d co-purchase neighbours, want 1 to %d", it.ID(i), n, features.CoPurchaseNeighbours)
		}
	}
	t.Logf("co-purchase: %d links over %d items", links, it.Len())
}

func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

func TestPopularInCountry(t *testing.T) {
	it := loadRealItems(t)
	want := []string{"Belgium", "France", "Germany", "Spain", "United Kingdom"}
	if got := it.Countries(); !slices.Equal(got, want) {
		t.Errorf("Countries = %v, want %v (at least %d customers each)", got, want, features.MinCountryCustomers)
	}
	uk, de := it.PopularIn("United Kingdom"), it.PopularIn("Germany")
	if slices.Equal(uk[:10], de[:10]) {
		t.Error("the top 10 of the United Kingdom and Germany are the same")
	}
	for _, c := range []string{"Atlantis", "Switzerland", ""} { // unknown; 17 customers; empty
		l, own := it.PopularInCountry(c)
		if own || &l[0] != &it.Popular()[0] || &it.PopularIn(c)[0] != &it.Popular()[0] {
			t.Errorf("%q: own list %v; want the overall list", c, own)
		}
	}

	// Germany, recomputed from the file: distinct German buyers per item.
	buyers := map[string]int{}
	orders := map[string]int{}
	for _, p := range fileProfiles(t) {
		if p.Country == "Germany" {
			for _, h := range p.Items {
				buyers[h.Item]++
				orders[h.Item] += h.Invoices
			}
		}
	}
	if len(de) != len(buyers) {
		t.Fatalf("Germany: %d items, but German customers bought %d", len(de), len(buyers))
	}
	for n, j := range de {
		id := it.ID(j)
		if buyers[id] == 0 {
			t.Fatalf("Germany: %s was not bought there", id)
		}
		if n > 0 {
			prev := it.ID(de[n-1])
			if buyers[prev] < buyers[id] || buyers[prev] == buyers[id] && (orders[prev] < orders[id] || orders[prev] == orders[id] && prev > id) {
				t.Fatalf("Germany out of order at %d: %s (%d buyers) before %s (%d)", n, prev, buyers[prev], id, buyers[id])
			}
		}
	}
	t.Logf("top in United Kingdom: %q; in Germany: %q (%d German buyers)",
		it.Catalog(uk[0]).Title, it.Catalog(de[0]).Title, buyers[it.ID(de[0])])
}

// featureDir copies the committed files to a temporary directory, with
// items.jsonl.gz's lines replaced by the result of edit.
func featureDir(t *testing.T, edit func(lines [][]byte) [][]byte) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{features.CatalogFile, features.ItemsFile, features.CustomersFile} {
		b, err := os.ReadFile(filepath.Join(realDir, name))
		if err != nil {
			t.Fatal(err)
		}
		if name == features.ItemsFile {
			lines := bytes.SplitAfter(gunzip(t, b), []byte("\n"))
			lines = edit(lines[:len(lines)-1]) // the last element is empty
			b = gz(t, strings.TrimSuffix(string(bytes.Join(lines, nil)), "\n"))
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestLoadItemsRefusesFilesThatDisagree(t *testing.T) {
	for _, tc := range []struct {
		name, want string
		edit       func([][]byte) [][]byte
	}{
		{"swapped", `items.jsonl.gz: line 2: item "10120", but catalog.jsonl line 2 is item "10080"`,
			func(l [][]byte) [][]byte { l[1], l[2] = l[2], l[1]; return l }},
		{"short", "items.jsonl.gz: 3603 lines, but catalog.jsonl has 3604 items",
			func(l [][]byte) [][]byte { return l[:len(l)-1] }},
		{"long", `items.jsonl.gz: line 3605: item "10002": catalog.jsonl has only 3604 items`,
			func(l [][]byte) [][]byte { return append(l, l[0]) }},
		{"bad JSON", "items.jsonl.gz: line 3: invalid character",
			func(l [][]byte) [][]byte { l[2] = []byte("{oops\n"); return l }},
		{"unknown field", `items.jsonl.gz: line 1: json: unknown field "colour"`,
			func(l [][]byte) [][]byte { l[0] = []byte(`{"item":"10002","colour":"red"}` + "\n"); return l }},
		{"unknown co-purchase neighbour", `items.jsonl.gz: item "10002": co-purchase neighbour "NOPE" is not in the catalog`,
			func(l [][]byte) [][]byte {
				l[0] = []byte(`{"item":"10002","copurchase":[{"item":"10080","w":0.5},{"item":"NOPE","w":0.1}]}` + "\n")
				return l
			}},
		{"co-purchase neighbour matched only after upper-casing", `items.jsonl.gz: item "10002": co-purchase neighbour "85123a" is not in the catalog`,
			func(l [][]byte) [][]byte {
				l[0] = []byte(`{"item":"10002","copurchase":[{"item":"85123a","w":0.5}]}` + "\n")
				return l
			}},
		{"negative co-purchase weight", `items.jsonl.gz: item "10002": co-purchase neighbour "10080" has weight -0.5`,
			func(l [][]byte) [][]byte {
				l[0] = []byte(`{"item":"10002","copurchase":[{"item":"10080","w":-0.5}]}` + "\n")
				return l
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := features.LoadItems(context.Background(), featureDir(t, tc.edit))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("LoadItems: %v; want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestLoadItemsRefusesACustomerItemOutsideTheCatalog(t *testing.T) {
	dir := featureDir(t, func(l [][]byte) [][]byte { return l })
	b := gz(t, `{"id":"1","country":"France"}`, `{"id":"2","country":"France","items":[{"item":"99999Z","invoices":1}]}`)
	if err := os.WriteFile(filepath.Join(dir, features.CustomersFile), b, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := features.LoadItems(context.Background(), dir)
	want := `customers.jsonl.gz: line 2: customer "2": item "99999Z" is not in catalog.jsonl`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("LoadItems: %v; want an error containing %q", err, want)
	}
	if _, err := features.LoadItems(context.Background(), t.TempDir()); err == nil {
		t.Error("LoadItems on an empty directory: no error")
	}
}

func BenchmarkLoadItems(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		loadRealItems(b)
	}
}

func TestIndexTriesUpperCase(t *testing.T) {
	items := loadRealItems(t)
	want, ok := items.Index("85123A")
	if !ok {
		t.Fatal("85123A is not in the catalog")
	}
	for _, id := range []string{"85123a", "85123A"} {
		if j, ok := items.Index(id); !ok || j != want {
			t.Errorf("Index(%q) = %d, %v; want %d, true", id, j, ok, want)
		}
	}
	for _, id := range []string{"85123Ä", "", "nope", "85123A "} {
		if j, ok := items.Index(id); ok {
			t.Errorf("Index(%q) = %d, true; want not found", id, j)
		}
	}
}

func TestCountry(t *testing.T) {
	it := loadRealItems(t)
	for _, tc := range []struct{ name, want string }{
		{"United Kingdom", "United Kingdom"},
		{"united kingdom", "United Kingdom"},
		{" GB ", "United Kingdom"},
		{"uk", "United Kingdom"},
		{"FR", "France"},
		{"fRANCE", "France"},
		{"de", "Germany"},
		{"ES", "Spain"},
		{"be", "Belgium"},
		{"CH", "CH"},                   // Switzerland has no list of its own (17 customers)
		{"Switzerland", "Switzerland"}, // nor under its own name
		{"Atlantis", "Atlantis"},
		{" Atlantis ", "Atlantis"},
		{"   ", ""},
		{"", ""},
	} {
		if got := it.Country(tc.name); got != tc.want {
			t.Errorf("Country(%q) = %q, want %q", tc.name, got, tc.want)
		}
		if _, own := it.PopularInCountry(it.Country(tc.name)); own != slices.Contains(it.Countries(), tc.want) {
			t.Errorf("%q: own list %v", tc.name, own)
		}
	}
}

func gunzip(tb testing.TB, b []byte) []byte {
	tb.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		tb.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		tb.Fatal(err)
	}
	return out
}
