package catalog

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tailorhq/tailor/dataset"
)

// purchases is a handcrafted purchase list.
func purchases() []dataset.Purchase {
	at := time.Date(2011, 3, 1, 10, 0, 0, 0, time.UTC)
	p := func(inv, item, desc string, price float64, cust string) dataset.Purchase {
		return dataset.Purchase{Invoice: inv, Item: item, Description: desc, Quantity: 1,
			Price: price, Time: at, Customer: cust, Country: "United Kingdom"}
	}
	return []dataset.Purchase{
		// 85123A: titles tie 2-2, "MUG RED" < "RED MUG"; prices 1,3,2,10 ->
		// median 2.5; customers c1, c2; invoices i1, i2, i3.
		p("i1", "85123A", "RED MUG", 1, "c1"),
		p("i2", "85123A", "RED MUG", 3, "c1"),
		p("i2", "85123A", "MUG RED", 2, "c1"),
		p("i3", "85123A", "MUG RED", 10, "c2"),
		// 22633: one title wins 2-1; prices 5,1,3 -> median 3.
		p("i1", "22633", "HAND WARMER UNION JACK", 5, "c1"),
		p("i4", "22633", "HAND WARMER UNION JACK", 1, "c3"),
		p("i5", "22633", "AAA WARMER", 3, "c3"),
		// 15056BL: one row; price rounded to 2 decimals.
		p("i6", "15056BL", "EDWARDIAN PARASOL BLACK", 1.236, "c4"),
		// 84029G: median 1.234 rounds down.
		p("i6", "84029G", "PAINTED METAL PEARS ASSORTED", 1.234, "c4"),
	}
}

func TestBuild(t *testing.T) {
	ps := purchases()
	before := slices.Clone(ps)
	c := Build(ps)
	want := []Item{
		{ID: "15056BL", Title: "EDWARDIAN PARASOL BLACK", Price: 1.24, Category: "jewellery & accessories", Buyers: 1, Orders: 1},
		{ID: "22633", Title: "HAND WARMER UNION JACK", Price: 3, Category: "jewellery & accessories", Buyers: 2, Orders: 3},
		{ID: "84029G", Title: "PAINTED METAL PEARS ASSORTED", Price: 1.23, Category: Other, Buyers: 1, Orders: 1},
		{ID: "85123A", Title: "MUG RED", Price: 2.5, Category: "kitchen & dining", Buyers: 2, Orders: 3},
	}
	if !reflect.DeepEqual(c.Items(), want) {
		t.Errorf("Items():\n got %+v\nwant %+v", c.Items(), want)
	}
	if !reflect.DeepEqual(ps, before) {
		t.Error("Build modified its input")
	}
	if c.Len() != 4 {
		t.Errorf("Len() = %d", c.Len())
	}
	if ids := c.IDs(); !reflect.DeepEqual(ids, []string{"15056BL", "22633", "84029G", "85123A"}) {
		t.Errorf("IDs() = %q", ids)
	}
	if it, ok := c.Lookup("22633"); !ok || it != want[1] {
		t.Errorf("Lookup(22633) = %+v, %v", it, ok)
	}
	if _, ok := c.Lookup("99999"); ok {
		t.Error("Lookup of a missing item succeeded")
	}
	if e := Build(nil); e.Len() != 0 || len(e.Items()) != 0 {
		t.Errorf("Build(nil) has %d items", e.Len())
	}
}

func TestJSONLRoundTrip(t *testing.T) {
	c := Build(purchases())
	var buf bytes.Buffer
	if err := c.WriteJSONL(&buf); err != nil {
		t.Fatal(err)
	}
	first, _, _ := strings.Cut(buf.String(), "\n")
	wantFirst := `{"id":"15056BL","title":"EDWARDIAN PARASOL BLACK","price":1.24,"category":"jewellery & accessories","buyers":1,"orders":1}`
	if first != wantFirst {
		t.Errorf("first line:\n got %s\nwant %s", first, wantFirst)
	}
	if n := strings.Count(buf.String(), "\n"); n != c.Len() {
		t.Errorf("%d lines for %d items", n, c.Len())
	}
	back, err := ReadJSONL(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back.Items(), c.Items()) {
		t.Errorf("round trip:\n got %+v\nwant %+v", back.Items(), c.Items())
	}
	if it, ok := back.Lookup("85123A"); !ok || it.Title != "MUG RED" {
		t.Errorf("Lookup after read: %+v, %v", it, ok)
	}
	var again bytes.Buffer
	if err := back.WriteJSONL(&again); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again.Bytes(), buf.Bytes()) {
		t.Error("writing the read catalogue gives different bytes")
	}
	empty, err := ReadJSONL(strings.NewReader(""))
	if err != nil || empty.Len() != 0 {
		t.Errorf("empty input: %v, %d items", err, empty.Len())
	}
}

func TestReadJSONLErrors(t *testing.T) {
	const good = `{"id":"22633","title":"HAND WARMER","price":1.5,"category":"jewellery & accessories","buyers":2,"orders":3}` + "\n"
	line := func(fields string) string {
		return `{"id":"85123A","title":"T","price":2.5,"category":"kitchen & dining",` + fields + "}\n"
	}
	tests := []struct {
		name, input, want string
	}{
		{"not json", "hello\n", "line 1: invalid character"},
		{"unknown field", good + line(`"buyers":1,"orders":1,"colour":"red"`), `line 2: json: unknown field "colour"`},
		{"wrong type", line(`"buyers":"1","orders":1`), "line 1: json: cannot unmarshal string"},
		{"two values", good + good[:len(good)-1] + good, "line 2: more than one JSON value"},
		{"not a product", `{"id":"POST","title":"POSTAGE","price":18,"category":"other","buyers":1,"orders":1}` + "\n", `line 1: item "POST": id is not an upper-case product code`},
		{"lower-case id", `{"id":"85123a","title":"T","price":1,"category":"other","buyers":1,"orders":1}` + "\n", `line 1: item "85123a": id is not`},
		{"missing id", `{"title":"T","price":1,"category":"other","buyers":1,"orders":1}` + "\n", `line 1: item "": id is not`},
		{"negative price", good + `{"id":"85123A","title":"T","price":-1,"category":"other","buyers":1,"orders":1}` + "\n", "line 2: item \"85123A\": invalid price -1"},
		{"unknown category", `{"id":"85123A","title":"T","price":1,"category":"shoes","buyers":1,"orders":1}` + "\n", `line 1: item "85123A": unknown category "shoes"`},
		{"negative count", line(`"buyers":-1,"orders":1`), "line 1: item \"85123A\": negative count"},
		{"buyers above orders", line(`"buyers":3,"orders":2`), "line 1: item \"85123A\": 3 buyers but only 2 orders"},
		{"unsorted", line(`"buyers":1,"orders":1`) + good, `line 2: item "22633": IDs not strictly ascending (after "85123A")`},
		{"duplicate", good + good, `line 2: item "22633": IDs not strictly ascending`},
		{"empty line", good + "\n" + line(`"buyers":1,"orders":1`), "line 2: empty line"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ReadJSONL(strings.NewReader(tc.input))
			if err == nil {
				t.Fatalf("no error, %d items", c.Len())
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
		})
	}
}

// TestRealCatalog builds the catalogue of the shipped data and checks its
// size, a few well-known items and the share of "other".
func TestRealCatalog(t *testing.T) {
	dir := filepath.Join("..", "data", "online-retail")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("no data set: %v", err)
	}
	ps, _, err := dataset.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	c := Build(ps)
	if c.Len() != 3604 {
		t.Errorf("%d items, want 3604", c.Len())
	}
	for _, want := range []Item{
		{ID: "85123A", Title: "WHITE HANGING HEART T-LIGHT HOLDER", Price: 2.95, Category: "candles & lights", Buyers: 779, Orders: 1691},
		{ID: "22423", Title: "REGENCY CAKESTAND 3 TIER", Price: 12.75, Category: "kitchen & dining", Buyers: 806, Orders: 1486},
		{ID: "85099B", Title: "JUMBO BAG RED RETROSPOT", Price: 2.08, Category: "bags", Buyers: 567, Orders: 1349},
	} {
		if got, _ := c.Lookup(want.ID); got != want {
			t.Errorf("got %+v\nwant %+v", got, want)
		}
	}
	rows := map[string]int{}
	for _, p := range ps {
		rows[p.Item]++
	}
	perCat := map[string]int{}
	otherItems, otherRows := 0, 0
	for _, it := range c.Items() {
		perCat[it.Category]++
		if it.Category == Other {
			otherItems++
			otherRows += rows[it.ID]
		}
	}
	itemShare := float64(otherItems) / float64(c.Len())
	rowShare := float64(otherRows) / float64(len(ps))
	t.Logf("other: %d items (%.1f%%), %d purchase rows (%.1f%%)", otherItems, 100*itemShare, otherRows, 100*rowShare)
	for _, cat := range Categories() {
		t.Logf("%-24s %4d items", cat, perCat[cat])
		if perCat[cat] == 0 {
			t.Errorf("category %q has no item", cat)
		}
	}
	if itemShare > 0.05 || rowShare > 0.02 {
		t.Errorf("other holds %.1f%% of items and %.1f%% of rows; want at most 5%% and 2%%", 100*itemShare, 100*rowShare)
	}
}

// TestInStock reads the optional stock mark: absent and true are in stock,
// false is out of stock, and a catalogue written back keeps each line as it
// was (no in_stock key appears on an item that had none).
func TestInStock(t *testing.T) {
	const input = `{"id":"10002","title":"A","price":1,"category":"other","buyers":1,"orders":1}
{"id":"10080","title":"B","price":1,"category":"other","buyers":1,"orders":1,"in_stock":false}
{"id":"10120","title":"C","price":1,"category":"other","buyers":1,"orders":1,"in_stock":true}
`
	c, err := ReadJSONL(strings.NewReader(input))
	if err != nil {
		t.Fatal(err)
	}
	var got []bool
	for _, it := range c.Items() {
		got = append(got, it.IsInStock())
	}
	if !slices.Equal(got, []bool{true, false, true}) {
		t.Errorf("in stock %v, want [true false true]", got)
	}
	var out bytes.Buffer
	if err := c.WriteJSONL(&out); err != nil {
		t.Fatal(err)
	}
	if out.String() != input {
		t.Errorf("written back:\n%s\nwant\n%s", out.String(), input)
	}
	if _, err := ReadJSONL(strings.NewReader(`{"id":"10002","title":"A","price":1,"category":"other","buyers":1,"orders":1,"in_stock":"no"}` + "\n")); err == nil {
		t.Error("in_stock as a string was accepted")
	}
}

func TestCanonicalID(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"85123A", "85123A"},
		{"85123a", "85123A"},
		{"ab12Cd", "AB12CD"},
		{"é85123a", "é85123A"}, // only ASCII letters change
		{"", ""},
	} {
		if got := CanonicalID(tc.in); got != tc.want {
			t.Errorf("CanonicalID(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
