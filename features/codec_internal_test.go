package features

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// realProfiles decodes the committed customers file with encoding/json
// alone, independently of readCustomers. Lines are kept for the benchmarks.
func realProfiles(tb testing.TB) ([]CustomerProfile, [][]byte) {
	tb.Helper()
	f, err := os.Open(filepath.Join("..", "data", "features", CustomersFile))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		tb.Fatal(err)
	}
	sc := bufio.NewScanner(zr)
	sc.Buffer(nil, maxLine)
	var ps []CustomerProfile
	var lines [][]byte
	for sc.Scan() {
		var p CustomerProfile
		if err := json.Unmarshal(sc.Bytes(), &p); err != nil {
			tb.Fatal(err)
		}
		ps = append(ps, p)
		lines = append(lines, append([]byte(nil), sc.Bytes()...))
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return ps, lines
}

func TestCodecRoundTripRealProfiles(t *testing.T) {
	ps, lines := realProfiles(t)
	var jsonBytes, binBytes int
	for i := range ps {
		v := appendProfile(nil, &ps[i])
		got, err := decodeProfile(v)
		if err != nil {
			t.Fatalf("%s: %v", ps[i].ID, err)
		}
		if !reflect.DeepEqual(got, &ps[i]) {
			t.Fatalf("%s: round trip differs:\n got %+v\nwant %+v", ps[i].ID, got, ps[i])
		}
		jsonBytes += len(lines[i])
		binBytes += len(v)
	}
	t.Logf("%d profiles: JSON %d bytes, stored %d bytes (%.2fx smaller)", len(ps), jsonBytes, binBytes, float64(jsonBytes)/float64(binBytes))
}

func TestCodecEdgeCases(t *testing.T) {
	cet := time.FixedZone("CET", 3600)
	for name, p := range map[string]*CustomerProfile{
		"zero":        {},
		"empty":       {ID: "1", Categories: map[string]float64{}, Items: []ItemHistory{}},
		"nanoseconds": {ID: "2", First: time.Date(2011, 1, 2, 3, 4, 5, 999_999_999, time.UTC), Last: time.Date(1900, 1, 1, 0, 0, 0, 1, time.UTC)},
		"negative":    {ID: "3", Invoices: -1, Spend: -2.5, Items: []ItemHistory{{Item: "A", Invoices: -3, Quantity: -4}}},
	} {
		got, err := decodeProfile(appendProfile(nil, p))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !reflect.DeepEqual(got, p) {
			t.Errorf("%s: got %+v, want %+v", name, got, p)
		}
	}
	// Another zone decodes as the same instant in UTC.
	p := &CustomerProfile{ID: "4", First: time.Date(2011, 5, 1, 12, 0, 0, 0, cet)}
	got, err := decodeProfile(appendProfile(nil, p))
	if err != nil || !got.First.Equal(p.First) || got.First.Location() != time.UTC {
		t.Errorf("zone: got %v, %v; want %v in UTC", got.First, err, p.First)
	}
}

func TestCodecRefusesCorruptInput(t *testing.T) {
	p := &CustomerProfile{ID: "17850", Country: "United Kingdom", Invoices: 3, Spend: 12.5,
		Categories: map[string]float64{"mugs": 1},
		Items:      []ItemHistory{{Item: "85123A", Invoices: 2, Quantity: 6, Last: time.Unix(1300000000, 0).UTC()}}}
	v := appendProfile(nil, p)
	for n := range len(v) { // every truncation
		if _, err := decodeProfile(v[:n]); err == nil {
			t.Errorf("truncated to %d of %d bytes: no error", n, len(v))
		}
	}
	if _, err := decodeProfile(append(v[:len(v):len(v)], 0)); err == nil {
		t.Error("trailing byte: no error")
	}
	bad := append([]byte(nil), v...)
	bad[0] = codecVersion + 1
	if _, err := decodeProfile(bad); err == nil {
		t.Error("other version: no error")
	}
	// A huge item count must be refused before it is allocated.
	huge := appendProfile(nil, &CustomerProfile{ID: "x"})
	huge = huge[:len(huge)-1]
	huge = append(huge, 0xff, 0xff, 0xff, 0xff, 0x0f)
	if _, err := decodeProfile(huge); err == nil {
		t.Error("huge count: no error")
	}
}

// medianProfile returns the profile whose item count is the median.
func medianProfile(b *testing.B) (*CustomerProfile, []byte) {
	ps, lines := realProfiles(b)
	counts := make(map[int]int)
	for _, p := range ps {
		counts[len(p.Items)]++
	}
	seen, target := 0, len(ps)/2
	median := 0
	for n := 0; seen <= target; n++ {
		seen += counts[n]
		median = n
	}
	for i := range ps {
		if len(ps[i].Items) == median {
			b.Logf("customer %s: %d items, JSON %d bytes", ps[i].ID, median, len(lines[i]))
			return &ps[i], lines[i]
		}
	}
	b.Fatal("no median profile")
	return nil, nil
}

func BenchmarkDecodeStored(b *testing.B) {
	p, _ := medianProfile(b)
	v := appendProfile(nil, p)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decodeProfile(v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeJSON(b *testing.B) {
	_, line := medianProfile(b)
	b.ReportAllocs()
	for b.Loop() {
		var p CustomerProfile
		if err := json.Unmarshal(line, &p); err != nil {
			b.Fatal(err)
		}
	}
}
