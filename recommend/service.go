package recommend

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/tailorhq/tailor/catalog"
	"github.com/tailorhq/tailor/fallback"
	"github.com/tailorhq/tailor/features"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// Catalog is the item side of the flow: the vocabulary (the CF model's
// column order), the catalog entries, the offline item statistics and the
// popularity lists.
type Catalog interface {
	Len() int
	ID(j int) string
	Index(id string) (int, bool)
	Catalog(j int) catalog.Item
	Stats(j int) *features.ItemStats
	Popular() []int
	PopularIn(country string) []int
	// Country returns the catalog's spelling of a country a request names
	// (another case, an ISO code), or the name trimmed ("" when blank).
	Country(name string) string
}

// Rules is the deterministic fallback chain.
type Rules interface {
	Suggest(in fallback.Input, k int) []fallback.Suggestion
}

// Observer records what the flow did, for metrics. *telemetry.Telemetry
// implements it.
type Observer interface {
	RecordInference(ctx context.Context, model string, d time.Duration, err error)
	RecordCache(ctx context.Context, hit bool)
	RecordFallback(ctx context.Context, reason string)
}

// profilesWithHit is what a cached store offers beyond Profiles: whether the
// lookup was served from the cache, for the span and the hit ratio.
type profilesWithHit interface {
	ProfileWithHit(ctx context.Context, customerID string) (*features.CustomerProfile, bool, error)
}

// cfScoreInto is what model.CFModel offers beyond CF: the scores written
// into a caller's buffer, which the flow keeps in its pooled scratch.
type cfScoreInto interface {
	ScoreInto(ctx context.Context, x, dst []float32) ([]float32, error)
}

// breakerState is what a breaker offers beyond Breaker: its state, for spans.
type breakerState interface{ State() string }

// nopObserver records nothing.
type nopObserver struct{}

func (nopObserver) RecordInference(context.Context, string, time.Duration, error) {}
func (nopObserver) RecordCache(context.Context, bool)                             {}
func (nopObserver) RecordFallback(context.Context, string)                        {}

// Config tunes the flow. The candidate counts' defaults are the ones the
// propensity model learned from (trainer.CFCandidates,
// trainer.DiscoverCFCandidates, trainer.PopularCandidates).
type Config struct {
	CFCandidates         int // top CF items considered; default 100
	DiscoverCFCandidates int // top CF items considered in discover mode; default 300
	PopularCandidates    int // popular items considered; default 20
	// OwnOrderWeight is the weight of the buy-again order against the
	// propensity model's in the blend that orders a model answer (see fuse);
	// 0 takes DefaultOwnOrderWeight, a negative value orders by the
	// propensity model alone.
	OwnOrderWeight float64
	// Now is the reference time for recency: the data's end for the bundled
	// data, the wall clock in a live shop.
	Now         func() time.Time
	Uncertainty fallback.Uncertainty
}

// Deps are the parts the flow calls. Every field is required but Tracer and
// Observer, which default to doing nothing.
type Deps struct {
	Tracer            trace.Tracer
	Observer          Observer
	Items             Catalog
	Profiles          Profiles
	CF                CF
	Propensity        Propensity
	CFBreaker         Breaker
	PropensityBreaker Breaker
	Rules             Rules
	Log               *slog.Logger
}

// Service answers recommendation requests. It is safe for concurrent use.
type Service struct {
	cfg   Config
	deps  Deps
	asm   *features.Assembler
	facts itemFacts
	pool  sync.Pool // *scratch
}

// scratch is one request's working memory: the vocabulary-sized buffers and
// the candidate and feature-row slices. The Service pools them, since every
// known customer's request needs them all; they are zero (empty) when taken.
type scratch struct {
	x      []float32               // the interaction vector
	scores []float32               // the CF scores, when the model writes into it
	mask   []bool                  // behind run.skip
	seen   []bool                  // candidates already gathered
	owned  []*features.ItemHistory // run.owned
	// coBought holds the copurchase feature by vocabulary index in discover
	// mode (allocated on first use); coBoughtUsed: to be cleared.
	coBought     []float32
	coBoughtUsed bool
	cands        []cand
	fcs          []features.Candidate // the candidates' feature inputs, contiguous for Assembler.Rows
	rows         []float32            // propensity feature rows
	keys         []uint64             // fuse: the candidates in the propensity model's order
	ownKeys      []uint64             // fuse: the customer's own candidates in buy-again order
}

func (s *Service) getScratch() *scratch {
	n := s.deps.Items.Len()
	sc, _ := s.pool.Get().(*scratch)
	if sc == nil || len(sc.x) != n {
		sc = &scratch{x: make([]float32, n), scores: make([]float32, n), mask: make([]bool, n), seen: make([]bool, n), owned: make([]*features.ItemHistory, n)}
	}
	return sc
}

func (s *Service) putScratch(sc *scratch) {
	clear(sc.x)
	clear(sc.mask)
	clear(sc.seen)
	clear(sc.owned)
	if sc.coBoughtUsed {
		clear(sc.coBought)
		sc.coBoughtUsed = false
	}
	clear(sc.cands[:cap(sc.cands)])
	sc.cands = sc.cands[:0]
	clear(sc.fcs[:cap(sc.fcs)])
	sc.fcs = sc.fcs[:0]
	s.pool.Put(sc)
}

// New checks that the parts fit together: the propensity model's features
// are all defined, and the CF model scores the catalog's items.
func New(cfg Config, deps Deps) (*Service, error) {
	if deps.Items == nil || deps.Profiles == nil || deps.CF == nil || deps.Propensity == nil ||
		deps.CFBreaker == nil || deps.PropensityBreaker == nil || deps.Rules == nil || deps.Log == nil {
		return nil, errors.New("recommend: every dependency is required")
	}
	if cfg.CFCandidates <= 0 {
		cfg.CFCandidates = 100
	}
	if cfg.DiscoverCFCandidates <= 0 {
		cfg.DiscoverCFCandidates = 300
	}
	if cfg.OwnOrderWeight == 0 {
		cfg.OwnOrderWeight = DefaultOwnOrderWeight
	}
	if cfg.PopularCandidates <= 0 {
		cfg.PopularCandidates = 20
	}
	if deps.Tracer == nil {
		deps.Tracer = noop.NewTracerProvider().Tracer("")
	}
	if deps.Observer == nil {
		deps.Observer = nopObserver{}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	asm, err := features.NewAssembler(deps.Propensity.FeatureNames())
	if err != nil {
		return nil, fmt.Errorf("recommend: propensity model %s: %w", deps.Propensity.NameVersion(), err)
	}
	// Item-only features are computed once per catalog item, here, and those
	// of the item and the reference time as of now (all of them for a fixed
	// reference time, as with the bundled data's).
	asm = asm.WithItems(deps.Items.Len(), deps.Items.Stats, cfg.Now())
	return &Service{cfg: cfg, deps: deps, asm: asm, facts: newItemFacts(deps.Items)}, nil
}

// Fallback reasons, as the response's fallback_reason reports them.
const (
	ReasonAnonymous        = "anonymous_or_unknown_customer"
	ReasonProfileStore     = "profile_store_unavailable"
	ReasonCFUnavailable    = "cf_model_unavailable"
	ReasonPropensityFailed = "propensity_model_unavailable"
)

// Recommend answers one request. It returns an error only for a request it
// cannot answer at all (a cancelled context); every model or store failure
// degrades to the fallback chain instead, and says so.
func (s *Service) Recommend(ctx context.Context, req Request) (Response, error) {
	req = withDefaults(req)
	now := s.cfg.Now()
	sc := s.getScratch()
	defer s.putScratch(sc)
	r := &run{s: s, req: req, now: now, sc: sc}
	resp, err := s.recommend(ctx, r)
	resp.IgnoredSessionItems = r.sess.ignored
	return resp, err
}

// recommend is Recommend's flow over the run r.
func (s *Service) recommend(ctx context.Context, r *run) (Response, error) {
	r.profile(ctx)
	r.buildSkip()
	r.useSession(ctx)
	if err := ctx.Err(); err != nil {
		return Response{}, err
	}
	if reason, uncertain := r.uncertain(); uncertain {
		return r.fallback(ctx, reason), nil
	}
	scores, err := r.cfScores(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return Response{}, ctx.Err()
		}
		return r.fallback(ctx, ReasonCFUnavailable+": "+failureKind(err)), nil
	}
	if reason, flat := s.cfg.Uncertainty.Check(r.historyItems(), scores); flat {
		return r.fallback(ctx, reason), nil
	}
	cands := r.candidates(scores)
	if len(cands) == 0 {
		return r.withinFilters(ctx), nil
	}
	if err := r.rerank(ctx, cands); err != nil {
		if ctx.Err() != nil {
			return Response{}, ctx.Err()
		}
		return r.blendWithoutPropensity(ctx, cands, ReasonPropensityFailed+": "+failureKind(err)), nil
	}
	return r.answer(ctx, cands), nil
}

func withDefaults(req Request) Request {
	if req.K == 0 {
		req.K = 10
	}
	if req.Mode == "" {
		req.Mode = ModeAuto
	}
	return req
}

// failureKind names why a guarded call failed, for fallback_reason.
func failureKind(err error) string {
	switch {
	case errors.Is(err, fallback.ErrOpen):
		return "breaker_open"
	case errors.Is(err, fallback.ErrTimeout):
		return "timeout"
	case errors.Is(err, fallback.ErrBadOutput):
		return "bad_output"
	default:
		return "error"
	}
}

// checkFinite wraps fallback.ErrBadOutput when any value is NaN or infinite,
// or (for probabilities) outside [0, 1].
func checkFinite(what string, v []float32, probability bool) error {
	for i, x := range v {
		f := float64(x)
		if math.IsNaN(f) || math.IsInf(f, 0) || (probability && (f < 0 || f > 1)) {
			return fmt.Errorf("%s output %d is %v: %w", what, i, x, fallback.ErrBadOutput)
		}
	}
	return nil
}
