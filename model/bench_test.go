package model_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/tailorhq/tailor/model"
	"github.com/tailorhq/tailor/model/ortest"
)

// Benchmarks of the committed models through the registry, at one intra-op
// thread (the default). Run them with
//
//	TAILOR_ONNXRUNTIME_LIB=$(bash scripts/onnxruntime.sh) go test -run '^$' -bench . -benchmem ./model/
//
// Besides wall time they report cpu-ns/op, the process's CPU time per call,
// which other processes on a shared machine disturb much less.

// reportCPU reports the process's CPU time per iteration since start. Defer
// it, with start evaluated, just before the benchmark loop.
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func benchRegistry(b *testing.B) (*model.Registry, []float32) {
	b.Helper()
	ortest.Init(b)
	ids := catalogIDs(b)
	r, err := model.LoadRegistry(context.Background(), realModels, model.RegistryOptions{CatalogIDs: ids})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { r.Close() })
	return r, interactions(len(ids))
}

// interactions is a customer's vector: log1p(invoices) on 20 items.
func interactions(n int) []float32 {
	x := make([]float32, n)
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20 {
		x[rng.IntN(n)] = float32(math.Log1p(float64(1 + rng.IntN(5))))
	}
	return x
}

// BenchmarkCFSession is bare ONNX Runtime: the committed CF model in a
// session opened with the registry's options, run on tensors made once.
func BenchmarkCFSession(b *testing.B) {
	sess, n := bareCFSession(b)
	in, err := ort.NewTensor(ort.NewShape(1, n), interactions(int(n)))
	if err != nil {
		b.Fatal(err)
	}
	defer in.Destroy()
	out, err := ort.NewEmptyTensor[float32](ort.NewShape(1, n))
	if err != nil {
		b.Fatal(err)
	}
	defer out.Destroy()
	b.ReportAllocs()
	defer reportCPU(b, cpuTime())
	for b.Loop() {
		if err := sess.Run([]ort.Value{in}, []ort.Value{out}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCFScore is the served path: the registry's CF handle writing
// into a reused slice, as the recommendation flow calls it.
func BenchmarkCFScore(b *testing.B) {
	r, x := benchRegistry(b)
	cf, ctx := r.CF(), context.Background()
	dst := make([]float32, len(x))
	b.ReportAllocs()
	defer reportCPU(b, cpuTime())
	for b.Loop() {
		var err error
		if dst, err = cf.ScoreInto(ctx, x, dst); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCFScoreParallel(b *testing.B) {
	r, x := benchRegistry(b)
	cf, ctx := r.CF(), context.Background()
	b.ReportAllocs()
	defer reportCPU(b, cpuTime())
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := cf.Score(ctx, x); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkPropensityPredict(b *testing.B) {
	for _, batch := range []int{1, 100, 150} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			r, _ := benchRegistry(b)
			pm, ctx := r.Propensity(), context.Background()
			rows := make([]float32, batch*len(pm.FeatureNames()))
			rng := rand.New(rand.NewPCG(3, 4))
			for i := range rows {
				rows[i] = rng.Float32()
			}
			b.ReportAllocs()
			defer reportCPU(b, cpuTime())
			for b.Loop() {
				if _, err := pm.Predict(ctx, rows, batch); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCFTensors compares the two ways to feed the CF session at batch 1
// directly on ONNX Runtime, both returning a fresh score slice: "alloc" makes
// tensors per call around the caller's input and a new output slice (what the
// registry does); "pooled" takes preallocated tensors from a sync.Pool,
// copies the input in and the scores out.
func BenchmarkCFTensors(b *testing.B) {
	s, n := bareCFSession(b)
	x := interactions(int(n))

	alloc := func() error {
		in, err := ort.NewTensor(ort.NewShape(1, n), x)
		if err != nil {
			return err
		}
		defer in.Destroy()
		y := make([]float32, n)
		out, err := ort.NewTensor(ort.NewShape(1, n), y)
		if err != nil {
			return err
		}
		defer out.Destroy()
		return s.Run([]ort.Value{in}, []ort.Value{out})
	}
	type pair struct{ in, out *ort.Tensor[float32] }
	var made []*pair
	var mu sync.Mutex
	pool := sync.Pool{New: func() any {
		in, err1 := ort.NewEmptyTensor[float32](ort.NewShape(1, n))
		out, err2 := ort.NewEmptyTensor[float32](ort.NewShape(1, n))
		if err1 != nil || err2 != nil {
			panic("tensor")
		}
		p := &pair{in, out}
		mu.Lock()
		made = append(made, p)
		mu.Unlock()
		return p
	}}
	defer func() {
		for _, p := range made {
			p.in.Destroy()
			p.out.Destroy()
		}
	}()
	pooled := func() error {
		p := pool.Get().(*pair)
		defer pool.Put(p)
		copy(p.in.GetData(), x)
		if err := s.Run([]ort.Value{p.in}, []ort.Value{p.out}); err != nil {
			return err
		}
		y := make([]float32, n)
		copy(y, p.out.GetData())
		return nil
	}

	for _, v := range []struct {
		name string
		run  func() error
	}{{"alloc", alloc}, {"pooled", pooled}} {
		b.Run(v.name, func(b *testing.B) {
			b.ReportAllocs()
			defer reportCPU(b, cpuTime())
			for b.Loop() {
				if err := v.run(); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(v.name+"-parallel", func(b *testing.B) {
			b.ReportAllocs()
			defer reportCPU(b, cpuTime())
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := v.run(); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// bareCFSession opens the committed CF model in an ONNX Runtime session of
// its own, with the registry's thread options, and returns it with the
// number of items.
func bareCFSession(b *testing.B) (*ort.DynamicAdvancedSession, int64) {
	b.Helper()
	ortest.Init(b)
	onnx, err := os.ReadFile(realModels + "/cf.onnx")
	if err != nil {
		b.Fatal(err)
	}
	so, err := ort.NewSessionOptions()
	if err != nil {
		b.Fatal(err)
	}
	defer so.Destroy()
	if err := so.SetIntraOpNumThreads(1); err != nil {
		b.Fatal(err)
	}
	if err := so.SetInterOpNumThreads(1); err != nil {
		b.Fatal(err)
	}
	s, err := ort.NewDynamicAdvancedSessionWithONNXData(onnx, []string{model.CFInput}, []string{model.CFOutput}, so)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Destroy() })
	return s, int64(len(catalogIDs(b)))
}
