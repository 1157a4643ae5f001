package recommend_test

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/tailorhq/tailor/fallback"
	"github.com/tailorhq/tailor/features"
	"github.com/tailorhq/tailor/model"
	"github.com/tailorhq/tailor/model/ortest"
	"github.com/tailorhq/tailor/recommend"
)

// BenchmarkRecommend measures the whole flow in-process on the real models
// and data (store and cache included), without HTTP.
func BenchmarkRecommend(b *testing.B) {
	ortest.Init(b)
	ctx := context.Background()
	items, err := features.LoadItems(ctx, "../data/features")
	if err != nil {
		b.Fatal(err)
	}
	reg, err := model.LoadRegistry(ctx, "../models", model.RegistryOptions{CatalogIDs: items.IDs()})
	if err != nil {
		b.Fatal(err)
	}
	defer reg.Close()
	store, err := features.OpenBolt(filepath.Join(b.TempDir(), "p.db"), features.BoltOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	if _, err := store.ImportIfChanged(ctx, "../data/features"); err != nil {
		b.Fatal(err)
	}
	cache, err := features.NewCached(store, features.CacheOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer cache.Close()
	ref := time.Date(2011, 11, 1, 0, 0, 0, 0, time.UTC)
	svc, err := recommend.New(recommend.Config{Now: func() time.Time { return ref }}, recommend.Deps{
		Items: items, Profiles: cache, CF: reg.CF(), Propensity: reg.Propensity(),
		CFBreaker:         fallback.NewBreaker("cf", fallback.BreakerConfig{Timeout: time.Second}, fallback.Hooks{}),
		PropensityBreaker: fallback.NewBreaker("propensity", fallback.BreakerConfig{Timeout: time.Second}, fallback.Hooks{}),
		Rules:             fallback.DefaultChain(func(string) []int { return nil }, items.Popular()),
		Log:               slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		b.Fatal(err)
	}
	// mixed cycles through every known customer in a shuffled order, as the
	// load generator does (30% discover, an unknown id after every nine), so
	// that each request finds its customer's data cold in the CPU's caches.
	mixed := mixedRequests(b)
	b.Run("mixed", func(b *testing.B) {
		// One untimed pass first, so that every profile is in the cache as
		// in a server that has seen its customers (a cold profile costs a
		// store read and a decode on top).
		for _, req := range mixed {
			if _, err := svc.Recommend(ctx, req); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportAllocs()
		cpu0 := cpuTime()
		i := 0
		for b.Loop() {
			if _, err := svc.Recommend(ctx, mixed[i%len(mixed)]); err != nil {
				b.Fatal(err)
			}
			i++
		}
		b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
	})
	for _, tc := range []struct {
		name string
		req  recommend.Request
	}{
		{"known", recommend.Request{UserID: "17850", K: 10}},
		{"discover", recommend.Request{UserID: "12347", K: 10, Mode: recommend.ModeDiscover}},
		{"unknown", recommend.Request{UserID: "nobody", K: 10}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			cpu0 := cpuTime()
			for b.Loop() {
				if _, err := svc.Recommend(ctx, tc.req); err != nil {
					b.Fatal(err)
				}
			}
			// The process's CPU time per call: other processes on a shared
			// machine disturb it much less than the wall time.
			b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// mixedRequests are the load generator's request mix over the shipped
// customers: each once, shuffled, 30% in discover mode, and an unknown id
// after every nine.
func mixedRequests(b *testing.B) []recommend.Request {
	f, err := os.Open("../data/features/customers.jsonl.gz")
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		b.Fatal(err)
	}
	var reqs []recommend.Request
	rng := rand.New(rand.NewPCG(1, 2))
	for dec := json.NewDecoder(zr); ; {
		var c struct {
			ID string `json:"id"`
		}
		if err := dec.Decode(&c); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			b.Fatal(err)
		}
		mode := recommend.ModeAuto
		if rng.IntN(10) < 3 {
			mode = recommend.ModeDiscover
		}
		reqs = append(reqs, recommend.Request{UserID: c.ID, K: 10, Mode: mode})
		if len(reqs)%10 == 9 {
			reqs = append(reqs, recommend.Request{UserID: "unknown-" + c.ID, K: 10})
		}
	}
	rng.Shuffle(len(reqs), func(i, j int) { reqs[i], reqs[j] = reqs[j], reqs[i] })
	return reqs
}
