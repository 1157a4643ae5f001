package dataset

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// realDir is the repository's copy of the shipped data set.
var realDir = filepath.Join("..", "data", "online-retail")

// TestReadDirRealData pins the figures of the shipped data set.
func TestReadDirRealData(t *testing.T) {
	if _, err := os.Stat(realDir); err != nil {
		t.Skipf("no data set: %v", err)
	}
	start := time.Now()
	ps, st, err := ReadDir(realDir)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("read %d files in %v", st.Files, time.Since(start))
	want := Stats{Files: 11, Rows: 431673, Kept: 314741, Dropped: map[DropReason]int{
		DropNoCustomer:          108103,
		DropCancellation:        7495,
		DropNotProduct:          1312,
		DropNonPositiveQuantity: 0,
		DropNonPositivePrice:    22,
	}}
	if !reflect.DeepEqual(st, want) {
		t.Errorf("stats: got %+v, want %+v", st, want)
	}
	if len(ps) != st.Kept {
		t.Errorf("%d purchases, %d kept", len(ps), st.Kept)
	}
	customers, items, invoices := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for i, p := range ps {
		customers[p.Customer] = true
		items[p.Item] = true
		invoices[p.Invoice] = true
		if p.Quantity <= 0 || p.Price <= 0 || p.Customer == "" || !IsProductCode(p.Item) {
			t.Fatalf("purchase %d breaks a cleaning rule: %+v", i, p)
		}
	}
	if len(customers) != 3970 || len(items) != 3604 || len(invoices) != 14983 {
		t.Errorf("got %d customers, %d items, %d invoices; want 3970, 3604, 14983",
			len(customers), len(items), len(invoices))
	}
	first, last := ps[0].Time, ps[len(ps)-1].Time
	if want := date("2010-12-01 08:26:00"); !first.Equal(want) {
		t.Errorf("first purchase at %v, want %v", first, want)
	}
	if last.Format("2006-01-02") != "2011-10-31" {
		t.Errorf("last purchase at %v, want 2011-10-31", last)
	}
}

func BenchmarkReadDir(b *testing.B) {
	if _, err := os.Stat(realDir); err != nil {
		b.Skipf("no data set: %v", err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := ReadDir(realDir); err != nil {
			b.Fatal(err)
		}
	}
}
