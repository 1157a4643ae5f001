// Package fallback keeps answers coming when a model is slow, failing or
// unsure. It has three parts:
//
//   - Breaker: every model call runs inside its own circuit breaker
//     (github.com/sony/gobreaker/v2) under a per-call deadline;
//   - Uncertainty: the gate that sends one request to the rules when the
//     model's answer for it is not worth showing, without touching a breaker;
//   - Rule and Chain: deterministic recommenders (buy again, popular in the
//     customer's country, popular overall) tried in a fixed order, whose
//     answers are ranked, explained and labelled with the rule that gave them.
package fallback

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sony/gobreaker/v2"
)

// Errors returned by Breaker.Do (wrapped; test with errors.Is).
var (
	// ErrOpen: the breaker refused the call without running it, because it is
	// open, or half-open with all its trial calls already in flight.
	ErrOpen = errors.New("fallback: circuit breaker open")
	// ErrTimeout: the call overran its per-call deadline while the request's
	// own context was still alive. It does not wrap context.DeadlineExceeded,
	// so a caller can tell the model's deadline from the request's.
	ErrTimeout = errors.New("fallback: model call timed out")
	// ErrBadOutput is for the function run by Do to wrap when the model
	// answered with values it must not be trusted with: NaN, ±Inf, or out of
	// range (a probability outside [0, 1]). Do counts it as a failure like any
	// other error.
	ErrBadOutput = errors.New("fallback: model output not finite or out of range")
)

// BreakerConfig tunes one Breaker. A zero or negative field means its default.
type BreakerConfig struct {
	Timeout             time.Duration    // deadline of each call; default 50ms
	ConsecutiveFailures int              // consecutive failures that open the breaker; default 5
	OpenFor             time.Duration    // how long it stays open before a trial call; default 10s
	HalfOpenRequests    int              // trial calls allowed, and successes needed to close; default 1
	Interval            time.Duration    // while closed, how often the counts are cleared; default never
	Now                 func() time.Time // clock for call durations and Transition.At; default time.Now
}

func (c BreakerConfig) withDefaults() BreakerConfig {
	if c.Timeout <= 0 {
		c.Timeout = 50 * time.Millisecond
	}
	if c.ConsecutiveFailures <= 0 {
		c.ConsecutiveFailures = 5
	}
	if c.OpenFor <= 0 {
		c.OpenFor = 10 * time.Second
	}
	if c.HalfOpenRequests <= 0 {
		c.HalfOpenRequests = 1
	}
	if c.Interval < 0 {
		c.Interval = 0
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Transition is one change of a breaker's state. From and To are "closed",
// "open" or "half-open".
type Transition struct {
	Breaker  string
	From, To string
	At       time.Time // when it happened, by BreakerConfig.Now
}

// Hooks let the caller observe a breaker.
type Hooks struct {
	// OnTransition is called once for every state change, from inside Do,
	// after the guarded call, outside any lock, with the context of the
	// request that reports it: log it (see LogStateChanges), count it as a
	// metric and add it as a span event there.
	//
	// gobreaker announces a change without a context, so the Breaker queues it
	// and the next Do to finish hands it over. That is almost always the call
	// that caused it; under concurrency it may be another call in flight at
	// the same moment. A change noticed by State (open becoming half-open once
	// OpenFor has passed) is handed over by the next Do. No change is lost or
	// reported twice.
	OnTransition func(ctx context.Context, t Transition)
}

// LogStateChanges returns an OnTransition hook that logs each change: at
// Warn when a breaker opens, at Info otherwise. It logs with the request's
// context, so a handler that adds trace ids sees them.
func LogStateChanges(log *slog.Logger) func(context.Context, Transition) {
	return func(ctx context.Context, t Transition) {
		level := slog.LevelInfo
		if t.To == gobreaker.StateOpen.String() {
			level = slog.LevelWarn
		}
		log.Log(ctx, level, "circuit breaker state change",
			"breaker", t.Breaker, "from", t.From, "to", t.To, "at", t.At)
	}
}

// Breaker runs model calls under a circuit breaker and a per-call deadline.
// It is safe for concurrent use.
//
// What counts, in Do:
//   - a call that returns nil within its deadline is a success;
//   - a call that returns an error (including one wrapping ErrBadOutput) is a
//     failure;
//   - a call that overruns the deadline is a failure, returned as ErrTimeout,
//     whether it returned an error or, late, nil;
//   - a call that fails or overruns after the request's context ended (the
//     client went away, or the request's own budget ran out) is not counted
//     at all, so clients that hang up cannot open the breaker; Do returns
//     ctx.Err(), and does not call fn if ctx has already ended. Give the model a
//     Timeout shorter than what is left of the request's budget, or a slow
//     model hides behind the request deadline and never trips the breaker.
//
// Do never abandons a call: it passes fn a context with the deadline and
// waits for fn to return. Leaving fn running in a goroutine would keep a model
// session busy with nobody waiting for it, and under a slow model such
// goroutines pile up without bound. A fn that ignores its context (an ONNX
// Runtime Run without a terminate hook, for example) therefore costs its full
// duration; it is then classified as a timeout, its result is discarded, and
// after ConsecutiveFailures of them the breaker opens and stops the damage.
//
// gobreaker reads the wall clock itself (time.Now) for OpenFor and Interval;
// only call durations and Transition.At use BreakerConfig.Now.
type Breaker struct {
	name  string
	cfg   BreakerConfig
	hooks Hooks
	cb    *gobreaker.CircuitBreaker[struct{}]

	mu       sync.Mutex
	pending  []Transition // changes not yet handed to OnTransition
	nPending atomic.Int32 // len(pending), readable without mu
}

// NewBreaker returns a closed breaker.
func NewBreaker(name string, cfg BreakerConfig, hooks Hooks) *Breaker {
	cfg = cfg.withDefaults()
	b := &Breaker{name: name, cfg: cfg, hooks: hooks}
	trip := uint32(cfg.ConsecutiveFailures)
	b.cb = gobreaker.NewCircuitBreaker[struct{}](gobreaker.Settings{
		Name:        name,
		MaxRequests: uint32(cfg.HalfOpenRequests),
		Interval:    cfg.Interval,
		Timeout:     cfg.OpenFor,
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= trip },
		IsExcluded: func(err error) bool {
			var gone clientGone
			return errors.As(err, &gone)
		},
		OnStateChange: b.queue,
	})
	return b
}

// Name returns the breaker's name.
func (b *Breaker) Name() string { return b.name }

// State returns "closed", "open" or "half-open". Like gobreaker, it moves an
// open breaker whose OpenFor has passed to half-open as it looks.
func (b *Breaker) State() string { return b.cb.State().String() }

// Do runs fn under the breaker with a context that carries the per-call
// deadline. It returns nil on success, an error wrapping ErrOpen when the
// breaker refused the call (fn is not called), ctx.Err() when the request's
// context ended, an error wrapping ErrTimeout when the call overran its
// deadline, or fn's error, wrapped with the breaker's name.
func (b *Breaker) Do(ctx context.Context, fn func(ctx context.Context) error) error {
	defer b.report(ctx)
	if err := ctx.Err(); err != nil {
		return err
	}
	called := false
	_, err := b.cb.Execute(func() (struct{}, error) {
		called = true
		return struct{}{}, b.call(ctx, fn)
	})
	if err == nil {
		return nil
	}
	if !called {
		return fmt.Errorf("%w: %s: %v", ErrOpen, b.name, err)
	}
	var gone clientGone
	if errors.As(err, &gone) {
		return gone.err
	}
	return err
}

// call runs fn once and classifies the outcome for the breaker.
func (b *Breaker) call(ctx context.Context, fn func(ctx context.Context) error) error {
	callCtx, cancel := context.WithTimeout(ctx, b.cfg.Timeout)
	defer cancel()
	start := b.cfg.Now()
	err := fn(callCtx)
	elapsed := b.cfg.Now().Sub(start)
	late := elapsed > b.cfg.Timeout || errors.Is(callCtx.Err(), context.DeadlineExceeded)
	switch {
	case err == nil && !late:
		return nil
	case ctx.Err() != nil:
		return clientGone{ctx.Err()}
	case late && err == nil:
		return fmt.Errorf("%w: %s answered after %v (deadline %v)", ErrTimeout, b.name, elapsed, b.cfg.Timeout)
	case late:
		return fmt.Errorf("%w: %s after %v (deadline %v): %v", ErrTimeout, b.name, elapsed, b.cfg.Timeout, err)
	default:
		return fmt.Errorf("%s: %w", b.name, err)
	}
}

// clientGone marks an outcome caused by the request's context ending, which
// the breaker excludes from its counts.
type clientGone struct{ err error }

func (c clientGone) Error() string { return c.err.Error() }
func (c clientGone) Unwrap() error { return c.err }

// queue is gobreaker's OnStateChange. gobreaker calls it while holding its own
// lock, so it only records the change.
func (b *Breaker) queue(name string, from, to gobreaker.State) {
	if b.hooks.OnTransition == nil {
		return
	}
	t := Transition{Breaker: name, From: from.String(), To: to.String(), At: b.cfg.Now()}
	b.mu.Lock()
	b.pending = append(b.pending, t)
	b.nPending.Store(int32(len(b.pending)))
	b.mu.Unlock()
}

// report hands queued changes to OnTransition with the request's context.
func (b *Breaker) report(ctx context.Context) {
	if b.nPending.Load() == 0 {
		return
	}
	b.mu.Lock()
	ts := b.pending
	b.pending = nil
	b.nPending.Store(0)
	b.mu.Unlock()
	for _, t := range ts {
		b.hooks.OnTransition(ctx, t)
	}
}
