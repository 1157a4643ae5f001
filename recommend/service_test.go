package recommend_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tailorhq/tailor/catalog"
	"github.com/tailorhq/tailor/fallback"
	"github.com/tailorhq/tailor/features"
	"github.com/tailorhq/tailor/propensity"
	"github.com/tailorhq/tailor/recommend"
	"github.com/tailorhq/tailor/telemetry"
)

// world is a tiny shop: 8 items, two categories, one regular customer.
type world struct {
	items     []catalog.Item
	stats     []features.ItemStats
	countries map[string][]int // the countries' own popular lists; none by default
}

func newWorld() *world {
	w := &world{}
	for j := 0; j < 8; j++ {
		cat := "kitchen & dining"
		if j%2 == 1 {
			cat = "bags"
		}
		id := fmt.Sprintf("1000%d", j+1)
		w.items = append(w.items, catalog.Item{ID: id, Title: "ITEM " + id, Price: float64(j + 1), Category: cat, Buyers: 100 - j, Orders: 200 - j})
		w.stats = append(w.stats, features.ItemStats{Item: id, Category: cat, Price: float64(j + 1), Buyers: 100 - j, RecentBuyers: 40 - j})
	}
	return w
}

func (w *world) Len() int                        { return len(w.items) }
func (w *world) ID(j int) string                 { return w.items[j].ID }
func (w *world) Catalog(j int) catalog.Item      { return w.items[j] }
func (w *world) Stats(j int) *features.ItemStats { return &w.stats[j] }
func (w *world) Popular() []int { // in index order
	out := make([]int, len(w.items))
	for j := range out {
		out[j] = j
	}
	return out
}
func (w *world) PopularIn(country string) []int { return w.countries[country] }
func (w *world) Country(name string) string     { return strings.TrimSpace(name) }
func (w *world) Index(id string) (int, bool) {
	for j, it := range w.items {
		if it.ID == id {
			return j, true
		}
	}
	return 0, false
}

var now = time.Date(2011, 11, 1, 0, 0, 0, 0, time.UTC)

type profiles map[string]*features.CustomerProfile

func (p profiles) Profile(_ context.Context, id string) (*features.CustomerProfile, error) {
	if c, ok := p[id]; ok {
		return c, nil
	}
	if id == "store-down" {
		return nil, errors.New("bbolt: database not open")
	}
	return nil, fmt.Errorf("customer %q: %w", id, features.ErrNotFound)
}

func regular() *features.CustomerProfile {
	return &features.CustomerProfile{ID: "c1", Country: "United Kingdom", Invoices: 6, Spend: 100, Last: now.AddDate(0, 0, -10),
		Categories: map[string]float64{"kitchen & dining": 0.8, "bags": 0.2},
		Items: []features.ItemHistory{
			{Item: "10001", Invoices: 3, Quantity: 12, Last: now.AddDate(0, 0, -10)},
			{Item: "10002", Invoices: 1, Quantity: 2, Last: now.AddDate(0, -2, 0)},
			{Item: "10003", Invoices: 2, Quantity: 6, Last: now.AddDate(0, -1, 0)},
		}}
}

// cfModel is an injected CF runner: it scores item j as 8−j plus the
// customer's own items, and can be made to fail, hang or emit NaN. In mode
// "co" it is an item-item model instead: each item scores the summed weights
// of the other items of its category (even and odd indices), plus a small
// popularity prior.
type cfModel struct {
	mode  atomic.Value // "", "fail", "nan", "slow", "flat", "co"
	calls atomic.Int64
}

func (m *cfModel) NameVersion() string { return "cf@test" }
func (m *cfModel) Score(ctx context.Context, x []float32) ([]float32, error) {
	m.calls.Add(1)
	out := make([]float32, len(x))
	for j := range out {
		out[j] = float32(8-j) + 2*x[j]
	}
	switch m.mode.Load() {
	case "fail":
		return nil, errors.New("session exploded")
	case "nan":
		out[3] = float32(math.NaN())
	case "slow":
		<-ctx.Done()
		return nil, ctx.Err()
	case "flat":
		for j := range out {
			out[j] = 1
		}
	case "co":
		for j := range out {
			out[j] = 0.01 * float32(8-j)
			for i, w := range x {
				if i != j && i%2 == j%2 {
					out[j] += w
				}
			}
		}
	}
	return out, nil
}

// prop is the real Go logistic model with hand-set weights: CF score and
// buy-again push an item up.
type prop struct {
	m    *propensity.Model
	fail atomic.Bool
}

func newProp() *prop {
	names := features.Names()
	w := make([]float32, len(names))
	w[slices.Index(names, "cf_score")] = 3
	w[slices.Index(names, "bought_before")] = 1
	return &prop{m: &propensity.Model{Features: names, Weights: w, Bias: -2}}
}
func (p *prop) FeatureNames() []string { return p.m.Features }
func (p *prop) NameVersion() string    { return "propensity@test" }
func (p *prop) Predict(_ context.Context, rows []float32, n int) ([]float32, error) {
	if p.fail.Load() {
		return nil, errors.New("propensity exploded")
	}
	out := make([]float32, n)
	p.m.Predict(rows, out)
	return out, nil
}

type fixture struct {
	svc      *recommend.Service
	cf       *cfModel
	prop     *prop
	cfBreak  *fallback.Breaker
	profiles profiles
}

// cfBreaker is the fixture's CF breaker configuration. Its deadline is one
// no healthy call can miss however slow the machine, so a test that wants a
// model answer gets one; a test of a slow model shortens it. OpenFor runs on
// the wall clock: it must outlast the requests a test sends to an open
// breaker, and a test that waits for it to end polls.
var cfBreaker = fallback.BreakerConfig{Timeout: time.Minute, OpenFor: 500 * time.Millisecond, ConsecutiveFailures: 3}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	return newFixtureWith(t, newWorld(), cfBreaker)
}

// newFixtureOf builds the Service over the shop w.
func newFixtureOf(t *testing.T, w *world) *fixture {
	t.Helper()
	return newFixtureWith(t, w, cfBreaker)
}

// newFixtureWith builds the Service over the shop w, its CF breaker
// configured by cfg.
func newFixtureWith(t *testing.T, w *world, cfg fallback.BreakerConfig) *fixture {
	t.Helper()
	f := &fixture{cf: &cfModel{}, prop: newProp(), profiles: profiles{"c1": regular(),
		"thin": {ID: "thin", Country: "France", Invoices: 1, Items: []features.ItemHistory{{Item: "10008", Invoices: 1, Last: now}}}}}
	f.cf.mode.Store("")
	f.cfBreak = fallback.NewBreaker("cf", cfg, fallback.Hooks{})
	svc, err := recommend.New(recommend.Config{Now: func() time.Time { return now }, Uncertainty: fallback.Uncertainty{MinHistoryItems: 2}},
		recommend.Deps{Items: w, Profiles: f.profiles, CF: f.cf, Propensity: f.prop, CFBreaker: f.cfBreak,
			PropensityBreaker: fallback.NewBreaker("propensity", fallback.BreakerConfig{Timeout: time.Minute}, fallback.Hooks{}),
			Rules:             fallback.DefaultChain(w.PopularIn, w.Popular()), Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	f.svc = svc
	return f
}

func ids(r recommend.Response) []string {
	out := make([]string, len(r.Items))
	for i, it := range r.Items {
		out[i] = it.ID
	}
	return out
}

func TestModelAnswer(t *testing.T) {
	f := newFixture(t)
	maxPrice := 6.0
	for _, tc := range []struct {
		name string
		req  recommend.Request
		want []string
	}{
		// CF favours low indices and own items; propensity adds buy-again.
		{"auto", recommend.Request{UserID: "c1", K: 4}, []string{"10001", "10002", "10003", "10004"}},
		{"discover never repeats a purchase", recommend.Request{UserID: "c1", K: 3, Mode: recommend.ModeDiscover}, []string{"10004", "10005", "10006"}},
		{"buy again only repeats", recommend.Request{UserID: "c1", K: 5, Mode: recommend.ModeBuyAgain}, []string{"10001", "10002", "10003"}},
		{"filters", recommend.Request{UserID: "c1", K: 10, Filters: recommend.Filters{Exclude: []string{"10001"}, MaxPrice: &maxPrice, Categories: []string{"bags"}}}, []string{"10002", "10004", "10006"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := f.svc.Recommend(context.Background(), tc.req)
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(resp); !slices.Equal(got, tc.want) {
				t.Errorf("items %v, want %v", got, tc.want)
			}
			if resp.Degraded || resp.FallbackReason != "" || !slices.Equal(resp.Models, []string{"cf@test", "propensity@test"}) {
				t.Errorf("degraded %v (%q), models %v", resp.Degraded, resp.FallbackReason, resp.Models)
			}
			for i, it := range resp.Items {
				if it.Rank != i+1 || it.Source != "propensity@test" || len(it.Reasons) == 0 || it.Title == "" {
					t.Errorf("item %d: %+v", i, it)
				}
				if i > 0 && it.Score > resp.Items[i-1].Score {
					t.Errorf("scores not decreasing at %d", i)
				}
			}
		})
	}
	resp, _ := f.svc.Recommend(context.Background(), recommend.Request{UserID: "c1", K: 1})
	if r := resp.Items[0].Reasons[0]; !strings.Contains(r, "bought this 3 times") {
		t.Errorf("buy-again reason %q", r)
	}
}

func TestFallbackPaths(t *testing.T) {
	for _, tc := range []struct {
		name, user, cfMode string
		failProp           bool
		wantReason         string
		wantSource         string
	}{
		{"unknown customer", "nobody", "", false, recommend.ReasonAnonymous, "rule:popular_overall"},
		{"profile store failing", "store-down", "", false, recommend.ReasonProfileStore, "rule:popular_overall"},
		{"anonymous", "", "", false, recommend.ReasonAnonymous, "rule:popular_overall"},
		{"too little history", "thin", "", false, fallback.ReasonTooLittleHistory, "rule:buy_again"},
		{"failing cf", "c1", "fail", false, recommend.ReasonCFUnavailable + ": error", "rule:buy_again"},
		{"nan cf", "c1", "nan", false, recommend.ReasonCFUnavailable + ": bad_output", "rule:buy_again"},
		{"slow cf", "c1", "slow", false, recommend.ReasonCFUnavailable + ": timeout", "rule:buy_again"},
		{"flat cf", "c1", "flat", false, fallback.ReasonFlatScores, "rule:buy_again"},
		{"failing propensity", "c1", "", true, recommend.ReasonPropensityFailed + ": error", "cf@test"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := cfBreaker
			if tc.cfMode == "slow" { // a model that only answers when its deadline ends
				cfg.Timeout = 30 * time.Millisecond
			}
			f := newFixtureWith(t, newWorld(), cfg)
			f.cf.mode.Store(tc.cfMode)
			f.prop.fail.Store(tc.failProp)
			resp, err := f.svc.Recommend(context.Background(), recommend.Request{UserID: tc.user, K: 4})
			if err != nil {
				t.Fatal(err)
			}
			if !resp.Degraded || resp.FallbackReason != tc.wantReason {
				t.Errorf("degraded %v, reason %q; want %q", resp.Degraded, resp.FallbackReason, tc.wantReason)
			}
			if len(resp.Items) != 4 || resp.Items[0].Source != tc.wantSource {
				t.Fatalf("items %+v, want 4 starting from %s", resp.Items, tc.wantSource)
			}
			for _, it := range resp.Items {
				if len(it.Reasons) == 0 || it.Rank == 0 {
					t.Errorf("unexplained or unranked fallback item %+v", it)
				}
			}
			if tc.user != "c1" && f.cf.calls.Load() != 0 {
				t.Errorf("the CF model was called %d times for an uncertain request", f.cf.calls.Load())
			}
		})
	}
}

// TestBreakerOpensAndCloses fails the CF model until its breaker opens,
// checks the open breaker serves fallbacks without calling the model, then
// mends the model and waits for the breaker to close again. The fixture's
// OpenFor (500ms) keeps the breaker open through the refused request on a
// slow machine; the wait for it to close polls.
func TestBreakerOpensAndCloses(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	req := recommend.Request{UserID: "c1", K: 3}
	f.cf.mode.Store("fail")
	for i := 0; i < 3; i++ {
		resp, _ := f.svc.Recommend(ctx, req)
		if resp.FallbackReason != recommend.ReasonCFUnavailable+": error" {
			t.Fatalf("call %d: reason %q", i, resp.FallbackReason)
		}
	}
	if f.cfBreak.State() != "open" {
		t.Fatalf("breaker %s after 3 failures", f.cfBreak.State())
	}
	calls := f.cf.calls.Load()
	resp, _ := f.svc.Recommend(ctx, req)
	if resp.FallbackReason != recommend.ReasonCFUnavailable+": breaker_open" || f.cf.calls.Load() != calls || len(resp.Items) != 3 {
		t.Fatalf("open breaker: reason %q, model calls %d→%d, %d items", resp.FallbackReason, calls, f.cf.calls.Load(), len(resp.Items))
	}
	f.cf.mode.Store("")
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, _ = f.svc.Recommend(ctx, req)
		if !resp.Degraded {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("breaker never closed: %s, reason %q", f.cfBreak.State(), resp.FallbackReason)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if f.cfBreak.State() != "closed" || resp.Items[0].Source != "propensity@test" {
		t.Errorf("after recovery: breaker %s, source %s", f.cfBreak.State(), resp.Items[0].Source)
	}
}

func TestClientCancellationIsNotAFailure(t *testing.T) {
	// The slow model answers only when its context ends: with a deadline and
	// an open period of a minute, that is always the client's cancellation,
	// however late the cancelling goroutine runs.
	f := newFixtureWith(t, newWorld(), fallback.BreakerConfig{Timeout: time.Minute, OpenFor: time.Minute, ConsecutiveFailures: 3})
	f.cf.mode.Store("slow")
	for i := 0; i < 10; i++ {
		ctx, cancel := context.WithCancel(context.Background())
		go func() { time.Sleep(time.Millisecond); cancel() }()
		if _, err := f.svc.Recommend(ctx, recommend.Request{UserID: "c1"}); !errors.Is(err, context.Canceled) {
			t.Fatalf("call %d: err %v, want context.Canceled", i, err)
		}
	}
	if s := f.cfBreak.State(); s != "closed" {
		t.Errorf("breaker %s after client cancellations", s)
	}
}

// outcomes records the outcome of every inference, as telemetry labels it.
type outcomes struct {
	mu  sync.Mutex
	got []string
}

func (o *outcomes) RecordInference(_ context.Context, model string, _ time.Duration, err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.got = append(o.got, model+" "+telemetry.Outcome(err))
}
func (o *outcomes) RecordCache(context.Context, bool)      {}
func (o *outcomes) RecordFallback(context.Context, string) {}

// TestInferenceOutcomes: tailor_model_inference_duration_seconds labels a
// call that overran its deadline "timeout", and does not count the calls an
// open breaker refused as inferences (they ran nothing).
func TestInferenceOutcomes(t *testing.T) {
	w := newWorld()
	obs := &outcomes{}
	cf := &cfModel{}
	cf.mode.Store("slow")
	cfBreak := fallback.NewBreaker("cf", fallback.BreakerConfig{Timeout: 5 * time.Millisecond, OpenFor: time.Minute, ConsecutiveFailures: 2}, fallback.Hooks{})
	svc, err := recommend.New(recommend.Config{Now: func() time.Time { return now }, Uncertainty: fallback.Uncertainty{MinHistoryItems: 2}},
		recommend.Deps{Items: w, Profiles: profiles{"c1": regular()}, CF: cf, Propensity: newProp(), CFBreaker: cfBreak,
			PropensityBreaker: fallback.NewBreaker("propensity", fallback.BreakerConfig{Timeout: time.Minute}, fallback.Hooks{}),
			Rules:             fallback.DefaultChain(w.PopularIn, w.Popular()), Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Observer: obs})
	if err != nil {
		t.Fatal(err)
	}
	for range 4 { // two timeouts open the breaker; two refusals
		if _, err := svc.Recommend(t.Context(), recommend.Request{UserID: "c1", K: 3}); err != nil {
			t.Fatal(err)
		}
	}
	if want := []string{"cf@test timeout", "cf@test timeout"}; !slices.Equal(obs.got, want) {
		t.Errorf("inferences recorded %q, want %q", obs.got, want)
	}
}

// lateProp answers, correctly, only after its breaker's deadline has passed.
type lateProp struct {
	*prop
	delay time.Duration
}

func (p lateProp) Predict(ctx context.Context, rows []float32, n int) ([]float32, error) {
	time.Sleep(p.delay)
	return p.prop.Predict(ctx, rows, n)
}

// TestLatePropensityIsNotExplained: a propensity answer that came after the
// deadline is a timeout, and the CF order answers; explain must then not
// quote the probabilities the flow discarded, for recommendations and rank.
func TestLatePropensityIsNotExplained(t *testing.T) {
	w := newWorld()
	svc, err := recommend.New(recommend.Config{Now: func() time.Time { return now }, Uncertainty: fallback.Uncertainty{MinHistoryItems: 2}},
		recommend.Deps{Items: w, Profiles: profiles{"c1": regular()}, CF: &cfModel{}, Propensity: lateProp{newProp(), 20 * time.Millisecond},
			CFBreaker:         fallback.NewBreaker("cf", fallback.BreakerConfig{Timeout: time.Minute}, fallback.Hooks{}),
			PropensityBreaker: fallback.NewBreaker("propensity", fallback.BreakerConfig{Timeout: 5 * time.Millisecond, OpenFor: time.Minute, ConsecutiveFailures: 100}, fallback.Hooks{}),
			Rules:             fallback.DefaultChain(w.PopularIn, w.Popular()), Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	const reason = recommend.ReasonPropensityFailed + ": timeout"
	for _, tc := range []struct {
		name string
		ask  func() (fallbackReason string, reasons [][]string, err error)
	}{
		{"recommendations", func() (string, [][]string, error) {
			resp, err := svc.Recommend(t.Context(), recommend.Request{UserID: "c1", K: 4, Explain: true})
			var rs [][]string
			for _, it := range resp.Items {
				rs = append(rs, it.Reasons)
			}
			return resp.FallbackReason, rs, err
		}},
		{"rank", func() (string, [][]string, error) {
			resp, err := svc.Rank(t.Context(), recommend.RankRequest{UserID: "c1", Items: []string{"10005", "10001", "10002"}, Explain: true})
			var rs [][]string
			for _, it := range resp.Items {
				rs = append(rs, it.Reasons)
			}
			return resp.FallbackReason, rs, err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, reasons, err := tc.ask()
			if err != nil {
				t.Fatal(err)
			}
			if got != reason || len(reasons) == 0 {
				t.Fatalf("fallback reason %q with %d items, want %q", got, len(reasons), reason)
			}
			for _, rs := range reasons {
				if last := rs[len(rs)-1]; !strings.HasPrefix(last, "score ") || strings.Contains(last, "propensity") {
					t.Errorf("explain line %q, want the score and the CF score only", last)
				}
			}
		})
	}
}

// TestContextCountry: context.country names the country whose popular list
// the rules use; a value that names none (empty, or only spaces, which the
// country lookup trims away) leaves the profile's country in place.
func TestContextCountry(t *testing.T) {
	w := newWorld()
	w.countries = map[string][]int{"France": {7, 6, 5, 4, 3, 2, 1, 0}, "Spain": {3, 2, 1, 0}}
	f := newFixtureOf(t, w)
	for _, tc := range []struct {
		name    string
		context map[string]string
		want    string // the reason of the country rule's items
	}{
		{"none: the profile's", nil, "Popular with customers in France"},
		{"empty: the profile's", map[string]string{"country": ""}, "Popular with customers in France"},
		{"blank: the profile's", map[string]string{"country": "  "}, "Popular with customers in France"},
		{"given: that one", map[string]string{"country": "Spain"}, "Popular with customers in Spain"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// "thin" (France) has too little history: the rules answer.
			resp, err := f.svc.Recommend(t.Context(), recommend.Request{UserID: "thin", K: 3, Context: tc.context})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, it := range resp.Items {
				if it.Source == "rule:popular_in_country" {
					got = append(got, it.Reasons[0])
				}
			}
			if len(got) == 0 || got[0] != tc.want {
				t.Errorf("country rule reasons %q in %+v, want %q", got, resp.Items, tc.want)
			}
		})
	}
}
