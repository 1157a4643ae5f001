package features

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/dgraph-io/ristretto/v2"
)

// CacheOptions configure NewCached. Zero fields take the defaults.
type CacheOptions struct {
	// MaxCost bounds the cache in approximate bytes (profiles as sized by
	// profileCost, plus ristretto's own per-entry overhead). Default 64 MiB;
	// the shipped 3,970 profiles cost about 19 MB together (5 KB on average).
	MaxCost int64
	// TTL is how long a profile stays cached. Default 10 minutes. It bounds
	// how stale a profile can be after the store is re-imported.
	TTL time.Duration
	// NegativeTTL is how long "no such customer" stays cached. Default 1
	// minute. It bounds how long a customer added by a re-import stays
	// unknown.
	NegativeTTL time.Duration
}

// CacheStats are the cache's counters since NewCached, for Prometheus.
type CacheStats struct {
	Hits     uint64  // lookups answered by the cache, profiles and known misses
	Misses   uint64  // lookups that went to the store
	Ratio    float64 // Hits / (Hits + Misses); 0 before the first lookup
	Cost     int64   // cost (≈ bytes) held now
	MaxCost  int64
	Evicted  uint64 // entries evicted for room or removed after their TTL
	Rejected uint64 // new entries the admission policy (TinyLFU) turned away
}

// Cached is a ristretto cache in front of a ProfileStore. It caches profiles
// for TTL and unknown customers for NegativeTTL, so a flood of unknown ids
// does not reach the store each time (concurrent misses for one id do reach
// it: there is no request coalescing). It is itself a ProfileStore. Safe for
// concurrent use.
//
// A hit returns the cached pointer: every caller shares it, so profiles are
// read-only. ristretto applies new entries asynchronously (a Set becomes
// visible a little later, and may be dropped under contention or refused by
// the admission policy): that is fine in production, where a dropped entry is
// only a later miss; tests call Wait to make their sets visible.
type Cached struct {
	next   ProfileStore
	cache  *ristretto.Cache[string, *CustomerProfile] // nil value: a known miss
	ttl    time.Duration
	negTTL time.Duration

	hits, misses, evicted, rejected atomic.Uint64
	closing                         atomic.Bool // Close's own clearing is not eviction

	// mu orders Close after every cache call in flight: ristretto panics on
	// a Set that races with Close.
	mu     sync.RWMutex
	closed bool
}

// NewCached puts a cache in front of next. Close stops its goroutines; it
// does not close next.
func NewCached(next ProfileStore, opts CacheOptions) (*Cached, error) {
	if next == nil {
		return nil, errors.New("features: cache: nil store")
	}
	if opts.MaxCost < 0 || opts.TTL < 0 || opts.NegativeTTL < 0 {
		return nil, fmt.Errorf("features: cache: negative option in %+v", opts)
	}
	if opts.MaxCost == 0 {
		opts.MaxCost = 64 << 20
	}
	if opts.TTL == 0 {
		opts.TTL = 10 * time.Minute
	}
	if opts.NegativeTTL == 0 {
		opts.NegativeTTL = time.Minute
	}
	c := &Cached{next: next, ttl: opts.TTL, negTTL: opts.NegativeTTL}
	// ristretto advises 10 counters per entry the cache holds when full; a
	// profile costs about 5 KB on average, a known miss under 40 bytes.
	counters := min(max(10*opts.MaxCost/4096, 1000), 10_000_000)
	cache, err := ristretto.NewCache(&ristretto.Config[string, *CustomerProfile]{
		NumCounters: counters,
		MaxCost:     opts.MaxCost,
		BufferItems: 64,
		OnEvict: func(*ristretto.Item[*CustomerProfile]) {
			if !c.closing.Load() {
				c.evicted.Add(1)
			}
		},
		OnReject: func(*ristretto.Item[*CustomerProfile]) { c.rejected.Add(1) },
	})
	if err != nil {
		return nil, fmt.Errorf("features: cache: %w", err)
	}
	c.cache = cache
	return c, nil
}

// Profile implements ProfileStore.
func (c *Cached) Profile(ctx context.Context, id string) (*CustomerProfile, error) {
	p, _, err := c.ProfileWithHit(ctx, id)
	return p, err
}

// ProfileWithHit is Profile that also says whether the cache answered
// (hit), for the caller's span. A cached "not found" is a hit that returns
// an error wrapping ErrNotFound. Errors other than ErrNotFound are not
// cached.
func (c *Cached) ProfileWithHit(ctx context.Context, id string) (p *CustomerProfile, hit bool, err error) {
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	c.mu.RLock()
	if c.closed {
		c.mu.RUnlock()
		return nil, false, fmt.Errorf("features: cache: %w", ErrClosed)
	}
	p, hit = c.cache.Get(id)
	c.mu.RUnlock()
	if hit {
		c.hits.Add(1)
		if p == nil {
			return nil, true, notFound(id)
		}
		return p, true, nil
	}
	c.misses.Add(1)
	p, err = c.next.Profile(ctx, id)
	switch {
	case err == nil && p != nil:
		c.set(id, p, profileCost(p), c.ttl)
	case errors.Is(err, ErrNotFound):
		c.set(id, nil, negativeCost(id), c.negTTL)
	case err == nil: // a store that breaks the contract: treat as unknown
		return nil, false, notFound(id)
	}
	return p, false, err
}

func (c *Cached) set(id string, p *CustomerProfile, cost int64, ttl time.Duration) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if !c.closed {
		c.cache.SetWithTTL(id, p, cost, ttl)
	}
}

// Wait blocks until every set so far is applied. Tests call it after a miss
// to make the entry visible; production does not need to.
func (c *Cached) Wait() {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if !c.closed {
		c.cache.Wait()
	}
}

// Metrics returns the counters.
func (c *Cached) Metrics() CacheStats {
	s := CacheStats{
		Hits:     c.hits.Load(),
		Misses:   c.misses.Load(),
		Evicted:  c.evicted.Load(),
		Rejected: c.rejected.Load(),
	}
	if n := s.Hits + s.Misses; n > 0 {
		s.Ratio = float64(s.Hits) / float64(n)
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	if !c.closed {
		s.MaxCost = c.cache.MaxCost()
		s.Cost = s.MaxCost - c.cache.RemainingCost()
	}
	return s
}

// Close empties the cache and stops ristretto's goroutines; it waits for
// cache calls in flight, not for store calls. Later lookups fail with
// ErrClosed. Safe to call more than once.
func (c *Cached) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	c.closed = true
	c.closing.Store(true)
	c.cache.Close()
}

// Approximate in-memory sizes, for the cache's cost.
const (
	profileSize = int64(unsafe.Sizeof(CustomerProfile{}))
	historySize = int64(unsafe.Sizeof(ItemHistory{}))
	// mapEntrySize is a map[string]float64 entry: key header, value, and
	// about half as much again for the table.
	mapEntrySize = (16 + 8) * 3 / 2
)

// profileCost approximates the bytes p holds. The strings of a profile that
// BoltStore decoded share one backing string, which also holds each item's
// counts and time (about 12 bytes) and each category's share (8): counted
// too, since they stay alive with the strings.
func profileCost(p *CustomerProfile) int64 {
	n := profileSize + int64(len(p.ID)+len(p.Country))
	n += int64(cap(p.Items))*historySize + int64(len(p.Items))*12
	for _, h := range p.Items {
		n += int64(len(h.Item))
	}
	for k := range p.Categories {
		n += mapEntrySize + 8 + int64(len(k))
	}
	return n
}

// negativeCost approximates a cached "not found": the key and the entry.
func negativeCost(id string) int64 { return 16 + int64(len(id)) }
