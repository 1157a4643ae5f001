package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

const (
	routeRecs   = "/v1/recommendations"
	routeHealth = "/healthz"
	// maxInFlight caps the open loop; a request that finds it full is
	// dropped and counted as an error.
	maxInFlight = 256
	// maxClosedRate bounds the closed loop's request count per second of
	// phase (the latency slice is preallocated for it).
	maxClosedRate = 100_000
)

// requestBodies are the recommendation requests, cycled through in order:
// every known customer once, shuffled, with an unknown id after every nine
// (10%), 30% of them in discover mode and the rest auto; k=10.
func requestBodies(path string) (bodies [][]byte, known int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", path, err)
	}
	var ids []string
	for dec := json.NewDecoder(zr); ; {
		var c struct {
			ID string `json:"id"`
		}
		if err := dec.Decode(&c); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, 0, fmt.Errorf("%s: %w", path, err)
		}
		if c.ID != "" {
			ids = append(ids, c.ID)
		}
	}
	if len(ids) == 0 {
		return nil, 0, fmt.Errorf("%s: no customers", path)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	rng.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
	body := func(id string) []byte {
		mode := "auto"
		if rng.IntN(10) < 3 {
			mode = "discover"
		}
		return fmt.Appendf(nil, `{"user_id":%q,"k":10,"mode":%q}`, id, mode)
	}
	for i, id := range ids {
		bodies = append(bodies, body(id))
		if i%9 == 8 {
			bodies = append(bodies, body(fmt.Sprintf("unknown-%d", i)))
		}
	}
	return bodies, len(ids), nil
}

type generator struct {
	client *http.Client
	base   string
	bodies [][]byte
	next   int // first body of the next phase, so that phases go on through the customers
}

func newGenerator(s *server, bodies [][]byte) *generator {
	tr := &http.Transport{
		Proxy:               nil, // loopback only, whatever the environment says
		DialContext:         (&net.Dialer{Timeout: 2 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        2 * maxInFlight,
		MaxIdleConnsPerHost: 2 * maxInFlight, // ≥ concurrency and ≥ the open loop's in-flight cap
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	return &generator{client: &http.Client{Transport: tr, Timeout: 10 * time.Second}, base: s.base, bodies: bodies}
}

// phaseResult holds every latency of one phase.
type phaseResult struct {
	route, load string
	open        bool
	sent        int
	lat, lag    []time.Duration // lat: of every response; lag: send time minus scheduled time (open loop)
	non2xx      atomic.Int64
	transport   atomic.Int64
	dropped     atomic.Int64
	elapsed     time.Duration
	serverCPU   time.Duration
	genCPU      time.Duration
	otherCPU    time.Duration // the rest of the machine: other processes, the kernel's share not charged to either
	server      *histogram    // delta of the server's histogram for the route over the phase
	capped      bool          // the closed loop hit its request bound before its time
	mu          sync.Mutex
	statuses    map[int]int
	firstErr    string
	degraded    map[string]int // fallback_reason of 2xx recommendation answers
	unique      bool           // every request carries a session id of its own
	bodies      int            // distinct request bodies the phase cycles through
	// Answer-cache lookups over the phase, from /metrics.
	answerHits, answerMisses float64
}

func newResult(route, load string, n int, open bool) *phaseResult {
	r := &phaseResult{route: route, load: load, open: open, lat: make([]time.Duration, n),
		statuses: map[int]int{}, degraded: map[string]int{}}
	for i := range r.lat {
		r.lat[i] = -1
	}
	if open {
		r.lag = slices.Clone(r.lat)
	}
	return r
}

// finish drops the slots without a response and sorts the latencies.
func (r *phaseResult) finish() {
	keep := func(d time.Duration) bool { return d < 0 }
	r.lat = slices.DeleteFunc(r.lat, keep)
	r.lag = slices.DeleteFunc(r.lag, keep)
	slices.Sort(r.lat)
	slices.Sort(r.lag)
}

func (r *phaseResult) responses() int              { return len(r.lat) }
func (r *phaseResult) errors() int64               { return r.non2xx.Load() + r.transport.Load() + r.dropped.Load() }
func (r *phaseResult) pct(q float64) time.Duration { return percentile(r.lat, q) }
func (r *phaseResult) rate() float64 {
	if r.elapsed <= 0 {
		return 0
	}
	return float64(len(r.lat)) / r.elapsed.Seconds()
}

// do sends request i of the phase; it reports whether a response came back.
func (g *generator) do(ctx context.Context, r *phaseResult, i int) bool {
	var req *http.Request
	var err error
	if r.route == routeRecs {
		body := g.bodies[(g.next+i)%len(g.bodies)]
		if r.unique {
			body = fmt.Appendf(append([]byte(nil), body[:len(body)-1]...), `,"session_id":"load-%d"}`, g.next+i)
		}
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, g.base+r.route, bytes.NewReader(body))
		if err == nil {
			req.Header.Set("Content-Type", "application/json")
		}
	} else {
		req, err = http.NewRequestWithContext(ctx, http.MethodGet, g.base+r.route, nil)
	}
	if err != nil {
		r.fail(err)
		return false
	}
	resp, err := g.client.Do(req)
	if err != nil {
		r.fail(err)
		return false
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		r.fail(err)
		return false
	}
	switch {
	case resp.StatusCode/100 != 2:
		r.non2xx.Add(1)
		r.mu.Lock()
		r.statuses[resp.StatusCode]++
		r.mu.Unlock()
	case r.route == routeRecs && bytes.Contains(body, []byte(`"degraded":true`)):
		reason := "unknown"
		if _, after, ok := bytes.Cut(body, []byte(`"fallback_reason":"`)); ok {
			if v, _, ok := bytes.Cut(after, []byte(`"`)); ok {
				reason = string(v)
			}
		}
		r.mu.Lock()
		r.degraded[reason]++
		r.mu.Unlock()
	}
	return true
}

func (r *phaseResult) fail(err error) {
	r.transport.Add(1)
	r.mu.Lock()
	if r.firstErr == "" {
		r.firstErr = err.Error()
	}
	r.mu.Unlock()
}

// openLoop sends rate requests per second for dur at fixed times whatever
// the responses, and measures each latency from its scheduled send time, so
// that a slow response delays no measurement (no coordinated omission).
func (g *generator) openLoop(ctx context.Context, label, route string, rate int, dur time.Duration) *phaseResult {
	n := int(int64(rate) * int64(dur) / int64(time.Second))
	r := newResult(route, fmt.Sprintf("%d/s (%s, open loop)", rate, label), n, true)
	sem := make(chan struct{}, maxInFlight)
	var wg sync.WaitGroup
	cpu0 := selfCPU()
	start := time.Now().Add(time.Millisecond)
	for i := range n {
		sched := start.Add(time.Duration(int64(i) * int64(time.Second) / int64(rate)))
		if d := time.Until(sched); d > 0 {
			time.Sleep(d)
		}
		if ctx.Err() != nil {
			break
		}
		r.sent++
		select {
		case sem <- struct{}{}:
		default:
			r.dropped.Add(1)
			continue
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			r.lag[i] = time.Since(sched)
			if g.do(ctx, r, i) {
				r.lat[i] = time.Since(sched)
			}
		}()
	}
	wg.Wait()
	r.elapsed, r.genCPU = time.Since(start), selfCPU()-cpu0
	g.next += n
	r.finish()
	return r
}

// closedLoop runs conc workers that each send the next request as soon as
// the last one is answered, for dur or maxClosedRate·dur requests.
func (g *generator) closedLoop(ctx context.Context, route string, conc int, dur time.Duration, unique bool) *phaseResult {
	limit := int64(maxClosedRate * dur.Seconds())
	label := fmt.Sprintf("%d concurrent (closed loop)", conc)
	if unique {
		label = fmt.Sprintf("%d concurrent (closed loop, every request new)", conc)
	}
	r := newResult(route, label, int(limit), false)
	r.unique, r.bodies = unique, len(g.bodies)
	var next, sent atomic.Int64
	var wg sync.WaitGroup
	cpu0 := selfCPU()
	start := time.Now()
	deadline := start.Add(dur)
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil && time.Now().Before(deadline) {
				i := next.Add(1) - 1
				if i >= limit {
					return
				}
				sent.Add(1)
				t := time.Now()
				if g.do(ctx, r, int(i)) {
					r.lat[i] = time.Since(t)
				}
			}
		}()
	}
	wg.Wait()
	r.elapsed, r.genCPU = time.Since(start), selfCPU()-cpu0
	r.sent, r.capped = int(sent.Load()), sent.Load() >= limit
	g.next += r.sent
	r.finish()
	return r
}

// selfCPU is the generator's own user+system CPU time.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
