package model

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"
)

// fakeScorer doubles every value, row by row. When gate is set, each batch
// first reports its size on entered and waits for gate.
type fakeScorer struct {
	entered chan int
	gate    chan struct{}
	err     error
}

func (f *fakeScorer) ScoreBatchInto(ctx context.Context, x []float32, n int, dst []float32) ([]float32, error) {
	if f.entered != nil {
		f.entered <- n
		<-f.gate
	}
	if f.err != nil {
		return nil, f.err
	}
	out := dst[:len(x)]
	for i, v := range x {
		out[i] = 2 * v
	}
	return out, nil
}

func (f *fakeScorer) NameVersion() string { return "fake@1" }

func vec(v ...float32) []float32 { return v }

// Calls that arrive while a batch runs are answered together by the next.
func TestCFBatcherBatchesWaitingCalls(t *testing.T) {
	f := &fakeScorer{entered: make(chan int), gate: make(chan struct{})}
	b, err := NewCFBatcher(t.Context(), f, BatchOptions{Items: 2, MaxBatch: 4}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var wg sync.WaitGroup
	call := func(x []float32) {
		wg.Go(func() {
			got, err := b.Score(t.Context(), x)
			if want := vec(2*x[0], 2*x[1]); err != nil || !slices.Equal(got, want) {
				t.Errorf("Score(%v) = %v, %v; want %v", x, got, err, want)
			}
		})
	}
	call(vec(1, 2))
	if n := <-f.entered; n != 1 {
		t.Fatalf("first batch of %d, want 1", n)
	}
	for i := range 6 {
		call(vec(float32(10+i), 1))
	}
	for len(b.calls) < 4 { // the queue holds MaxBatch calls; the other two wait to send
		time.Sleep(time.Millisecond)
	}
	f.gate <- struct{}{}
	var sizes []int
	for total := 0; total < 6; {
		n := <-f.entered
		sizes = append(sizes, n)
		total += n
		f.gate <- struct{}{}
	}
	wg.Wait()
	if sizes[0] != 4 {
		t.Errorf("batches after the first: %v; want the first of them to take the 4 queued calls", sizes)
	}
}

// A failing model fails every call of its batch; a caller whose context
// ends while the worker is stuck returns at once, and the batcher serves
// the next calls once the model answers again.
func TestCFBatcherFailuresAndGivingUp(t *testing.T) {
	boom := errors.New("boom")
	f := &fakeScorer{err: boom}
	b, err := NewCFBatcher(t.Context(), f, BatchOptions{Items: 2}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := b.Score(t.Context(), vec(1, 2)); !errors.Is(err, boom) {
		t.Errorf("failing model: %v, want %v", err, boom)
	}
	if _, err := b.Score(t.Context(), vec(1, 2, 3)); err == nil {
		t.Error("a vector of the wrong length was scored")
	}
	f.err, f.entered, f.gate = nil, make(chan int, 1), make(chan struct{})
	// The caller gives up only once the worker is stuck in the model with its
	// call: a deadline could instead pass before the worker picks the call
	// up, and the worker would then drop it without entering the model.
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	dst := make([]float32, 2)
	gaveUp := make(chan error, 1)
	go func() {
		_, err := b.ScoreInto(ctx, vec(1, 2), dst)
		gaveUp <- err
	}()
	<-f.entered
	cancel()
	select {
	case err := <-gaveUp:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("stuck model: %v, want the caller's cancellation", err)
		}
	case <-time.After(time.Minute): // only a broken ScoreInto waits this long
		close(f.gate)
		t.Fatal("a caller that gave up stayed blocked on the stuck model")
	}
	f.entered = nil
	close(f.gate) // the stuck batch finishes after its caller left
	got, err := b.Score(t.Context(), vec(3, 4))
	if err != nil || !slices.Equal(got, vec(6, 8)) {
		t.Errorf("after the stuck call: %v, %v; want [6 8]", got, err)
	}
	if !slices.Equal(dst, vec(0, 0)) {
		t.Errorf("the abandoned caller's dst was written: %v", dst)
	}
	if _, err := b.Score(canceled(), vec(1, 2)); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v", err)
	}
}

// Close answers the calls still queued and every later call with
// ErrBatcherClosed, and returns only when the worker has stopped.
func TestCFBatcherClose(t *testing.T) {
	f := &fakeScorer{entered: make(chan int), gate: make(chan struct{})}
	b, err := NewCFBatcher(t.Context(), f, BatchOptions{Items: 2, MaxBatch: 2}, nil)
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 3)
	for range 3 {
		go func() { _, err := b.Score(t.Context(), vec(1, 2)); errs <- err }()
	}
	// The first batch may hold one call or, when two arrived before the
	// worker looked, both (MaxBatch 2): the rest queue behind it.
	running := <-f.entered
	for len(b.calls) < 3-running {
		time.Sleep(time.Millisecond)
	}
	closed := make(chan struct{})
	go func() { b.Close(); close(closed) }()
	time.Sleep(10 * time.Millisecond)
	select {
	case <-closed:
		t.Fatal("Close returned while a batch was running")
	default:
	}
	f.gate <- struct{}{}
	<-closed
	var ok, refused int
	for range 3 {
		switch err := <-errs; {
		case err == nil:
			ok++
		case errors.Is(err, ErrBatcherClosed):
			refused++
		default:
			t.Errorf("unexpected error %v", err)
		}
	}
	if ok != running || refused != 3-running {
		t.Errorf("%d answered and %d refused; want the %d running answered and the %d queued refused", ok, refused, running, 3-running)
	}
	if _, err := b.Score(t.Context(), vec(1, 2)); !errors.Is(err, ErrBatcherClosed) {
		t.Errorf("after Close: %v", err)
	}
	if err := b.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func canceled() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}
