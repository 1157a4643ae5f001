package recommend

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/tailorhq/tailor/cf"
	"github.com/tailorhq/tailor/fallback"
	"github.com/tailorhq/tailor/telemetry"
)

// MaxRankItems is the most items one Rank request may carry.
const MaxRankItems = 500

// RankRequest asks for a caller's own candidate items in the order this
// customer is most likely to buy them, as AWS Personalize's
// GetPersonalizedRanking does.
type RankRequest struct {
	UserID    string            `json:"user_id,omitempty"` // empty for an anonymous session
	SessionID string            `json:"session_id,omitempty"`
	Items     []string          `json:"items"`             // 1..MaxRankItems item ids; a repeated id is ranked once (the api package rejects repeats)
	Context   map[string]string `json:"context,omitempty"` // as Request.Context
	Session   []SessionItem     `json:"-"`                 // context.session_items on the wire
	Explain   bool              `json:"explain,omitempty"`
}

// RankedItem is one of the caller's items, in its place. An id not in the
// catalog has Unknown set, no score, and comes last. An out-of-stock item is
// ranked like any other (the caller chose it) and says so in InStock.
type RankedItem struct {
	ID       string   `json:"id"`
	Title    string   `json:"title,omitempty"`
	Price    *float64 `json:"price,omitempty"` // GBP; nil for an unknown id
	Category string   `json:"category,omitempty"`
	InStock  *bool    `json:"in_stock,omitempty"` // nil for an unknown id
	Score    *float64 `json:"score"`              // nil (null) for an unknown id
	Rank     int      `json:"rank"`
	Source   string   `json:"source,omitempty"` // a model name@version or a rule; empty for an unknown id
	Reasons  []string `json:"reasons"`
	Unknown  bool     `json:"unknown"`
}

// RankResponse is the caller's items in personalised order.
type RankResponse struct {
	Items          []RankedItem `json:"items"`
	Models         []string     `json:"models"` // name@version of every model that answered
	Degraded       bool         `json:"degraded"`
	FallbackReason string       `json:"fallback_reason,omitempty"`
	// IgnoredSessionItems: as Response's.
	IgnoredSessionItems []string `json:"ignored_session_items,omitempty"`
}

// ReasonNotInCatalog is the reason an unknown id carries.
const ReasonNotInCatalog = "Not in the catalog, so it could not be ranked"

// Rank orders req.Items for the customer, with the pieces Recommend uses:
// the profile, the interaction vector (session items included), the CF
// model under its breaker, and the propensity model under its breaker in
// one batch over the known items, through the same feature assembler.
// Every known item comes back, whatever the mode or filters of a
// recommendation would say; ids not in the catalog follow, in the order
// given. Ties keep the order given.
//
// It returns an error only for a cancelled context. Otherwise, labelled
// degraded with the reason:
//   - no profile and no session item, or too little history, or flat CF
//     scores (the uncertainty gate, as for recommendations): the rule order,
//     the customer's own items first (by invoices, then recency), then the
//     rest by popularity;
//   - the CF model failing: the propensity model without the cf_score
//     feature (it takes its default); if that fails too, the rule order;
//   - the propensity model failing: the CF order.
func (s *Service) Rank(ctx context.Context, req RankRequest) (RankResponse, error) {
	sc := s.getScratch()
	defer s.putScratch(sc)
	r := &run{s: s, now: s.cfg.Now(), sc: sc,
		req: Request{UserID: req.UserID, SessionID: req.SessionID, K: len(req.Items), Mode: ModeAuto, Context: req.Context, Session: req.Session, Explain: req.Explain}}
	resp, err := s.rank(ctx, r, req)
	resp.IgnoredSessionItems = r.sess.ignored
	return resp, err
}

// rank is Rank's flow over the run r.
func (s *Service) rank(ctx context.Context, r *run, req RankRequest) (RankResponse, error) {
	sc := r.sc
	r.profile(ctx)
	r.buildSkip()
	r.useSession(ctx) // rules session items out of the CF top list that the reasons quote, not out of the answer
	if err := ctx.Err(); err != nil {
		return RankResponse{}, err
	}
	cs := sc.cands[:0]
	var unknown []string
	for _, id := range req.Items {
		j, ok := s.deps.Items.Index(id)
		switch {
		case !ok && !slices.Contains(unknown, id):
			unknown = append(unknown, id)
		case ok && !sc.seen[j]:
			sc.seen[j] = true // the items supplied, for rankByRules
			cs = append(cs, cand{j: j, cfPos: -1})
		}
	}
	sc.cands = cs
	if len(cs) == 0 {
		return r.ranked(nil, unknown, false, ""), nil
	}
	if reason, uncertain := r.uncertain(); uncertain {
		return r.rankByRules(ctx, cs, unknown, reason), nil
	}
	scores, err := r.cfScores(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return RankResponse{}, ctx.Err()
		}
		reason := ReasonCFUnavailable + ": " + failureKind(err)
		r.rankFeatures(cs, nil)
		if err := r.rerank(ctx, cs); err != nil {
			if ctx.Err() != nil {
				return RankResponse{}, ctx.Err()
			}
			return r.rankByRules(ctx, cs, unknown, reason+"; "+ReasonPropensityFailed+": "+failureKind(err)), nil
		}
		return r.rankByScore(ctx, cs, unknown, s.deps.Propensity.NameVersion(), true, reason), nil
	}
	if reason, flat := s.cfg.Uncertainty.Check(r.historyItems(), scores); flat {
		return r.rankByRules(ctx, cs, unknown, reason), nil
	}
	r.rankFeatures(cs, scores)
	if err := r.rerank(ctx, cs); err != nil {
		if ctx.Err() != nil {
			return RankResponse{}, ctx.Err()
		}
		for i := range cs {
			cs[i].score = float64(cs[i].c.CFScore)
		}
		return r.rankByScore(ctx, cs, unknown, s.deps.CF.NameVersion(), true, ReasonPropensityFailed+": "+failureKind(err)), nil
	}
	degraded, reason := r.missingProfile()
	return r.rankByScore(ctx, cs, unknown, s.deps.Propensity.NameVersion(), degraded, reason), nil
}

// rankFeatures fills each candidate's feature inputs, with its CF score
// (over the customer's best, as in candidates) and its place among the CF
// model's top items, for the reasons, when there are scores.
func (r *run) rankFeatures(cs []cand, scores []float32) {
	var best float32
	var top []int
	if scores != nil {
		for _, s := range scores {
			best = max(best, s)
		}
		top = cf.TopK(scores, reasonCFRank, r.skip)
	}
	for i := range cs {
		c := &cs[i]
		c.c.Customer, c.c.Item, c.c.ItemIndex, c.c.Now = r.prof, r.s.deps.Items.Stats(c.j), c.j, r.now
		if h := r.owned[c.j]; h != nil {
			c.c.History = h
		}
		if scores == nil {
			continue
		}
		c.cf, c.cfPos = scores[c.j], slices.Index(top, c.j)
		if best > 0 {
			c.c.HasCF, c.c.CFScore = true, c.cf/best
		}
	}
}

// rankByScore orders the candidates by their score, ties by the CF score,
// then in the order given.
func (r *run) rankByScore(ctx context.Context, cs []cand, unknown []string, source string, degraded bool, reason string) RankResponse {
	_, span := telemetry.Start(ctx, r.s.deps.Tracer, telemetry.SpanBlend)
	defer span.End()
	if degraded {
		span.SetAttributes(telemetry.AttrFallbackReason.String(reason))
		r.s.deps.Observer.RecordFallback(ctx, reason)
	}
	slices.SortStableFunc(cs, func(a, b cand) int {
		return cmp.Or(cmp.Compare(b.score, a.score), cmp.Compare(b.cf, a.cf))
	})
	items := make([]RankedItem, len(cs))
	for i := range cs {
		items[i] = r.rankedItem(cs[i].j, i+1, cs[i].score, source, r.modelReasons(&cs[i]))
	}
	return r.ranked(items, unknown, degraded, reason)
}

// rankByRules orders the candidates without the models: the customer's own
// items first, as the buy-again rule orders them, then the rest by
// popularity, then in the order given. Scores fall from 1 by rank.
func (r *run) rankByRules(ctx context.Context, cs []cand, unknown []string, reason string) RankResponse {
	ctx, span := telemetry.Start(ctx, r.s.deps.Tracer, telemetry.SpanFallback, telemetry.AttrFallbackReason.String(reason))
	defer span.End()
	r.s.deps.Observer.RecordFallback(ctx, reason)
	supplied := r.sc.seen // by vocabulary index, set by Rank
	n := len(cs)
	items := make([]RankedItem, 0, n)
	placed := make(map[int]bool, n)
	add := func(j int, source, why string) {
		items = append(items, r.rankedItem(j, len(items)+1, float64(n-len(items))/float64(n), source, []string{why}))
		placed[j] = true
	}
	own := fallback.BuyAgain().Suggest(fallback.Input{Bought: r.bought, Skip: func(j int) bool { return !supplied[j] }, Now: r.now}, n)
	for _, sg := range own {
		add(sg.Index, "rule:"+sg.Rule, sg.Reason)
	}
	popular := func(j int) {
		if !placed[j] {
			add(j, "rule:"+fallback.RulePopularOverall, popularityReason(r.s.deps.Items.Catalog(j).Buyers))
		}
	}
	for _, j := range r.s.deps.Items.Popular() {
		if len(items) == n {
			break
		}
		if supplied[j] {
			popular(j)
		}
	}
	for _, c := range cs { // any the popular list lacks, in the order given
		popular(c.j)
	}
	return r.ranked(items, unknown, true, reason)
}

func popularityReason(buyers int) string {
	switch buyers {
	case 0:
		return "Ranked by popularity; no customer has bought it yet"
	case 1:
		return "Ranked by popularity: 1 customer bought it"
	}
	return fmt.Sprintf("Ranked by popularity: %d customers bought it", buyers)
}

func (r *run) rankedItem(j, rank int, score float64, source string, reasons []string) RankedItem {
	it := r.s.deps.Items.Catalog(j)
	price, inStock := it.Price, it.IsInStock()
	return RankedItem{ID: it.ID, Title: it.Title, Price: &price, Category: it.Category, InStock: &inStock,
		Score: &score, Rank: rank, Source: source, Reasons: reasons}
}

// ranked appends the unknown ids to the ranked known items.
func (r *run) ranked(items []RankedItem, unknown []string, degraded bool, reason string) RankResponse {
	for _, id := range unknown {
		items = append(items, RankedItem{ID: id, Rank: len(items) + 1, Reasons: []string{ReasonNotInCatalog}, Unknown: true})
	}
	models := r.models
	if models == nil {
		models = []string{}
	}
	return RankResponse{Items: items, Models: models, Degraded: degraded, FallbackReason: reason}
}
