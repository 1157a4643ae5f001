package recommend

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dgraph-io/ristretto/v2"
)

// AnswerOptions configure NewAnswerCache. Zero fields take the defaults.
type AnswerOptions struct {
	TTL     time.Duration // how long an answer is reused; default 30s
	MaxCost int64         // bound in bytes of encoded answers and keys; default 16 MiB
}

// AnswerCache keeps recent answers, encoded, to reuse for the same question.
// A chatbot asks again within a conversation (a retried webhook, a
// re-rendered carousel, a second widget), and the answer to the same
// customer, session, mode, k, context, filters and diversity cannot have
// changed while the models, the profiles and the reference day stay the
// same.
//
// The key holds every field of the request and the name@version of the
// models (models() at the time of the call), so a model swap never serves
// an old answer. Requests that carry session items are never cached: they
// change the interaction vector at every turn. Answers degraded by a model
// or store failure are not cached either, so that the models' answers
// return as soon as they recover; the rule answers for anonymous, thin or
// flat customers are deterministic and are cached.
//
// Answers are kept as the caller's encoded bytes, which hold no pointers:
// a full cache adds nothing to the garbage collector's marking, and a hit
// costs no encoding. Safe for concurrent use; Close stops ristretto's
// goroutines.
type AnswerCache struct {
	models func() string
	cache  *ristretto.Cache[string, cachedAnswer]
	ttl    time.Duration
	obs    answerObserver
	fbObs  fallbackObserver // obs, when it counts fallbacks too
	mu     sync.RWMutex     // orders Close after every call in flight
	closed bool
}

// answerObserver records hits and misses; *telemetry.Telemetry implements it.
type answerObserver interface {
	RecordAnswerCache(ctx context.Context, hit bool)
}

// fallbackObserver counts fallback answers. When obs implements it too (as
// *telemetry.Telemetry does), a hit on a degraded answer is counted as the
// fallback it is, as the flow counted the answer when it made it.
type fallbackObserver interface {
	RecordFallback(ctx context.Context, reason string)
}

// cachedAnswer is an encoded answer and, when it was degraded, its fallback
// reason.
type cachedAnswer struct {
	body     []byte
	fallback string
}

// NewAnswerCache returns an empty cache. models names the models currently
// serving (it is part of every key); obs may be nil.
func NewAnswerCache(models func() string, opts AnswerOptions, obs answerObserver) (*AnswerCache, error) {
	if models == nil {
		return nil, errors.New("recommend: answer cache: nil models")
	}
	if opts.TTL < 0 || opts.MaxCost < 0 {
		return nil, fmt.Errorf("recommend: answer cache: negative option in %+v", opts)
	}
	if opts.TTL == 0 {
		opts.TTL = 30 * time.Second
	}
	if opts.MaxCost == 0 {
		opts.MaxCost = 16 << 20
	}
	cache, err := ristretto.NewCache(&ristretto.Config[string, cachedAnswer]{
		NumCounters: max(1000, 10*opts.MaxCost/answerCostGuess),
		MaxCost:     opts.MaxCost,
		BufferItems: 64,
	})
	if err != nil {
		return nil, fmt.Errorf("recommend: answer cache: %w", err)
	}
	fbObs, _ := obs.(fallbackObserver)
	return &AnswerCache{models: models, cache: cache, ttl: opts.TTL, obs: obs, fbObs: fbObs}, nil
}

// answerCostGuess is a typical encoded answer's size in bytes (k=10, with
// reasons).
const answerCostGuess = 4 << 10

// Lookup returns the cached answer to req when there is one. Otherwise it
// returns the key to Store the answer under, or "" when req must not be
// cached.
func (c *AnswerCache) Lookup(ctx context.Context, req Request) (body []byte, key string, hit bool) {
	if len(req.Session) > 0 {
		return nil, "", false
	}
	key = answerKey(c.models(), withDefaults(req))
	c.mu.RLock()
	if c.closed {
		c.mu.RUnlock()
		return nil, "", false
	}
	a, hit := c.cache.Get(key)
	c.mu.RUnlock()
	if c.obs != nil {
		c.obs.RecordAnswerCache(ctx, hit)
	}
	if hit && a.fallback != "" && c.fbObs != nil {
		c.fbObs.RecordFallback(ctx, a.fallback)
	}
	body = a.body
	return body, key, hit
}

// Store keeps body, the encoding of resp, under key, unless resp is
// degraded by a failure that may be gone by the next request. The cache
// keeps body: the caller must not modify it afterwards.
func (c *AnswerCache) Store(key string, resp Response, body []byte) {
	if key == "" || transient(resp.FallbackReason) {
		return
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	if !c.closed {
		a := cachedAnswer{body: body}
		if resp.Degraded {
			a.fallback = resp.FallbackReason
		}
		c.cache.SetWithTTL(key, a, int64(len(key)+len(body)), c.ttl)
	}
}

// Wait makes the stores so far visible (ristretto applies them
// asynchronously); for tests.
func (c *AnswerCache) Wait() { c.cache.Wait() }

// Close empties the cache and stops its goroutines. Later lookups miss
// without counting, and later stores keep nothing.
func (c *AnswerCache) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.closed {
		c.closed = true
		c.cache.Close()
	}
}

// transient reports whether a fallback reason names a failure that may be
// gone by the next request.
func transient(reason string) bool {
	for _, r := range []string{ReasonCFUnavailable, ReasonPropensityFailed, ReasonProfileStore} {
		if strings.Contains(reason, r) {
			return true
		}
	}
	return false
}

// answerKey encodes every field of req that can change the answer, and the
// models, unambiguously: strings are length-prefixed, lists counted, and the
// context's keys sorted.
func answerKey(models string, req Request) string {
	b := make([]byte, 0, 128)
	str := func(s string) {
		b = strconv.AppendInt(b, int64(len(s)), 10)
		b = append(b, ':')
		b = append(b, s...)
	}
	strs := func(ss []string) {
		b = strconv.AppendInt(b, int64(len(ss)), 10)
		b = append(b, '[')
		for _, s := range ss {
			str(s)
		}
	}
	price := func(p *float64) {
		if p == nil {
			b = append(b, '-')
			return
		}
		b = strconv.AppendFloat(b, *p, 'g', -1, 64)
		b = append(b, ';')
	}
	str(models)
	str(req.UserID)
	str(req.SessionID)
	str(string(req.Mode))
	b = strconv.AppendInt(b, int64(req.K), 10)
	b = strconv.AppendBool(b, req.Explain)
	keys := make([]string, 0, len(req.Context))
	for k := range req.Context {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = strconv.AppendInt(b, int64(len(keys)), 10)
	for _, k := range keys {
		str(k)
		str(req.Context[k])
	}
	strs(req.Filters.Exclude)
	price(req.Filters.MinPrice)
	price(req.Filters.MaxPrice)
	strs(req.Filters.Categories)
	switch {
	case req.Filters.InStockOnly == nil:
		b = append(b, '-')
	default:
		b = strconv.AppendBool(b, *req.Filters.InStockOnly)
	}
	b = strconv.AppendInt(b, int64(req.Diversity.MaxPerCategory), 10)
	return string(b)
}
