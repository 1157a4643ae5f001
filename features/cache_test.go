package features_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tailorhq/tailor/features"
)

// countingStore counts the lookups that reach the store behind the cache.
type countingStore struct {
	next  features.ProfileStore
	calls atomic.Int64
}

func (s *countingStore) Profile(ctx context.Context, id string) (*features.CustomerProfile, error) {
	s.calls.Add(1)
	return s.next.Profile(ctx, id)
}

// mapStore serves profiles from memory.
type mapStore map[string]*features.CustomerProfile

func (s mapStore) Profile(_ context.Context, id string) (*features.CustomerProfile, error) {
	if p, ok := s[id]; ok {
		return p, nil
	}
	return nil, fmt.Errorf("customer %q: %w", id, features.ErrNotFound)
}

// realMapStore holds the first n real profiles.
func realMapStore(tb testing.TB, n int) (mapStore, []string) {
	tb.Helper()
	ps := fileProfiles(tb)[:n]
	m := make(mapStore, n)
	ids := make([]string, n)
	for i := range ps {
		m[ps[i].ID] = &ps[i]
		ids[i] = ps[i].ID
	}
	return m, ids
}

// failingStore fails every lookup with err.
type failingStore struct{ err error }

func (s failingStore) Profile(context.Context, string) (*features.CustomerProfile, error) {
	return nil, s.err
}

func newCached(tb testing.TB, next features.ProfileStore, opts features.CacheOptions) *features.Cached {
	tb.Helper()
	c, err := features.NewCached(next, opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(c.Close)
	return c
}

// lookup calls ProfileWithHit and fails on an error other than ErrNotFound.
func lookup(tb testing.TB, c *features.Cached, id string) (*features.CustomerProfile, bool, error) {
	tb.Helper()
	p, hit, err := c.ProfileWithHit(context.Background(), id)
	if err != nil && !errors.Is(err, features.ErrNotFound) {
		tb.Fatalf("ProfileWithHit(%q): %v", id, err)
	}
	return p, hit, err
}

func TestCachedHitAfterMissAndNegativeCaching(t *testing.T) {
	store := &countingStore{next: realStore(t)}
	c := newCached(t, store, features.CacheOptions{})

	p1, hit, err := lookup(t, c, "17850")
	if hit || err != nil || p1.ID != "17850" {
		t.Fatalf("first lookup: hit=%v err=%v; want a miss that finds the profile", hit, err)
	}
	c.Wait() // ristretto applies sets asynchronously
	p2, hit, _ := lookup(t, c, "17850")
	if !hit || p2 != p1 {
		t.Fatalf("second lookup: hit=%v, same profile=%v; want a hit on the cached pointer", hit, p2 == p1)
	}

	// An unknown customer reaches the store once, then is a cached miss.
	for i := range 3 {
		_, hit, err := lookup(t, c, "00000")
		if !errors.Is(err, features.ErrNotFound) || hit != (i > 0) {
			t.Fatalf("unknown lookup %d: hit=%v err=%v", i, hit, err)
		}
		c.Wait()
	}
	if n := store.calls.Load(); n != 2 {
		t.Errorf("store calls = %d, want 2 (one per id)", n)
	}
	m := c.Metrics()
	if m.Hits != 3 || m.Misses != 2 || m.Ratio != 0.6 || m.Cost <= 0 || m.MaxCost != 64<<20 {
		t.Errorf("Metrics = %+v; want 3 hits, 2 misses, ratio 0.6, some cost of 64 MiB", m)
	}
	c.Close()
	if _, err := store.Profile(context.Background(), "17850"); err != nil {
		t.Errorf("Close closed the store behind the cache: %v", err)
	}
}

func TestCachedDoesNotCacheFailures(t *testing.T) {
	boom := errors.New("store down")
	c := newCached(t, failingStore{boom}, features.CacheOptions{})
	for range 2 {
		_, hit, err := c.ProfileWithHit(context.Background(), "17850")
		if !errors.Is(err, boom) || hit {
			t.Fatalf("hit=%v err=%v; want the store's error, not from the cache", hit, err)
		}
		c.Wait()
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Profile(ctx, "17850"); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled ctx: %v", err)
	}
	if m := c.Metrics(); m.Misses != 2 || m.Hits != 0 {
		t.Errorf("Metrics = %+v; want 2 misses", m)
	}
}

// ristretto reads the wall clock and offers no clock to inject, so the TTL
// test uses a tiny TTL and polls, with a deadline, until the entry is gone.
func TestCachedTTLExpiry(t *testing.T) {
	store := mapStore{"17850": {ID: "17850"}}
	const ttl = 30 * time.Millisecond
	c := newCached(t, store, features.CacheOptions{TTL: ttl, NegativeTTL: ttl})
	for _, id := range []string{"17850", "00000"} {
		lookup(t, c, id)
		c.Wait()
		deadline := time.Now().Add(5 * time.Second)
		for {
			_, hit, _ := lookup(t, c, id)
			if !hit {
				break // expired: the store answered again
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: still cached 5 s after a TTL of %s", id, ttl)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}

func TestCachedRespectsMaxCost(t *testing.T) {
	store, ids := realMapStore(t, 300)
	const maxCost = 100_000 // about 20 profiles
	c := newCached(t, store, features.CacheOptions{MaxCost: maxCost})
	for i, id := range ids {
		lookup(t, c, id)
		c.Wait()
		if m := c.Metrics(); m.Cost > maxCost {
			t.Fatalf("after %d profiles the cache holds %d > MaxCost %d", i+1, m.Cost, maxCost)
		}
	}
	m := c.Metrics()
	if m.Evicted+m.Rejected == 0 {
		t.Errorf("Metrics = %+v; want evictions or rejections", m)
	}
	hits := 0
	for _, id := range ids {
		if _, hit, _ := lookup(t, c, id); hit {
			hits++
		}
	}
	if hits >= len(ids)/2 {
		t.Errorf("%d of %d profiles still cached under a %d-byte bound", hits, len(ids), maxCost)
	}
	t.Logf("%+v; %d of %d still cached", m, hits, len(ids))
}

func TestCachedCloseStopsItsGoroutines(t *testing.T) {
	store, _ := realMapStore(t, 50)
	before := runtime.NumGoroutine()
	c, err := features.NewCached(store, features.CacheOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Lookups race with Close: none may panic, each either answers or
	// fails with ErrClosed.
	var wg sync.WaitGroup
	for r := range 2 {
		wg.Go(func() {
			for n := 0; ; n++ {
				_, err := c.Profile(context.Background(), fmt.Sprint(12346+(r+n)%100))
				if errors.Is(err, features.ErrClosed) {
					return
				}
				if err != nil && !errors.Is(err, features.ErrNotFound) {
					t.Error(err)
					return
				}
			}
		})
	}
	time.Sleep(10 * time.Millisecond) // let the lookups run; not an assertion
	c.Close()
	c.Close() // a second Close is harmless
	wg.Wait()
	if _, err := c.Profile(context.Background(), "17850"); !errors.Is(err, features.ErrClosed) {
		t.Errorf("after Close: %v; want ErrClosed", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines after Close, %d before NewCached", runtime.NumGoroutine(), before)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestNewCachedRefusesBadOptions(t *testing.T) {
	if _, err := features.NewCached(nil, features.CacheOptions{}); err == nil {
		t.Error("nil store accepted")
	}
	for _, o := range []features.CacheOptions{{MaxCost: -1}, {TTL: -1}, {NegativeTTL: -1}} {
		if _, err := features.NewCached(failingStore{}, o); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
}

// BenchmarkCachedProfileHit reads every real customer in turn from a warm
// cache in front of the real store.
func BenchmarkCachedProfileHit(b *testing.B) {
	c := newCached(b, realStore(b), features.CacheOptions{})
	ps := fileProfiles(b)
	for i := range ps {
		lookup(b, c, ps[i].ID)
	}
	c.Wait()
	m := c.Metrics()
	b.Logf("%d profiles cached: cost %d bytes (%d per profile)", len(ps), m.Cost, m.Cost/int64(len(ps)))
	ctx := context.Background()
	b.ReportAllocs()
	n, misses := 0, 0
	for b.Loop() {
		_, hit, err := c.ProfileWithHit(ctx, ps[n%len(ps)].ID)
		if err != nil {
			b.Fatal(err)
		}
		if !hit {
			misses++
		}
		n++
	}
	b.ReportMetric(float64(misses)/float64(n), "misses/op")
}
