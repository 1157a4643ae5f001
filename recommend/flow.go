package recommend

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/tailorhq/tailor/cf"
	"github.com/tailorhq/tailor/fallback"
	"github.com/tailorhq/tailor/features"
	"github.com/tailorhq/tailor/telemetry"
	"go.opentelemetry.io/otel/trace"
)

// run is the state of one request as it moves through the flow.
type run struct {
	s       *Service
	req     Request
	now     time.Time
	prof    *features.CustomerProfile // nil: anonymous or unknown
	noProf  string                    // why prof is nil
	bought  []fallback.Purchase       // the customer's items in the vocabulary
	owned   []*features.ItemHistory   // by vocabulary index; nil: not bought
	sc      *scratch
	skip    func(j int) bool // true: the mode or a filter rules the item out
	country string
	models  []string
	sess    session // the request's session items (session.go)
}

// cand is one candidate on its way to the answer.
type cand struct {
	j     int
	c     features.Candidate
	cf    float32 // raw CF score
	cfPos int     // position among the CF model's top candidates, or -1
	score float64 // the order of the answer: the blend of fuse, or what answered
	prob  float64 // the propensity model's probability, when hasProb
	// hasProb is set once the propensity model has scored the candidate.
	hasProb bool
}

func (r *run) profile(ctx context.Context) {
	r.noProf = ReasonAnonymous
	if r.req.UserID != "" {
		ctx, span := telemetry.Start(ctx, r.s.deps.Tracer, telemetry.SpanFeatures)
		var (
			p   *features.CustomerProfile
			err error
		)
		if c, ok := r.s.deps.Profiles.(profilesWithHit); ok {
			var hit bool
			p, hit, err = c.ProfileWithHit(ctx, r.req.UserID)
			span.SetAttributes(telemetry.AttrCacheHit.Bool(hit))
			r.s.deps.Observer.RecordCache(ctx, hit)
		} else {
			p, err = r.s.deps.Profiles.Profile(ctx, r.req.UserID)
		}
		span.SetAttributes(telemetry.AttrCustomerKnown.Bool(err == nil))
		if errors.Is(err, features.ErrNotFound) {
			telemetry.End(span, nil)
		} else {
			telemetry.End(span, err)
		}
		switch {
		case err == nil:
			r.prof, r.noProf = p, ""
		case !errors.Is(err, features.ErrNotFound):
			r.noProf = ReasonProfileStore
			r.s.deps.Log.WarnContext(ctx, "profile lookup failed; answering on the anonymous path", "user_id", r.req.UserID, "err", err)
		}
	}
	r.owned = r.sc.owned
	if r.prof != nil {
		for i := range r.prof.Items {
			h := &r.prof.Items[i]
			if j, ok := r.s.deps.Items.Index(h.Item); ok {
				r.owned[j] = h
				r.bought = append(r.bought, fallback.Purchase{Index: j, Invoices: h.Invoices, Last: h.Last})
			}
		}
		r.country = r.prof.Country
	}
	// A country the request names (none when blank) replaces the profile's.
	if c := r.s.deps.Items.Country(r.req.Context["country"]); c != "" {
		r.country = c
	}
}

// buildSkip turns the mode and the filters into one mask over vocabulary
// indices, computed once per request so that the scans over every item
// (top-k, popular lists) cost a slice read each.
func (r *run) buildSkip() {
	mask := r.sc.mask
	switch r.req.Mode {
	case ModeDiscover:
		for _, b := range r.bought {
			mask[b.Index] = true
		}
	case ModeBuyAgain:
		for j := range mask {
			mask[j] = true
		}
		for _, b := range r.bought {
			mask[b.Index] = false
		}
	}
	r.s.applyFilters(r.req.Filters, mask)
	r.skip = func(j int) bool { return mask[j] }
}

// uncertain reports whether the models should not be asked at all.
func (r *run) uncertain() (string, bool) {
	if r.prof == nil && len(r.sess.items) == 0 {
		return r.noProf, true
	}
	return r.s.cfg.Uncertainty.Check(r.historyItems(), nil)
}

// cfScores runs the CF model on the customer's interaction vector.
func (r *run) cfScores(ctx context.Context) ([]float32, error) {
	x := r.sc.x
	for _, b := range r.bought {
		x[b.Index] = cf.Weight(float32(b.Invoices))
	}
	r.addSession(x)
	var scores []float32
	err := r.guarded(ctx, r.s.deps.CFBreaker, r.s.deps.CF.NameVersion(), func(ctx context.Context) error {
		var (
			out []float32
			err error
		)
		if into, ok := r.s.deps.CF.(cfScoreInto); ok {
			out, err = into.ScoreInto(ctx, x, r.sc.scores)
		} else {
			out, err = r.s.deps.CF.Score(ctx, x)
		}
		if err != nil {
			return err
		}
		if len(out) != len(x) {
			return fmt.Errorf("cf returned %d scores for %d items: %w", len(out), len(x), fallback.ErrBadOutput)
		}
		if err := checkFinite("cf", out, false); err != nil {
			return err
		}
		scores = out
		return nil
	})
	if err == nil {
		r.models = append(r.models, r.s.deps.CF.NameVersion())
	}
	return scores, err
}

// guarded runs one model call under its breaker, in a span that names the
// model and the breaker state, and records its duration and outcome.
func (r *run) guarded(ctx context.Context, b Breaker, model string, fn func(context.Context) error) error {
	ctx, span := telemetry.Start(ctx, r.s.deps.Tracer, telemetry.SpanInference, telemetry.AttrModel.String(model))
	start := time.Now()
	err := b.Do(ctx, fn)
	// A call that overran its deadline is a timeout (the breaker's
	// ErrTimeout does not wrap context.DeadlineExceeded); one the open
	// breaker refused ran no inference, and its fallback is counted anyway.
	outcome := err
	if errors.Is(err, fallback.ErrTimeout) {
		outcome = fmt.Errorf("%w (%w)", err, context.DeadlineExceeded)
	}
	if !errors.Is(err, fallback.ErrOpen) {
		r.s.deps.Observer.RecordInference(ctx, model, time.Since(start), outcome)
	}
	span.SetAttributes(telemetry.AttrOutcome.String(telemetry.Outcome(outcome)))
	if st, ok := b.(breakerState); ok {
		span.SetAttributes(telemetry.AttrBreakerState.String(st.State()))
	}
	telemetry.End(span, err)
	return err
}

// candidates gathers the top CF items, the customer's own items and popular
// items that the mode and filters allow, with their feature inputs.
func (r *run) candidates(scores []float32) []cand {
	seen := r.sc.seen
	out := r.sc.cands[:0]
	add := func(j int) {
		if !seen[j] && !r.skip(j) {
			seen[j] = true
			out = append(out, cand{j: j, cf: scores[j], cfPos: -1})
		}
	}
	top := r.s.cfg.CFCandidates
	if r.req.Mode == ModeDiscover {
		top = r.s.cfg.DiscoverCFCandidates
	}
	for pos, j := range cf.TopK(scores, top, r.skip) {
		add(j)
		out[len(out)-1].cfPos = pos
	}
	for _, b := range r.bought {
		add(b.Index)
	}
	n := 0
	for _, j := range r.s.deps.Items.Popular() {
		if n == r.s.cfg.PopularCandidates {
			break
		}
		if !seen[j] && !r.skip(j) {
			add(j)
			n++
		}
	}
	r.addPerCategory(scores, add)
	best := float32(0)
	for _, s := range scores {
		best = max(best, s)
	}
	// The copurchase feature (discover mode only): one pass over the
	// customer's items, each adding its EASE weight to the items that have
	// it among their co-purchase neighbours (features.SetCoPurchase).
	var coBought []float32
	discover := r.req.Mode == ModeDiscover
	if discover {
		if r.sc.coBought == nil {
			r.sc.coBought = make([]float32, len(r.sc.x))
		}
		coBought, r.sc.coBoughtUsed = r.sc.coBought, true
		for _, b := range r.bought {
			features.AddCoBought(r.s.deps.Items.Stats(b.Index), coBought)
		}
	}
	for i := range out {
		c := &out[i]
		c.c = features.Candidate{Customer: r.prof, Item: r.s.deps.Items.Stats(c.j), ItemIndex: c.j, Now: r.now,
			CoBought: coBought, Discover: discover}
		if h := r.owned[c.j]; h != nil {
			c.c.History = h
		}
		if best > 0 {
			c.c.HasCF, c.c.CFScore = true, c.cf/best
		}
	}
	r.sc.cands = out
	return out
}

// rerank scores every candidate with the propensity model in one batch.
func (r *run) rerank(ctx context.Context, cs []cand) error {
	f := r.s.asm.Len()
	if cap(r.sc.rows) < len(cs)*f {
		r.sc.rows = make([]float32, len(cs)*f)
	}
	rows := r.sc.rows[:len(cs)*f]
	fcs := r.sc.fcs[:0]
	for i := range cs {
		fcs = append(fcs, cs[i].c)
	}
	r.sc.fcs = fcs
	defaulted := r.s.asm.Rows(fcs, rows)
	// The probabilities reach the candidates only once the breaker has
	// accepted them: an answer that came after the deadline is a timeout,
	// and the flow (and explain) must not use it.
	var p []float32
	err := r.guarded(ctx, r.s.deps.PropensityBreaker, r.s.deps.Propensity.NameVersion(), func(ctx context.Context) error {
		// Features the customer or item lacked took their declared default.
		trace.SpanFromContext(ctx).SetAttributes(telemetry.AttrFeaturesDefaulted.Int(defaulted))
		out, err := r.s.deps.Propensity.Predict(ctx, rows, len(cs))
		if err != nil {
			return err
		}
		if len(out) != len(cs) {
			return fmt.Errorf("propensity returned %d values for %d rows: %w", len(out), len(cs), fallback.ErrBadOutput)
		}
		if err := checkFinite("propensity", out, true); err != nil {
			return err
		}
		p = out
		return nil
	})
	if err != nil {
		return err
	}
	for i := range cs {
		cs[i].prob, cs[i].hasProb = float64(p[i]), true
		cs[i].score = cs[i].prob
	}
	r.fuse(cs)
	r.models = append(r.models, r.s.deps.Propensity.NameVersion())
	return nil
}

// answer ranks the re-ranked candidates by the blend of fuse: the
// propensity model's order (its weights over CF, buy-again, popularity and
// RFM signals were learned on the training period) fused with the buy-again
// order of the customer's own items; ties broken by the CF score.
func (r *run) answer(ctx context.Context, cs []cand) Response {
	degraded, reason := r.missingProfile()
	return r.respond(ctx, cs, r.s.deps.Propensity.NameVersion(), degraded, reason)
}

// blendWithoutPropensity orders the candidates when the propensity model is
// unavailable: by the CF score alone, which already reconstructs the
// customer's own items strongly. The answer is labelled degraded.
func (r *run) blendWithoutPropensity(ctx context.Context, cs []cand, reason string) Response {
	for i := range cs {
		cs[i].score = float64(cs[i].c.CFScore)
	}
	return r.respond(ctx, cs, r.s.deps.CF.NameVersion(), true, reason)
}

func (r *run) respond(ctx context.Context, cs []cand, source string, degraded bool, reason string) Response {
	_, span := telemetry.Start(ctx, r.s.deps.Tracer, telemetry.SpanBlend)
	defer span.End()
	if degraded {
		span.SetAttributes(telemetry.AttrFallbackReason.String(reason))
		r.s.deps.Observer.RecordFallback(ctx, reason)
	}
	cs = r.best(cs)
	resp := Response{Items: make([]Item, len(cs)), Models: r.models, Degraded: degraded, FallbackReason: reason}
	for i, c := range cs {
		resp.Items[i] = r.item(c.j, i+1, c.score, source, r.modelReasons(&c))
	}
	return resp
}

// best orders the candidates best first (by score, then CF score, then
// index), as far as the answer needs them: the k best without a diversity
// cap, selected without sorting the rest; every candidate, then cut, with one.
func (r *run) best(cs []cand) []cand {
	if r.perCategory() > 0 || r.req.K >= len(cs) {
		slices.SortFunc(cs, func(a, b cand) int { return compareCands(&a, &b) })
		return r.cut(cs)
	}
	k := r.req.K
	top := cs[:k] // a heap of the k best so far, the worst of them at top[0]
	down := func(i int) {
		for {
			l, rt, m := 2*i+1, 2*i+2, i
			if l < k && compareCands(&top[l], &top[m]) > 0 {
				m = l
			}
			if rt < k && compareCands(&top[rt], &top[m]) > 0 {
				m = rt
			}
			if m == i {
				return
			}
			top[i], top[m] = top[m], top[i]
			i = m
		}
	}
	for i := k/2 - 1; i >= 0; i-- {
		down(i)
	}
	for i := k; i < len(cs); i++ {
		if compareCands(&cs[i], &top[0]) < 0 {
			top[0], cs[i] = cs[i], top[0]
			down(0)
		}
	}
	slices.SortFunc(top, func(a, b cand) int { return compareCands(&a, &b) })
	return top
}

// compareCands is negative when a ranks before b.
func compareCands(a, b *cand) int {
	if c := cmp.Compare(b.score, a.score); c != 0 {
		return c
	}
	if c := cmp.Compare(b.cf, a.cf); c != 0 {
		return c
	}
	return cmp.Compare(a.j, b.j)
}

// fallback answers from the deterministic rule chain.
func (r *run) fallback(ctx context.Context, reason string) Response {
	ctx, span := telemetry.Start(ctx, r.s.deps.Tracer, telemetry.SpanFallback, telemetry.AttrFallbackReason.String(reason))
	defer span.End()
	sugg := r.suggest()
	if len(sugg) == 0 {
		return r.withinFilters(ctx)
	}
	r.s.deps.Observer.RecordFallback(ctx, reason)
	resp := Response{Items: make([]Item, len(sugg)), Models: r.models, Degraded: true, FallbackReason: reason}
	for i, sg := range sugg {
		resp.Items[i] = r.item(sg.Index, i+1, sg.Score, "rule:"+sg.Rule, []string{sg.Reason})
	}
	if resp.Models == nil {
		resp.Models = []string{}
	}
	return resp
}

func (r *run) item(j, rank int, score float64, source string, reasons []string) Item {
	it := r.s.deps.Items.Catalog(j)
	return Item{ID: it.ID, Title: it.Title, Price: it.Price, Category: it.Category, InStock: it.IsInStock(),
		Score: score, Rank: rank, Source: source, Reasons: reasons}
}
