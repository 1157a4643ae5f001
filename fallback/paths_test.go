package fallback

import (
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"
)

// testModel is a CF model over the eight-item vocabulary of rules_test.go
// whose behaviour the test switches: the faults a real model cannot be made
// to show on demand.
type testModel struct {
	mu        sync.Mutex
	behaviour string // ok, slow (honours ctx), stuck (ignores ctx), fail, nan, flat
	calls     int
}

func (m *testModel) set(b string) { m.mu.Lock(); m.behaviour = b; m.mu.Unlock() }

func (m *testModel) Calls() int { m.mu.Lock(); defer m.mu.Unlock(); return m.calls }

func (m *testModel) Score(ctx context.Context) ([]float32, error) {
	m.mu.Lock()
	m.calls++
	b := m.behaviour
	m.mu.Unlock()
	scores := []float32{0.1, 0.2, 0.05, 0.3, 0.8, 0.15, 0.9, 0.25}
	switch b {
	case "slow":
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Second):
		}
	case "stuck":
		time.Sleep(100 * time.Millisecond) // like a Run that cannot be interrupted
	case "fail":
		return nil, errors.New("onnxruntime: session run failed")
	case "nan":
		scores[3] = float32(math.NaN())
	case "flat":
		for i := range scores {
			scores[i] = 0.5
		}
	}
	return scores, nil
}

// answer is what the recommendation flow makes of one request.
type answer struct {
	items    []Suggestion
	degraded bool
	reason   string
}

// serve mirrors the flow: uncertainty gate, guarded model call with output
// checks, gate again on the scores, fallback chain on any of them.
func serve(ctx context.Context, b *Breaker, m *testModel, u Uncertainty, in Input, k int) answer {
	fall := func(reason string) answer { return answer{chain.Suggest(in, k), true, reason} }
	if r, unsure := u.Check(len(in.Bought), nil); unsure {
		return fall(r)
	}
	var scores []float32
	err := b.Do(ctx, func(ctx context.Context) error {
		s, err := m.Score(ctx)
		if err != nil {
			return err
		}
		for i, v := range s {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return fmt.Errorf("score %d is %v: %w", i, v, ErrBadOutput)
			}
		}
		scores = s
		return nil
	})
	switch {
	case errors.Is(err, ErrOpen):
		return fall("breaker_open")
	case errors.Is(err, ErrTimeout):
		return fall("timeout")
	case errors.Is(err, ErrBadOutput):
		return fall("bad_output")
	case err != nil:
		return fall("error")
	}
	if r, unsure := u.Check(len(in.Bought), scores); unsure {
		return fall(r)
	}
	var items []Suggestion
	for _, j := range topScoresIdx(scores, k) {
		items = append(items, Suggestion{Index: j, Rule: "cf"})
	}
	return answer{items: items}
}

func topScoresIdx(s []float32, k int) []int {
	var out []int
	for len(out) < k && len(out) < len(s) {
		best := -1
		for j, v := range s {
			if (best < 0 || v > s[best]) && !slices.Contains(out, j) {
				best = j
			}
		}
		out = append(out, best)
	}
	return out
}

var customer = Input{Bought: history, Country: "Germany"}

func TestFaultyModelOpensServesFallbacksAndCloses(t *testing.T) {
	fallbackAnswer := chain.Suggest(customer, 5)
	// OpenFor runs on the wall clock (gobreaker's): it must outlast the five
	// refused requests however slowly the machine runs them, and waitState
	// then polls for its end. Only the cases meant to overrun the model's
	// deadline get a short one; a healthy call must never be able to hit it.
	const openFor = 300 * time.Millisecond
	for _, c := range []struct {
		behaviour, reason string
		timeout           time.Duration
	}{
		{"slow", "timeout", 50 * time.Millisecond},
		{"stuck", "timeout", 50 * time.Millisecond},
		{"fail", "error", time.Minute},
		{"nan", "bad_output", time.Minute},
	} {
		t.Run(c.behaviour, func(t *testing.T) {
			t.Parallel() // each case has its own breaker and model; they mostly wait out openFor
			rec := &recorder{}
			b := NewBreaker("cf", BreakerConfig{Timeout: c.timeout, ConsecutiveFailures: 3, OpenFor: openFor},
				Hooks{OnTransition: rec.hook})
			m := &testModel{behaviour: c.behaviour}
			check := func(i int, want string) {
				t.Helper()
				a := serve(t.Context(), b, m, Uncertainty{}, customer, 5)
				if !a.degraded || a.reason != want {
					t.Fatalf("request %d: degraded %v, reason %q; want %q", i, a.degraded, a.reason, want)
				}
				if !reflect.DeepEqual(a.items, fallbackAnswer) {
					t.Fatalf("request %d: fallback items %+v, want the chain's %+v", i, a.items, fallbackAnswer)
				}
			}
			for i := range 3 {
				check(i, c.reason)
			}
			if b.State() != "open" {
				t.Fatalf("state %s after 3 failures", b.State())
			}
			for i := range 5 {
				check(3+i, "breaker_open")
			}
			if m.Calls() != 3 {
				t.Fatalf("model called %d times; an open breaker must not call it", m.Calls())
			}

			m.set("ok")
			waitState(t, b, "half-open")
			// The model is healthy again: its trial call gets a deadline that
			// only a broken breaker, not a slow machine, can make it miss.
			b.cfg.Timeout = time.Minute
			a := serve(t.Context(), b, m, Uncertainty{}, customer, 5)
			if a.degraded || a.items[0].Index != 6 || a.items[0].Rule != "cf" {
				t.Fatalf("after recovery: %+v", a)
			}
			if b.State() != "closed" {
				t.Fatalf("state %s after a good trial call", b.State())
			}
			if got := rec.path(); got != "closed→open→half-open→closed" {
				t.Errorf("transitions %q", got)
			}
		})
	}
}

func TestUncertainCustomerLeavesBreakerAlone(t *testing.T) {
	for _, c := range []struct {
		name      string
		behaviour string
		in        Input
		reason    string
		calls     int
	}{
		{"one purchase", "ok", Input{Bought: history[:1], Country: "Germany"}, ReasonTooLittleHistory, 0},
		{"flat scores", "flat", customer, ReasonFlatScores, 10},
	} {
		rec := &recorder{}
		b := NewBreaker("cf", BreakerConfig{ConsecutiveFailures: 3, Timeout: time.Minute}, Hooks{OnTransition: rec.hook})
		m := &testModel{behaviour: c.behaviour}
		for i := range 10 {
			a := serve(t.Context(), b, m, Uncertainty{}, c.in, 5)
			if !a.degraded || a.reason != c.reason {
				t.Fatalf("%s, request %d: degraded %v, reason %q", c.name, i, a.degraded, a.reason)
			}
			if want := chain.Suggest(c.in, 5); !reflect.DeepEqual(a.items, want) || len(a.items) != 5 {
				t.Fatalf("%s: items %+v, want %+v", c.name, a.items, want)
			}
		}
		if m.Calls() != c.calls || b.State() != "closed" || rec.path() != "" {
			t.Errorf("%s: %d model calls, state %s, transitions %q; want %d calls, closed, none",
				c.name, m.Calls(), b.State(), rec.path(), c.calls)
		}
	}
}
