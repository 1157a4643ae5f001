package model

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	ort "github.com/yalue/onnxruntime_go"
)

// RegistryOptions configure LoadRegistry.
type RegistryOptions struct {
	IntraOpThreads int      // ONNX Runtime intra-op threads per session; 0 means 1
	CatalogIDs     []string // required: the CF vocabulary must equal these ids, in order
	// Check, when set, is asked about every model of a load or reload,
	// after the contract and before any session opens; its error refuses
	// the load, which names the model and the check.
	Check func(*Info) error
}

// ErrClosed is returned by calls on a registry after Close.
var ErrClosed = errors.New("model registry: closed")

// Registry serves the models of one directory: exactly one collaborative-
// filtering model and one propensity model (*.onnx). Every model is checked
// against the contract and warmed up before it takes traffic.
//
// The loaded models form a generation. Reload builds a new generation beside
// the current one and swaps it in atomically; the one it replaces stays open
// as the previous generation, for Rollback. A generation is reference-counted:
// the registry holds one reference while it is current or previous, and every
// call holds one while it runs. Whoever drops the last reference closes the
// sessions, so a generation that falls two behind, is rolled back from or is
// closed by Close is closed only after its in-flight calls return.
//
// The handles CF and Propensity are stable: callers keep one pointer and it
// always serves the current generation.
type Registry struct {
	dir  string
	opts RegistryOptions
	cf   CFModel
	prop PropensityModel
	cur  atomic.Pointer[generation] // nil once closed

	mu     sync.Mutex  // serialises Reload, Rollback and Close
	prev   *generation // what Rollback returns to, or nil
	closed bool
}

// generation is one validated, warmed-up pair of models.
type generation struct {
	cf, prop *loaded
	refs     atomic.Int64
}

// loaded is one model: what it declares, its bytes' digest, its session.
type loaded struct {
	info *Info
	onnx []byte // until the session is open
	sum  [sha256.Size]byte
	sess *Session
	out1 bool      // the output has shape [batch], not [batch, width]
	pool sync.Pool // of *ioPair: CF's preallocated batch-1 tensors
}

// LoadRegistry loads, checks and warms up the models in dir. An error names
// the model file and the check it failed.
func LoadRegistry(ctx context.Context, dir string, opts RegistryOptions) (*Registry, error) {
	if !ort.IsInitialized() {
		return nil, errors.New("model registry: ONNX Runtime is not initialised; call InitRuntime first")
	}
	if len(opts.CatalogIDs) == 0 {
		return nil, errors.New("model registry: no catalog ids to check the CF vocabulary against")
	}
	opts.CatalogIDs = slices.Clone(opts.CatalogIDs)
	r := &Registry{dir: dir, opts: opts}
	r.cf.r, r.prop.r = r, r
	g, err := r.load(ctx, nil)
	if err != nil {
		return nil, err
	}
	r.cur.Store(g)
	return r, nil
}

// CF returns the stable handle of the collaborative-filtering model.
func (r *Registry) CF() *CFModel { return &r.cf }

// Propensity returns the stable handle of the propensity model.
func (r *Registry) Propensity() *PropensityModel { return &r.prop }

// Models describes the models being served (CF first), or nil after Close.
// The pointers are the same for as long as the same generation serves, so a
// caller can tell whether a Reload swapped anything.
func (r *Registry) Models() []*Info {
	if g := r.cur.Load(); g != nil {
		return []*Info{g.cf.info, g.prop.info}
	}
	return nil
}

// Reload re-reads the directory, checks and warms up every model, and swaps
// the new generation in only if all of them pass; otherwise it returns the
// error and the current models keep serving. Files byte-identical to the
// served ones change nothing, so a repeated Reload keeps Rollback's target.
// A propensity model must keep the served feature_names: callers assemble
// rows in that order, and changing it takes a restart. A changed file must
// change its model's name@version.
func (r *Registry) Reload(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return ErrClosed
	}
	g, err := r.load(ctx, r.cur.Load())
	if err != nil || g == nil {
		return err
	}
	if r.prev != nil {
		r.prev.release()
	}
	r.prev = r.cur.Swap(g)
	return nil
}

// Rollback makes the previous generation current again and releases the one
// it replaces. It goes back one step: a second Rollback is an error until the
// next Reload.
func (r *Registry) Rollback() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return ErrClosed
	}
	if r.prev == nil {
		return errors.New("model registry: rollback: no previous generation")
	}
	r.cur.Swap(r.prev).release()
	r.prev = nil
	return nil
}

// Close releases every generation. Calls already running finish first; later
// calls return ErrClosed.
func (r *Registry) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil
	}
	r.closed = true
	r.cur.Swap(nil).release()
	if r.prev != nil {
		r.prev.release()
		r.prev = nil
	}
	return nil
}

// acquire returns the current generation with a reference held for the caller.
func (r *Registry) acquire() (*generation, error) {
	for {
		g := r.cur.Load()
		if g == nil {
			return nil, ErrClosed
		}
		// 0 means g was swapped out and is closing; the next Load sees its successor.
		if n := g.refs.Load(); n > 0 && g.refs.CompareAndSwap(n, n+1) {
			return g, nil
		}
	}
}

// release drops a reference; the last one closes the sessions.
func (g *generation) release() {
	if g.refs.Add(-1) == 0 {
		g.close()
	}
}

// close closes the open sessions (onnxruntime_go's Destroy cannot fail).
func (g *generation) close() {
	for _, l := range []*loaded{g.cf, g.prop} {
		if l != nil && l.sess != nil {
			l.sess.Close()
		}
	}
}

func (g *generation) model(kind string) *loaded {
	if kind == KindCF {
		return g.cf
	}
	return g.prop
}

// load reads, checks and warms up the models in the directory. For a reload
// (cur set) it returns nil, nil when the files are the ones cur was built from.
func (r *Registry) load(ctx context.Context, cur *generation) (*generation, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(r.dir)
	if err != nil {
		return nil, fmt.Errorf("model registry: models directory: %w", err)
	}
	g := &generation{}
	g.refs.Store(1)
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".onnx") {
			continue
		}
		path := filepath.Join(r.dir, e.Name())
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("model %s: %w", path, err)
		}
		info, err := InspectBytes(path, b) // the contract; the error names the file and the check
		if err != nil {
			return nil, err
		}
		slot := &g.cf
		if info.Kind == KindPropensity {
			slot = &g.prop
		}
		if *slot != nil {
			return nil, fmt.Errorf("model registry: two %s models in %s: %s and %s", info.Kind, r.dir, (*slot).info.Path, path)
		}
		*slot = &loaded{info: info, onnx: b, sum: sha256.Sum256(b), out1: len(info.Outputs[0].Dimensions) == 1}
	}
	switch missing := "model registry: no %[1]s model (%[2]s=%[1]s) in %[3]s"; {
	case g.cf == nil && g.prop == nil:
		return nil, fmt.Errorf("model registry: no *.onnx models in %s", r.dir)
	case g.cf == nil:
		return nil, fmt.Errorf(missing, KindCF, MetaKind, r.dir)
	case g.prop == nil:
		return nil, fmt.Errorf(missing, KindPropensity, MetaKind, r.dir)
	}
	if err := SameItems(g.cf.info.ItemIDs, r.opts.CatalogIDs); err != nil {
		return nil, g.cf.fail("vocabulary", err)
	}
	if r.opts.Check != nil {
		for _, l := range []*loaded{g.cf, g.prop} {
			if err := r.opts.Check(l.info); err != nil {
				return nil, l.fail("check", err)
			}
		}
	}
	if cur != nil {
		if was := cur.prop.info.Features; !slices.Equal(g.prop.info.Features, was) {
			return nil, g.prop.fail("feature names", fmt.Errorf("%v differ from the served %v", g.prop.info.Features, was))
		}
		if g.cf.sum == cur.cf.sum && g.prop.sum == cur.prop.sum {
			return nil, nil
		}
		// Responses, metrics and the answer cache tell models apart by
		// name@version: other bytes under the served one would pass unseen.
		for _, p := range [][2]*loaded{{g.cf, cur.cf}, {g.prop, cur.prop}} {
			if p[0].sum != p[1].sum && p[0].info.NameVersion() == p[1].info.NameVersion() {
				return nil, p[0].fail("version", errors.New("the file differs from the served model of the same name and version; give the new model a version of its own"))
			}
		}
	}
	for _, l := range []*loaded{g.cf, g.prop} {
		l.sess, err = NewSession(l.onnx, l.info, SessionOptions{IntraOpThreads: r.opts.IntraOpThreads})
		if l.onnx = nil; err != nil {
			err = l.fail("open session", err)
		} else if err = l.warmUp(); err != nil {
			err = l.fail("warm-up", err)
		} else {
			err = ctx.Err()
		}
		if err != nil {
			g.close()
			return nil, err
		}
	}
	return g, nil
}

func (l *loaded) fail(check string, err error) error {
	return fmt.Errorf("model %s (%s): %s: %w", l.info.NameVersion(), l.info.Path, check, err)
}

// warmUp runs the model on a row of zeros and on deterministic pseudo-random
// rows, uniform in [0, 4), at batch 1 and, for propensity, batch 8. Every
// output must be finite, and a probability within [0, 1].
func (l *loaded) warmUp() error {
	batches := []int{1, 1}
	if l.info.Kind == KindPropensity {
		batches = append(batches, 8)
	}
	rng := rand.New(rand.NewPCG(20111101, 1))
	for k, n := range batches {
		x, input := make([]float32, n*int(l.sess.width)), "zero"
		if k > 0 {
			input = "random"
			for i := range x {
				x[i] = 4 * rng.Float32()
			}
		}
		y, err := l.run(x, n, nil)
		if err == nil {
			err = checkOutputs(y, n*int(l.sess.outW), l.info.Kind == KindPropensity)
		}
		if err != nil {
			return fmt.Errorf("%w (%s input, batch %d)", err, input, n)
		}
	}
	return nil
}

func checkOutputs(y []float32, want int, probability bool) error {
	if len(y) != want {
		return fmt.Errorf("%d outputs, want %d", len(y), want)
	}
	for i, v := range y {
		switch {
		case math.IsNaN(float64(v)):
			return fmt.Errorf("output %d is NaN", i)
		case math.IsInf(float64(v), 0):
			return fmt.Errorf("output %d is %v", i, v)
		case probability && (v < 0 || v > 1):
			return fmt.Errorf("output %d is %v, outside [0, 1]", i, v)
		}
	}
	return nil
}

// run feeds n rows of x to the model and returns its n × output-width values
// in dst's memory when its capacity holds them, in a fresh slice otherwise.
// CF at batch 1 copies x into preallocated tensors from a pool and the output
// into dst; other calls wrap x and the output memory in tensors made per
// call. BenchmarkCFTensors compares the two.
func (l *loaded) run(x []float32, n int, dst []float32) ([]float32, error) {
	s := l.sess
	if n < 1 || int64(len(x)) != int64(n)*s.width {
		return nil, fmt.Errorf("%d values for %d rows of %d", len(x), n, s.width)
	}
	if n == 1 && l.info.Kind == KindCF {
		p, _ := l.pool.Get().(*ioPair)
		if p == nil {
			var err error
			if p, err = newIOPair(s.width, s.outW); err != nil {
				return nil, err
			}
		}
		defer l.pool.Put(p)
		copy(p.in.GetData(), x)
		if err := s.sess.Run(p.vals[:1], p.vals[1:]); err != nil {
			return nil, err
		}
		return append(dst[:0:min(cap(dst), len(p.out.GetData()))], p.out.GetData()...), nil
	}
	in, err := ort.NewTensor(ort.NewShape(int64(n), s.width), x)
	if err != nil {
		return nil, fmt.Errorf("input tensor: %w", err)
	}
	defer in.Destroy()
	y, shape := dst[:0:cap(dst)], ort.NewShape(int64(n), s.outW)
	if int64(cap(y)) >= int64(n)*s.outW {
		y = y[:int64(n)*s.outW]
	} else {
		y = make([]float32, int64(n)*s.outW)
	}
	if l.out1 {
		shape = shape[:1]
	}
	out, err := ort.NewTensor(shape, y)
	if err != nil {
		return nil, fmt.Errorf("output tensor: %w", err)
	}
	defer out.Destroy()
	if err := s.sess.Run([]ort.Value{in}, []ort.Value{out}); err != nil {
		return nil, err
	}
	return y, nil
}

// ioPair is a preallocated batch-1 input and output. A pool drops pairs at
// garbage collection; a cleanup then releases their ONNX Runtime values.
type ioPair struct {
	in, out *ort.Tensor[float32]
	vals    [2]ort.Value // in, out: Run's arguments without allocating
}

func newIOPair(width, outW int64) (*ioPair, error) {
	in, err := ort.NewEmptyTensor[float32](ort.NewShape(1, width))
	if err != nil {
		return nil, fmt.Errorf("input tensor: %w", err)
	}
	out, err := ort.NewEmptyTensor[float32](ort.NewShape(1, outW))
	if err != nil {
		in.Destroy()
		return nil, fmt.Errorf("output tensor: %w", err)
	}
	p := &ioPair{in: in, out: out, vals: [2]ort.Value{in, out}}
	runtime.AddCleanup(p, func(t [2]*ort.Tensor[float32]) { t[0].Destroy(); t[1].Destroy() }, [2]*ort.Tensor[float32]{in, out})
	return p, nil
}

// call runs n rows of x through the current model of a kind.
func (r *Registry) call(ctx context.Context, kind string, x []float32, n int, dst []float32) ([]float32, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	g, err := r.acquire()
	if err != nil {
		return nil, err
	}
	defer g.release()
	l := g.model(kind)
	y, err := l.run(x, n, dst)
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", l.info.NameVersion(), err)
	}
	return y, nil
}

func (r *Registry) nameVersion(kind string) string {
	if g := r.cur.Load(); g != nil {
		return g.model(kind).info.NameVersion()
	}
	return ""
}

// CFModel is the stable handle of the registry's collaborative-filtering
// model. It is safe for concurrent use.
type CFModel struct{ r *Registry }

// Score returns one score per vocabulary item for the interaction vector x
// (one value per item, in ItemIDs order), in a fresh slice.
func (m *CFModel) Score(ctx context.Context, x []float32) ([]float32, error) {
	return m.r.call(ctx, KindCF, x, 1, nil)
}

// ScoreInto is Score writing the scores into dst's memory when its capacity
// holds them all (a fresh slice otherwise), so that a caller can reuse one
// buffer across calls.
func (m *CFModel) ScoreInto(ctx context.Context, x, dst []float32) ([]float32, error) {
	return m.r.call(ctx, KindCF, x, 1, dst)
}

// ScoreBatchInto scores n interaction vectors (x is n rows, row-major) in
// one call, writing the n rows of scores into dst's memory when its capacity
// holds them (a fresh slice otherwise).
func (m *CFModel) ScoreBatchInto(ctx context.Context, x []float32, n int, dst []float32) ([]float32, error) {
	return m.r.call(ctx, KindCF, x, n, dst)
}

// NameVersion is the current CF model's name@version ("" after Close).
func (m *CFModel) NameVersion() string { return m.r.nameVersion(KindCF) }

// ItemIDs is the vocabulary in index order: the catalog's, in every
// generation. Callers must not modify it.
func (m *CFModel) ItemIDs() []string { return m.r.opts.CatalogIDs }

// PropensityModel is the stable handle of the registry's propensity model.
// It is safe for concurrent use.
type PropensityModel struct{ r *Registry }

// Predict returns n purchase probabilities for n rows of features (row-major,
// in FeatureNames order), in a fresh slice.
func (m *PropensityModel) Predict(ctx context.Context, rows []float32, n int) ([]float32, error) {
	return m.r.call(ctx, KindPropensity, rows, n, nil)
}

// FeatureNames are the model's input columns in order, the same in every
// generation. Callers must not modify the slice. Nil after Close.
func (m *PropensityModel) FeatureNames() []string {
	if g := m.r.cur.Load(); g != nil {
		return g.prop.info.Features
	}
	return nil
}

// NameVersion is the current propensity model's name@version ("" after Close).
func (m *PropensityModel) NameVersion() string { return m.r.nameVersion(KindPropensity) }
