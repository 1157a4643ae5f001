package fallback

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestBreakerConcurrent is meant for -race: many callers, cancellations and
// State readers at once.
// Transition times come from a strictly increasing clock read under
// gobreaker's lock, so sorting by At restores the order of the changes.
// gobreaker times OpenFor by the wall clock, so a refused caller waits past
// OpenFor before its next call: on a fast machine the whole loop can
// otherwise finish inside one OpenFor and the breaker never cycles (it failed
// CI that way). The next call, or the final Do, then finds it half-open.
func TestBreakerConcurrent(t *testing.T) {
	var tick atomic.Int64
	now := func() time.Time { return time.Unix(0, tick.Add(1)) }
	rec := &recorder{}
	const openFor = 250 * time.Microsecond
	b := NewBreaker("cf", BreakerConfig{ConsecutiveFailures: 3, OpenFor: openFor, HalfOpenRequests: 2, Now: now},
		Hooks{OnTransition: rec.hook})
	var wg sync.WaitGroup
	var opened atomic.Int64
	for g := range 8 {
		wg.Go(func() {
			for i := range 300 {
				ctx, cancel := context.WithCancel(t.Context())
				err := b.Do(ctx, func(context.Context) error {
					switch (g + i) % 5 {
					case 0, 1, 2:
						return errModel
					case 3:
						cancel()
						return context.Canceled
					}
					return nil
				})
				cancel()
				if errors.Is(err, ErrOpen) {
					opened.Add(1)
					time.Sleep(2 * openFor)
				}
				_ = b.State()
			}
		})
	}
	wg.Wait()
	_ = b.Do(t.Context(), func(context.Context) error { return nil }) // hand over anything queued
	rec.mu.Lock()
	ts := append([]Transition(nil), rec.ts...)
	rec.mu.Unlock()
	for i := 1; i < len(ts); i++ {
		for j := i; j > 0 && ts[j].At.Before(ts[j-1].At); j-- {
			ts[j], ts[j-1] = ts[j-1], ts[j]
		}
	}
	from := "closed"
	for i, tr := range ts {
		if tr.From != from || tr.To == tr.From {
			t.Fatalf("transition %d: %s→%s after reaching %s", i, tr.From, tr.To, from)
		}
		from = tr.To
	}
	if len(ts) < 2 || opened.Load() == 0 {
		t.Fatalf("%d transitions, %d calls refused: the breaker never cycled", len(ts), opened.Load())
	}
	t.Logf("%d transitions, %d calls refused while open", len(ts), opened.Load())
}

// BenchmarkBreakerDo is the overhead a breaker adds to each model call.
func BenchmarkBreakerDo(b *testing.B) {
	br := NewBreaker("cf", BreakerConfig{}, Hooks{OnTransition: func(context.Context, Transition) {}})
	fn := func(context.Context) error { return nil }
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		if err := br.Do(ctx, fn); err != nil {
			b.Fatal(err)
		}
	}
}
