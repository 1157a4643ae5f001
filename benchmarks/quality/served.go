package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/tailorhq/tailor/fallback"
	"github.com/tailorhq/tailor/features"
	"github.com/tailorhq/tailor/model"
	"github.com/tailorhq/tailor/recommend"
	"github.com/tailorhq/tailor/trainer"
)

// served is the recommendation flow exactly as the server runs it, over the
// models and features of a training run written to a temporary directory
// and loaded back: ONNX Runtime sessions, the bbolt store, the breakers, the
// uncertainty gate and the rule chain.
type served struct {
	svc   *recommend.Service
	dir   string // models/ and features/ as the server reads them
	close func()

	mu      sync.Mutex
	answers map[string][]string // by answerKey, for overHTTP to compare with
}

// evalModelTimeout is the deadline of each model call in the evaluation,
// in process and in the server it starts.
const evalModelTimeout = 10 * time.Second

// answerKey names one question: a customer in a mode.
func answerKey(customer, mode string) string { return mode + "\x00" + customer }

// answer returns the flow's answer to the question key, if it was asked.
func (s *served) answer(key string) ([]string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids, ok := s.answers[key]
	return ids, ok
}

func newServed(ctx context.Context, m *trainer.Models, ownOrderWeight float64, log *slog.Logger) (_ *served, err error) {
	dir, err := os.MkdirTemp("", "tailor-quality-")
	if err != nil {
		return nil, err
	}
	var closers []func() error
	s := &served{dir: dir, answers: make(map[string][]string), close: func() {
		for i := len(closers) - 1; i >= 0; i-- {
			_ = closers[i]()
		}
		os.RemoveAll(dir)
	}}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	cfArt, propArt, err := m.Build()
	if err != nil {
		return nil, err
	}
	files, err := m.FeatureFiles()
	if err != nil {
		return nil, err
	}
	modelsDir, featuresDir := filepath.Join(dir, "models"), filepath.Join(dir, "features")
	for name, b := range files {
		if err := trainer.WriteFile(filepath.Join(featuresDir, name), b); err != nil {
			return nil, err
		}
	}
	for _, a := range []*trainer.Artifact{cfArt, propArt} {
		if err := trainer.WriteFile(filepath.Join(modelsDir, a.File), a.ONNX); err != nil {
			return nil, err
		}
	}
	items, err := features.LoadItems(ctx, featuresDir)
	if err != nil {
		return nil, err
	}
	reg, err := model.LoadRegistry(ctx, modelsDir, model.RegistryOptions{CatalogIDs: items.IDs()})
	if err != nil {
		return nil, err
	}
	closers = append(closers, reg.Close)
	store, err := features.OpenBolt(filepath.Join(dir, "profiles.db"), features.BoltOptions{})
	if err != nil {
		return nil, err
	}
	closers = append(closers, store.Close)
	if _, err := store.ImportIfChanged(ctx, featuresDir); err != nil {
		return nil, err
	}
	// The server's defaults (cmd/serve): breakers, gate and rules, but a
	// model deadline of evalModelTimeout instead of 50 ms: an offline run
	// measures answers, and a deadline missed on a busy machine would change
	// one. Recency is measured at the cut, as the server measures it at the
	// model's data end.
	breaker := func(name string) *fallback.Breaker {
		return fallback.NewBreaker(name, fallback.BreakerConfig{Timeout: evalModelTimeout}, fallback.Hooks{})
	}
	cut := m.Cut
	s.svc, err = recommend.New(recommend.Config{Now: func() time.Time { return cut }, Uncertainty: fallback.Uncertainty{MinHistoryItems: 1},
		OwnOrderWeight: ownOrderWeight},
		recommend.Deps{
			Items: items, Profiles: store, CF: reg.CF(), Propensity: reg.Propensity(),
			CFBreaker: breaker("cf"), PropensityBreaker: breaker("propensity"),
			Rules: fallback.DefaultChain(func(c string) []int {
				if l, own := items.PopularInCountry(c); own {
					return l
				}
				return nil
			}, items.Popular()),
			Log: log,
		})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Recommend implements evaluate.Recommender through the served flow: the
// all-items task asks in mode auto, the new-items task (which skips what the
// customer bought before the cut) in mode discover.
func (s *served) Recommend(customer string, k int, skip func(item string) bool) []string {
	req := recommend.Request{UserID: customer, K: k, Mode: recommend.ModeAuto}
	if skip != nil {
		req.Mode = recommend.ModeDiscover
	}
	resp, err := s.svc.Recommend(context.Background(), req)
	if err != nil {
		panic(fmt.Sprintf("served flow: %v", err)) // only a cancelled context errors, and this one never is
	}
	ids := make([]string, 0, len(resp.Items))
	for _, it := range resp.Items {
		if skip != nil && skip(it.ID) {
			panic(errors.New("discover mode returned an item bought before the cut"))
		}
		ids = append(ids, it.ID)
	}
	s.mu.Lock()
	s.answers[answerKey(customer, string(req.Mode))] = ids
	s.mu.Unlock()
	return ids
}
