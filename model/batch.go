package model

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// ErrBatcherClosed is returned by calls on a CFBatcher after Close.
var ErrBatcherClosed = errors.New("cf batcher: closed")

// BatchScorer is what a CFBatcher runs its batches on; *CFModel implements it.
type BatchScorer interface {
	ScoreBatchInto(ctx context.Context, x []float32, n int, dst []float32) ([]float32, error)
	NameVersion() string
}

var _ BatchScorer = (*CFModel)(nil)

// BatchOptions configure a CFBatcher.
type BatchOptions struct {
	Items    int // the CF model's vocabulary size: the length of every vector
	MaxBatch int // most calls run as one batch; 0 means 16
}

// CFBatcher runs concurrent CF calls as batches. One worker takes the first
// waiting call and every call already waiting behind it (up to MaxBatch),
// runs them through the model as one [n, items] tensor and hands each caller
// its row. A call that finds the worker idle runs alone at once, so light
// load pays only two goroutine hand-offs; under heavy load the model's
// weights, which a batch-1 product streams from memory for a single row,
// serve many rows per pass.
//
// A caller's vectors are copied in and out, so a caller that gives up (its
// context ends) can reuse its memory at once. Safe for concurrent use;
// Close stops the worker and waits for it.
type CFBatcher struct {
	cf    BatchScorer
	items int
	max   int
	calls chan *cfCall
	pool  sync.Pool // of *cfCall
	stop  chan struct{}
	done  chan struct{}
	once  sync.Once
	// observe, when set, is told the size of every batch run.
	observe func(ctx context.Context, n int)
}

// cfCall is one caller's vector and, once done is signalled, its scores or
// error. The worker only touches call-owned memory.
type cfCall struct {
	ctx  context.Context
	x    []float32
	out  []float32
	err  error
	done chan struct{} // capacity 1
}

// NewCFBatcher starts the worker. ctx bounds the worker's model calls (the
// owner's lifetime, not a request's); Close stops it.
func NewCFBatcher(ctx context.Context, cf BatchScorer, opts BatchOptions, observe func(ctx context.Context, n int)) (*CFBatcher, error) {
	if opts.Items <= 0 {
		return nil, fmt.Errorf("cf batcher: %d items", opts.Items)
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 16
	}
	b := &CFBatcher{cf: cf, items: opts.Items, max: opts.MaxBatch, calls: make(chan *cfCall, opts.MaxBatch),
		stop: make(chan struct{}), done: make(chan struct{}), observe: observe}
	go b.loop(ctx)
	return b, nil
}

// Score returns one score per vocabulary item for x, in a fresh slice.
func (b *CFBatcher) Score(ctx context.Context, x []float32) ([]float32, error) {
	return b.ScoreInto(ctx, x, nil)
}

// ScoreInto is Score writing into dst's memory when its capacity holds the
// scores. It returns ctx's error when ctx ends first; the worker then drops
// the call.
func (b *CFBatcher) ScoreInto(ctx context.Context, x, dst []float32) ([]float32, error) {
	if len(x) != b.items {
		return nil, fmt.Errorf("cf batcher: %d values for %d items", len(x), b.items)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c, _ := b.pool.Get().(*cfCall)
	if c == nil {
		c = &cfCall{x: make([]float32, b.items), out: make([]float32, b.items), done: make(chan struct{}, 1)}
	}
	c.ctx, c.err = ctx, nil
	copy(c.x, x)
	select {
	case b.calls <- c:
	case <-ctx.Done():
		c.ctx = nil
		b.pool.Put(c)
		return nil, ctx.Err()
	case <-b.stop:
		return nil, ErrBatcherClosed
	}
	select {
	case <-c.done:
	case <-ctx.Done():
		// The worker still holds c: leave it to the garbage collector.
		return nil, ctx.Err()
	case <-b.done:
		// The worker stopped; it may have answered c on its way out.
		select {
		case <-c.done:
		default:
			return nil, ErrBatcherClosed
		}
	}
	c.ctx = nil
	if c.err != nil {
		err := c.err
		b.pool.Put(c)
		return nil, err
	}
	dst = append(dst[:0:min(cap(dst), b.items)], c.out...)
	b.pool.Put(c)
	return dst, nil
}

// NameVersion is the current CF model's name@version.
func (b *CFBatcher) NameVersion() string { return b.cf.NameVersion() }

// Close stops the worker after the batch in progress and waits for it.
// Calls waiting for a batch then get ErrBatcherClosed.
func (b *CFBatcher) Close() error {
	b.once.Do(func() { close(b.stop) })
	<-b.done
	return nil
}

func (b *CFBatcher) loop(ctx context.Context) {
	defer close(b.done)
	defer b.failWaiting()
	batch := make([]*cfCall, 0, b.max)
	var x, y []float32
	for {
		batch = batch[:0]
		select {
		case <-b.stop: // before taking another call, even with calls waiting
			return
		default:
		}
		select {
		case c := <-b.calls:
			batch = append(batch, c)
		case <-b.stop:
			return
		}
	fill:
		for len(batch) < b.max {
			select {
			case c := <-b.calls:
				batch = append(batch, c)
			default:
				break fill
			}
		}
		// Callers that gave up have returned: their rows are not worth running.
		live := batch[:0]
		for _, c := range batch {
			if c.ctx.Err() == nil {
				live = append(live, c)
			}
		}
		if len(live) == 0 {
			continue
		}
		n := len(live)
		if cap(x) < n*b.items {
			x = make([]float32, b.max*b.items)
			y = make([]float32, b.max*b.items)
		}
		x = x[:n*b.items]
		for i, c := range live {
			copy(x[i*b.items:(i+1)*b.items], c.x)
		}
		out, err := b.cf.ScoreBatchInto(ctx, x, n, y)
		if err == nil && len(out) != n*b.items {
			err = fmt.Errorf("cf batcher: %d scores for %d rows of %d", len(out), n, b.items)
		}
		if b.observe != nil {
			b.observe(ctx, n)
		}
		for i, c := range live {
			if err != nil {
				c.err = err
			} else {
				copy(c.out, out[i*b.items:(i+1)*b.items])
			}
			c.done <- struct{}{}
		}
	}
}

// failWaiting answers the calls still queued when the worker stops.
func (b *CFBatcher) failWaiting() {
	for {
		select {
		case c := <-b.calls:
			c.err = ErrBatcherClosed
			c.done <- struct{}{}
		default:
			return
		}
	}
}
