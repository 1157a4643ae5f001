package model_test

import (
	"context"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/tailorhq/tailor/model"
	"github.com/tailorhq/tailor/model/ortest"
)

// TestCFBatcherScoresWhatTheModelScores sends many concurrent customers of
// the committed CF model through the batcher: each gets exactly the scores
// that a batch-1 call gives it. Whether concurrent callers end up sharing a
// batch depends on scheduling (with one CPU they rarely do), so that is only
// logged; a direct multi-row call checks that every row of a batch scores as
// it does alone, and TestCFBatcherBatchesWaitingCalls checks, with a gated
// fake model, that waiting calls are batched.
func TestCFBatcherScoresWhatTheModelScores(t *testing.T) {
	t.Parallel() // after TestInitRuntime; see the note at the top
	ortest.Init(t)
	ctx := context.Background()
	ids := catalogIDs(t)
	r, err := model.LoadRegistry(ctx, realModels, model.RegistryOptions{CatalogIDs: ids})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var batches, rows, biggest atomic.Int64
	b, err := model.NewCFBatcher(ctx, r.CF(), model.BatchOptions{Items: len(ids), MaxBatch: 8}, func(_ context.Context, n int) {
		batches.Add(1)
		rows.Add(int64(n))
		for m := biggest.Load(); int64(n) > m && !biggest.CompareAndSwap(m, int64(n)); m = biggest.Load() {
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	const customers = 48
	xs := make([][]float32, customers)
	want := make([][]float32, customers)
	rng := rand.New(rand.NewPCG(7, 8))
	for i := range xs {
		xs[i] = make([]float32, len(ids))
		for range 1 + rng.IntN(30) {
			xs[i][rng.IntN(len(ids))] = float32(1 + rng.IntN(4))
		}
		if want[i], err = r.CF().Score(ctx, xs[i]); err != nil {
			t.Fatal(err)
		}
	}
	// The same customers as one multi-row call: each row must get its
	// batch-1 scores, whatever batches the concurrent calls below form.
	const rowsPerBatch = 8
	batchX := make([]float32, 0, rowsPerBatch*len(ids))
	for i := range rowsPerBatch {
		batchX = append(batchX, xs[i]...)
	}
	batchY, err := r.CF().ScoreBatchInto(ctx, batchX, rowsPerBatch, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(batchY) != rowsPerBatch*len(ids) {
		t.Fatalf("a batch of %d rows gave %d scores, want %d", rowsPerBatch, len(batchY), rowsPerBatch*len(ids))
	}
	for i := range rowsPerBatch {
		if !slices.Equal(batchY[i*len(ids):(i+1)*len(ids)], want[i]) {
			t.Errorf("row %d of a %d-row batch: scores differ from the batch-1 scores", i, rowsPerBatch)
		}
	}

	for round := 0; round < 20 && biggest.Load() < 2; round++ {
		var wg sync.WaitGroup
		for i := range xs {
			wg.Go(func() {
				dst := make([]float32, 0, len(ids))
				got, err := b.ScoreInto(ctx, xs[i], dst)
				if err != nil {
					t.Error(err)
					return
				}
				if !slices.Equal(got, want[i]) {
					t.Errorf("customer %d: batched scores differ from the batch-1 scores", i)
				}
				if &got[0] != &dst[:1][0] {
					t.Errorf("customer %d: ScoreInto did not write into dst", i)
				}
			})
		}
		wg.Wait()
	}
	if biggest.Load() < 2 {
		t.Logf("%d concurrent callers × 20 rounds never shared a batch (%d batches, %d rows): scheduling, not a failure", customers, batches.Load(), rows.Load())
	}
	if b.NameVersion() != r.CF().NameVersion() {
		t.Errorf("NameVersion %q, the model's %q", b.NameVersion(), r.CF().NameVersion())
	}
	t.Logf("%d rows in %d batches, the biggest %d", rows.Load(), batches.Load(), biggest.Load())
}
