package fallback

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var errModel = errors.New("model exploded")

// recorder collects transitions handed to OnTransition.
type recorder struct {
	mu sync.Mutex
	ts []Transition
}

func (r *recorder) hook(_ context.Context, t Transition) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ts = append(r.ts, t)
}

func (r *recorder) path() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.ts) == 0 {
		return ""
	}
	parts := []string{r.ts[0].From}
	for _, t := range r.ts {
		parts = append(parts, t.To)
	}
	return strings.Join(parts, "→")
}

// waitState polls until the breaker reports want; gobreaker's open period
// runs on the wall clock.
func waitState(t *testing.T, b *Breaker, want string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for b.State() != want {
		if time.Now().After(deadline) {
			t.Fatalf("breaker %s still %s, want %s", b.Name(), b.State(), want)
		}
		time.Sleep(time.Millisecond)
	}
}

// fakeClock advances only when told to.
type fakeClock struct{ ns atomic.Int64 }

func (c *fakeClock) now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) advance(d time.Duration) { c.ns.Add(int64(d)) }

func TestBreakerClassifiesOutcomes(t *testing.T) {
	clock := &fakeClock{}
	cases := []struct {
		name    string
		timeout time.Duration // short only where the call is meant to overrun it
		fn      func(ctx context.Context) error
		want    error // nil: success
	}{
		{"success", time.Minute, func(context.Context) error { return nil }, nil},
		{"error", time.Minute, func(context.Context) error { return errModel }, errModel},
		{"NaN output", time.Minute, func(context.Context) error {
			out := []float32{0.3, float32(math.NaN())}
			for i, v := range out {
				if math.IsNaN(float64(v)) {
					return fmt.Errorf("score %d is NaN: %w", i, ErrBadOutput)
				}
			}
			return nil
		}, ErrBadOutput},
		{"slow, honours ctx", 5 * time.Millisecond, func(ctx context.Context) error {
			<-ctx.Done()
			return ctx.Err()
		}, ErrTimeout},
		{"slow, ignores ctx, late success", time.Minute, func(context.Context) error {
			clock.advance(2 * time.Minute)
			return nil
		}, ErrTimeout},
		{"slow, ignores ctx, late error", time.Minute, func(context.Context) error {
			clock.advance(2 * time.Minute)
			return errModel
		}, ErrTimeout},
		// The fake clock stands still, so only the real deadline having
		// passed (callCtx.Err) can show this late success to the breaker.
		{"slow, ignores ctx, succeeds after the real deadline", 5 * time.Millisecond, func(ctx context.Context) error {
			<-ctx.Done()
			time.Sleep(time.Millisecond)
			return nil
		}, ErrTimeout},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := &recorder{}
			b := NewBreaker("cf", BreakerConfig{Timeout: c.timeout, ConsecutiveFailures: 3, Now: clock.now},
				Hooks{OnTransition: rec.hook})
			calls := 0
			fn := func(ctx context.Context) error { calls++; return c.fn(ctx) }
			for i := range 3 {
				err := b.Do(t.Context(), fn)
				if c.want == nil && err != nil || c.want != nil && !errors.Is(err, c.want) {
					t.Fatalf("call %d: got %v, want %v", i, err, c.want)
				}
				if errors.Is(err, ErrTimeout) && errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("ErrTimeout must not look like the request's deadline: %v", err)
				}
			}
			if c.want == nil {
				if b.State() != "closed" || rec.path() != "" {
					t.Fatalf("state %s, transitions %q after successes", b.State(), rec.path())
				}
				return
			}
			if b.State() != "open" {
				t.Fatalf("state %s after 3 failures, want open", b.State())
			}
			err := b.Do(t.Context(), fn)
			if !errors.Is(err, ErrOpen) || calls != 3 {
				t.Fatalf("open breaker: err %v, %d calls; want ErrOpen and fn not called", err, calls)
			}
			if got := rec.path(); got != "closed→open" {
				t.Errorf("transitions %q", got)
			}
		})
	}
}

func TestBreakerDefaults(t *testing.T) {
	b := NewBreaker("cf", BreakerConfig{}, Hooks{})
	// The call's deadline is set between before and after: with the default
	// 50ms timeout it lies within [before+50ms, after+50ms], however long
	// the call takes to start or to run.
	var d time.Time
	before := time.Now()
	if err := b.Do(t.Context(), func(ctx context.Context) error {
		var ok bool
		if d, ok = ctx.Deadline(); !ok {
			return errors.New("no deadline")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	after := time.Now()
	if def := 50 * time.Millisecond; d.Before(before.Add(def)) || d.After(after.Add(def)) {
		t.Errorf("deadline %v after the call began and %v after it ended, want the default 50ms timeout", d.Sub(before), d.Sub(after))
	}
	for range 4 {
		_ = b.Do(t.Context(), func(context.Context) error { return errModel })
	}
	if b.State() != "closed" {
		t.Fatalf("open after 4 failures; the default threshold is 5")
	}
	_ = b.Do(t.Context(), func(context.Context) error { return errModel })
	if b.State() != "open" {
		t.Fatalf("state %s after 5 failures, want open", b.State())
	}
}

func TestBreakerHalfOpenAndClose(t *testing.T) {
	for _, trial := range []struct {
		err  error
		path string
	}{
		{nil, "closed→open→half-open→closed"},
		{errModel, "closed→open→half-open→open"},
	} {
		rec := &recorder{}
		b := NewBreaker("cf", BreakerConfig{ConsecutiveFailures: 2, OpenFor: 20 * time.Millisecond, Timeout: time.Minute},
			Hooks{OnTransition: rec.hook})
		for range 2 {
			_ = b.Do(t.Context(), func(context.Context) error { return errModel })
		}
		waitState(t, b, "half-open")
		err := b.Do(t.Context(), func(context.Context) error { return trial.err })
		if !errors.Is(err, trial.err) {
			t.Fatalf("trial call: %v", err)
		}
		if got := rec.path(); got != trial.path {
			t.Errorf("trial %v: transitions %q, want %q", trial.err, got, trial.path)
		}
	}
}

func TestBreakerHalfOpenAdmitsOneTrial(t *testing.T) {
	b := NewBreaker("cf", BreakerConfig{ConsecutiveFailures: 1, OpenFor: 10 * time.Millisecond, Timeout: time.Minute}, Hooks{})
	_ = b.Do(t.Context(), func(context.Context) error { return errModel })
	waitState(t, b, "half-open")
	entered, release := make(chan struct{}), make(chan struct{})
	done := make(chan error)
	go func() {
		done <- b.Do(t.Context(), func(context.Context) error { close(entered); <-release; return nil })
	}()
	<-entered
	called := false
	err := b.Do(t.Context(), func(context.Context) error { called = true; return nil })
	if !errors.Is(err, ErrOpen) || called {
		t.Errorf("second call during the trial: err %v, called %v; want ErrOpen, not called", err, called)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if b.State() != "closed" {
		t.Errorf("state %s after a successful trial", b.State())
	}
}

func TestBreakerIgnoresClientCancellation(t *testing.T) {
	b := NewBreaker("cf", BreakerConfig{ConsecutiveFailures: 3, Timeout: time.Minute}, Hooks{})
	fail := func(context.Context) error { return errModel }
	for range 2 {
		_ = b.Do(t.Context(), fail)
	}
	for i := range 20 {
		ctx, cancel := context.WithCancel(t.Context())
		err := b.Do(ctx, func(ctx context.Context) error {
			cancel() // the client hangs up mid-call
			<-ctx.Done()
			return ctx.Err()
		})
		if !errors.Is(err, context.Canceled) || errors.Is(err, ErrTimeout) {
			t.Fatalf("cancellation %d: %v", i, err)
		}
	}
	short, cancel := context.WithTimeout(t.Context(), time.Millisecond)
	defer cancel()
	err := b.Do(short, func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() })
	if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrTimeout) {
		t.Fatalf("request deadline: %v; want the request's own DeadlineExceeded", err)
	}
	called := false
	err = b.Do(short, func(context.Context) error { called = true; return nil })
	if !errors.Is(err, context.DeadlineExceeded) || called {
		t.Fatalf("finished context: err %v, called %v", err, called)
	}
	if b.State() != "closed" {
		t.Fatalf("cancellations opened the breaker")
	}
	_ = b.Do(t.Context(), fail) // third consecutive failure: exclusions did not reset the run
	if b.State() != "open" {
		t.Fatalf("state %s, want open after 3 real failures", b.State())
	}
}

func TestLogStateChanges(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	b := NewBreaker("propensity", BreakerConfig{ConsecutiveFailures: 1}, Hooks{OnTransition: LogStateChanges(log)})
	_ = b.Do(t.Context(), func(context.Context) error { return errModel })
	got := buf.String()
	for _, want := range []string{"level=WARN", `msg="circuit breaker state change"`, "breaker=propensity", "from=closed", "to=open"} {
		if !strings.Contains(got, want) {
			t.Errorf("log %q lacks %q", got, want)
		}
	}
}
