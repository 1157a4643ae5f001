package features_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/tailorhq/tailor/features"
	"github.com/tailorhq/tailor/recommend"
)

// The flow consumes both stores through recommend.Profiles.
var (
	_ recommend.Profiles    = (*features.BoltStore)(nil)
	_ recommend.Profiles    = (*features.Cached)(nil)
	_ features.ProfileStore = (*features.BoltStore)(nil)
	_ features.ProfileStore = (*features.Cached)(nil)
	_ recommend.Profiles    = features.ProfileStore(nil)
	_ features.ProfileStore = recommend.Profiles(nil)
)

var realDir = filepath.Join("..", "data", "features")

// fileProfiles decodes the committed customers file with encoding/json
// alone, in file order.
func fileProfiles(tb testing.TB) []features.CustomerProfile {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(realDir, features.CustomersFile))
	if err != nil {
		tb.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		tb.Fatal(err)
	}
	sc := bufio.NewScanner(zr)
	sc.Buffer(nil, 16<<20)
	var ps []features.CustomerProfile
	for sc.Scan() {
		var p features.CustomerProfile
		if err := json.Unmarshal(sc.Bytes(), &p); err != nil {
			tb.Fatal(err)
		}
		ps = append(ps, p)
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return ps
}

// gz compresses lines, one per line.
func gz(tb testing.TB, lines ...string) []byte {
	tb.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	for _, l := range lines {
		zw.Write([]byte(l + "\n"))
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

func openStore(tb testing.TB) *features.BoltStore {
	tb.Helper()
	s, err := features.OpenBolt(filepath.Join(tb.TempDir(), "store", "profiles.bolt"), features.BoltOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// realStore is a store with the committed customers imported.
func realStore(tb testing.TB) *features.BoltStore {
	tb.Helper()
	s := openStore(tb)
	st, err := s.ImportIfChanged(context.Background(), realDir)
	if err != nil {
		tb.Fatal(err)
	}
	if st.Skipped || st.Profiles != 3970 {
		tb.Fatalf("import: %+v, want 3970 profiles imported", st)
	}
	return s
}

func TestBoltServesTheRealCustomers(t *testing.T) {
	ctx := context.Background()
	s := realStore(t)
	want := fileProfiles(t)
	for i := range want {
		got, err := s.Profile(ctx, want[i].ID)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, &want[i]) {
			t.Fatalf("customer %s: stored profile differs from the file:\n got %+v\nwant %+v", want[i].ID, got, want[i])
		}
	}
	p, err := s.Profile(ctx, "17850")
	if err != nil || p.ID != "17850" || p.Country != "United Kingdom" || len(p.Items) == 0 {
		t.Fatalf("Profile(17850) = %+v, %v", p, err)
	}
	m, err := s.Meta(ctx)
	if err != nil || m.Profiles != 3970 || len(m.SHA256) != 64 || m.ImportedAt.IsZero() ||
		!strings.HasSuffix(m.Source, features.CustomersFile) {
		t.Fatalf("Meta = %+v, %v", m, err)
	}

	// An id as the data set's files write it (CustomerID "17850.0"), or
	// with ASCII spaces around it, names the stored customer; no other
	// spelling of the number does.
	for _, id := range []string{"17850.0", " 17850 ", "17850.00", "\t17850.0\n"} {
		if p, err := s.Profile(ctx, id); err != nil || p.ID != "17850" || len(p.Items) == 0 {
			t.Errorf("Profile(%q) = %+v, %v; want customer 17850", id, p, err)
		}
	}
	for _, id := range []string{"99999", "99999.0", "", " ", "17850.5", "-17850", "17850a", "1785", "17850.", ".0",
		"017850", "1.785e4", "+17850", "17_850", "0x45BAp0", "17850.000000000001", "\u00a017850", "17850\u0085", "１７８５０"} {
		p, err := s.Profile(ctx, id)
		if !errors.Is(err, features.ErrNotFound) || p != nil {
			t.Errorf("Profile(%q) = %v, %v; want an error wrapping ErrNotFound", id, p, err)
		}
	}
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.Profile(canceled, "17850"); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled ctx: %v", err)
	}
}

func TestImportIfChangedSkipsAnUnchangedFile(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, features.CustomersFile)
	writeFile := func(b []byte) {
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(gz(t, `{"id":"1","country":"France","invoices":1}`, `{"id":"2","country":"Spain","invoices":2}`))
	dbPath := filepath.Join(t.TempDir(), "p.bolt")
	s, err := features.OpenBolt(dbPath, features.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if st, err := s.ImportIfChanged(ctx, dir); err != nil || st.Skipped || st.Profiles != 2 {
		t.Fatalf("first: %+v, %v", st, err)
	}
	if st, err := s.ImportIfChanged(ctx, dir); err != nil || !st.Skipped || st.Profiles != 2 {
		t.Fatalf("second: %+v, %v; want skipped", st, err)
	}
	// A restart: the file is unchanged, so nothing is imported.
	s.Close()
	if s, err = features.OpenBolt(dbPath, features.BoltOptions{}); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if st, err := s.ImportIfChanged(ctx, dir); err != nil || !st.Skipped {
		t.Fatalf("after restart: %+v, %v; want skipped", st, err)
	}
	// A changed file is imported, and replaces the old profiles.
	writeFile(gz(t, `{"id":"2","country":"Italy","invoices":3}`))
	if st, err := s.ImportIfChanged(ctx, dir); err != nil || st.Skipped || st.Profiles != 1 {
		t.Fatalf("changed: %+v, %v; want 1 profile imported", st, err)
	}
	if p, err := s.Profile(ctx, "2"); err != nil || p.Country != "Italy" {
		t.Errorf("Profile(2) = %+v, %v; want the new one", p, err)
	}
	if _, err := s.Profile(ctx, "1"); !errors.Is(err, features.ErrNotFound) {
		t.Errorf("Profile(1) after re-import: %v; want ErrNotFound", err)
	}
}

func TestImportFailureKeepsThePreviousProfiles(t *testing.T) {
	ctx := context.Background()
	good := `{"id":"1","country":"France","invoices":1,"items":[{"item":"A","invoices":1,"quantity":2,"last":"2011-01-02T03:04:05Z"}]}`
	full := gz(t, good, `{"id":"2"}`, `{"id":"3"}`, `{"id":"4"}`)
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	for _, tc := range []struct {
		name, want string
		src        []byte
		ctx        context.Context
	}{
		{"bad JSON", "bad.gz: line 3: invalid character", gz(t, `{"id":"5"}`, `{"id":"6"}`, `{"id" "7"}`), ctx},
		{"unknown field", `line 2: json: unknown field "colour"`, gz(t, `{"id":"5"}`, `{"id":"6","colour":"red"}`), ctx},
		{"empty id", "line 1: customer \"\": empty id", gz(t, `{"country":"UK"}`), ctx},
		{"empty line", "line 2: empty line", gz(t, `{"id":"5"}`, ``), ctx},
		{"duplicate", `line 2: customer "5": duplicate id`, gz(t, `{"id":"5"}`, `{"id":"5"}`), ctx},
		{"items out of order", `line 1: customer "5": item "A": items not in strictly ascending`,
			gz(t, `{"id":"5","items":[{"item":"B"},{"item":"A"}]}`), ctx},
		{"not gzip", "bad.gz: gzip: invalid header", []byte(`{"id":"5"}`), ctx},
		// The four lines arrive whole; the stream ends before its trailer.
		{"truncated gzip", "bad.gz: line 5: unexpected EOF", full[:len(full)-6], ctx},
		{"canceled", "context canceled", full, canceled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openStore(t)
			before, err := s.Import(ctx, bytes.NewReader(gz(t, good)), "good.gz")
			if err != nil {
				t.Fatal(err)
			}
			st, err := s.Import(tc.ctx, bytes.NewReader(tc.src), "bad.gz")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Import = %+v, %v; want an error containing %q", st, err, tc.want)
			}
			if p, err := s.Profile(ctx, "1"); err != nil || p.Items[0].Quantity != 2 {
				t.Errorf("previous profile: %+v, %v", p, err)
			}
			if _, err := s.Profile(ctx, "5"); !errors.Is(err, features.ErrNotFound) {
				t.Errorf("a profile of the failed import is visible: %v", err)
			}
			if m, err := s.Meta(ctx); err != nil || m.SHA256 != before.SHA256 || m.Source != "good.gz" {
				t.Errorf("meta after failure: %+v, %v; want the previous import's", m, err)
			}
		})
	}
}

func TestReadersDuringImport(t *testing.T) {
	ctx := context.Background()
	s := realStore(t)
	src, err := os.ReadFile(filepath.Join(realDir, features.CustomersFile))
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{"12347", "14911", "17850", "18287"}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	const readers = 2
	errs := make(chan error, readers)
	reads := make([]int, readers)
	for r := range readers {
		wg.Go(func() {
			for n := 0; ; n++ {
				select {
				case <-stop:
					reads[r] = n
					return
				default:
				}
				id := ids[(r+n)%len(ids)]
				p, err := s.Profile(ctx, id)
				if err == nil && p.ID != id {
					err = errors.New("wrong profile " + p.ID + " for " + id)
				}
				if err != nil {
					errs <- err
					reads[r] = n
					return
				}
			}
		})
	}
	// One import that commits, one that fails half-way and rolls back.
	if _, err := s.Import(ctx, bytes.NewReader(src), "again"); err != nil {
		t.Error(err)
	}
	if _, err := s.Import(ctx, bytes.NewReader(src[:len(src)/2]), "half"); err == nil {
		t.Error("half a file imported without error")
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("reader: %v", err)
	}
	t.Logf("reads by each reader during two imports: %v", reads)
}

func TestOpenBoltLockedFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.bolt")
	s, err := features.OpenBolt(path, features.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// flock is per open file: a second open, even in this process, waits
	// for the lock like another process would.
	_, err = features.OpenBolt(path, features.BoltOptions{LockTimeout: 50e6})
	if !errors.Is(err, features.ErrLocked) || !strings.Contains(err.Error(), path) {
		t.Fatalf("second open: %v; want ErrLocked naming the file", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Profile(context.Background(), "1"); !errors.Is(err, features.ErrClosed) {
		t.Errorf("Profile after Close: %v; want ErrClosed", err)
	}
	if _, err := s.Import(context.Background(), bytes.NewReader(gz(t)), "x"); !errors.Is(err, features.ErrClosed) {
		t.Errorf("Import after Close: %v; want ErrClosed", err)
	}
	s2, err := features.OpenBolt(path, features.BoltOptions{})
	if err != nil {
		t.Fatalf("open after Close: %v", err)
	}
	s2.Close()
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("file mode: %v, %v; want 0600", fi.Mode(), err)
	}
}

// BenchmarkBoltImport is a cold start: the real customers file into an
// empty store, fsync included.
func BenchmarkBoltImport(b *testing.B) {
	src, err := os.ReadFile(filepath.Join(realDir, features.CustomersFile))
	if err != nil {
		b.Fatal(err)
	}
	s := openStore(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Import(context.Background(), bytes.NewReader(src), "real"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBoltRestartUnchanged is a warm start: open the store file and
// find the customers file unchanged.
func BenchmarkBoltRestartUnchanged(b *testing.B) {
	path := filepath.Join(b.TempDir(), "p.bolt")
	s, err := features.OpenBolt(path, features.BoltOptions{})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := s.ImportIfChanged(context.Background(), realDir); err != nil {
		b.Fatal(err)
	}
	s.Close()
	b.ReportAllocs()
	for b.Loop() {
		s, err := features.OpenBolt(path, features.BoltOptions{})
		if err != nil {
			b.Fatal(err)
		}
		st, err := s.ImportIfChanged(context.Background(), realDir)
		if err != nil || !st.Skipped {
			b.Fatalf("%+v, %v", st, err)
		}
		s.Close()
	}
}

// BenchmarkBoltProfile reads every real customer in turn.
func BenchmarkBoltProfile(b *testing.B) {
	s := realStore(b)
	ps := fileProfiles(b)
	ctx := context.Background()
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		if _, err := s.Profile(ctx, ps[n%len(ps)].ID); err != nil {
			b.Fatal(err)
		}
		n++
	}
}
