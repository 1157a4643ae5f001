package recommend_test

import (
	"context"
	"io"
	"log/slog"
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
