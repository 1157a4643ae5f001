package main

import (
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"time"
)

// Targets of DESIGN.md ("Speed and size we hold ourselves to") and the issue.
const (
	targetP50   = time.Millisecond
	targetP99   = 5 * time.Millisecond
	targetRatio = 0.40
	targetRSS   = 300 << 20
	targetReady = 3 * time.Second
)

// closedRecs are the closed-loop recommendation phases: requests that
// repeat (the answer cache may reuse them), then every request new.
func (rep *report) closedRecs() []*phaseResult {
	var out []*phaseResult
	for _, p := range rep.phases {
		if p.route == routeRecs && !p.open {
			out = append(out, p)
		}
	}
	return out
}

// uniqueRecs is the closed-loop phase whose every request is new, or nil.
func (rep *report) uniqueRecs() *phaseResult {
	for _, p := range rep.closedRecs() {
		if p.unique {
			return p
		}
	}
	return nil
}

// workload says what the phase's requests were, with the share of them the
// answer cache answered.
func (p *phaseResult) workload() string {
	what := "the request bodies cycling"
	switch {
	case p.unique:
		what = "every request new (a session id of its own: no answer reusable)"
	case p.rate() > 0 && p.bodies > 0:
		what += fmt.Sprintf(" (each about every %s)", fmtDur(time.Duration(float64(p.bodies)/p.rate()*float64(time.Second))))
	}
	if n := p.answerHits + p.answerMisses; n > 0 {
		return fmt.Sprintf("%s, %.0f%% answered by the answer cache", what, 100*p.answerHits/n)
	}
	return what + ", no answer cache"
}

// verdict says met, or missed by how much.
func verdict(got, limit float64, format func(float64) string) string {
	switch {
	case got <= limit:
		return "**met**"
	case limit == 0:
		return fmt.Sprintf("**missed** by %s", format(got))
	}
	return fmt.Sprintf("**missed** by %s (%.0f%% over)", format(got-limit), 100*(got-limit)/limit)
}

// verdictShare judges a percentile target exactly from the share of
// requests at or below the bound.
func verdictShare(share, want float64) string {
	switch {
	case math.IsNaN(share):
		return "n/a"
	case share >= want:
		return "**met**"
	}
	return fmt.Sprintf("**missed**: %.2f%% of requests within the bound, %.0f%% needed", 100*share, 100*want)
}

// modelFailures counts the answers degraded because a model was unavailable.
func modelFailures(p *phaseResult) int {
	n := 0
	for reason, c := range p.degraded {
		if strings.Contains(reason, "unavailable") {
			n += c
		}
	}
	return n
}

func pick(cond bool, yes, no string) string {
	if cond {
		return yes
	}
	return no
}

// perRequest is d per response of p, in µs.
func perRequest(p *phaseResult, d time.Duration) float64 {
	if p == nil || p.responses() == 0 {
		return math.NaN()
	}
	return float64(d.Microseconds()) / float64(p.responses())
}

// benchNs is the ns/op of the model benchmark whose name starts with name; 0 if absent.
func (rep *report) benchNs(name string) float64 {
	for _, l := range rep.modelBench {
		if l.name == name || strings.HasPrefix(l.name, name+"-") {
			return l.nsOp
		}
	}
	return 0
}

// targets is one line per target: met, or missed by how much, and why as
// far as this run's own figures tell.
func (rep *report) targets() string {
	var b strings.Builder
	c := rep.cfg
	open, recs, health := rep.phase(routeRecs, true), rep.phase(routeRecs, false), rep.phase(routeHealth, false)
	cf, prop := rep.benchNs("BenchmarkCFScore")/1e3, rep.benchNs("BenchmarkPropensityPredict/batch=100")/1e3
	bare := rep.benchNs("BenchmarkCFSession") / 1e3
	if bare == 0 {
		bare = cf
	}
	b.WriteString("\n**Targets.** DESIGN.md holds latency to the server-side figures; the client-side ones add the generator and the Go client, which share the same cores.\n\n")
	if open != nil {
		cores := func(p *phaseResult, d time.Duration) float64 { return d.Seconds() / p.elapsed.Seconds() }
		load := fmt.Sprintf("at %d/s the server kept %.2f of the %d cores busy (%.0f µs of CPU per request), the generator %.2f and other processes %.2f",
			c.rate, cores(open, open.serverCPU), rep.cores, perRequest(open, open.serverCPU), cores(open, open.genCPU), max(cores(open, open.otherCPU), 0))
		clientOver := false
		for _, t := range []struct {
			name  string
			q     float64
			bound time.Duration
		}{{"p50", .5, targetP50}, {"p99", .99, targetP99}} {
			share := open.server.share(t.bound.Seconds())
			fmt.Fprintf(&b, "- %s ≤ %s server-side at %d/s: %s (%.2f%% of requests took at most %s, exact; bucket estimate %s). Client-side %s: %s.\n",
				t.name, fmtDur(t.bound), c.rate, verdictShare(share, t.q), 100*share, fmtDur(t.bound), fmtMS(open.server.quantile(t.q)),
				fmtDur(open.pct(t.q)), verdict(open.pct(t.q).Seconds(), t.bound.Seconds(), fmtMS))
			if share < t.q {
				fmt.Fprintf(&b, "  - Why: %s; requests queue behind each other on the shared cores.\n", load)
			}
			clientOver = clientOver || open.pct(t.q) > t.bound
		}
		if clientOver {
			fmt.Fprintf(&b, "  - Client-side figures over a bound are not server time alone: they hold the generator's own lateness (send lag p50 %s, p99 %s) and the loopback round trip through the Go client; %s.\n",
				fmtDur(percentile(open.lag, .5)), fmtDur(percentile(open.lag, .99)), load)
		}
		if n := modelFailures(open); n > open.responses()/100 {
			fmt.Fprintf(&b, "  - Caution: %d of the %d answers (%.0f%%) skipped a model (deadline or open breaker), so these latencies are mostly the fallback path's.\n", n, open.responses(), 100*float64(n)/float64(open.responses()))
		}
		fmt.Fprintf(&b, "- no errors at %d/s: %d (%d non-2xx, %d transport, %d dropped at the in-flight cap), %s; achieved %.0f req/s. Besides HTTP errors, %d answers fell back because a model was unavailable (deadline or open breaker).\n",
			c.rate, open.errors(), open.non2xx.Load(), open.transport.Load(), open.dropped.Load(),
			verdict(float64(open.errors()), 0, func(f float64) string { return fmt.Sprintf("%.0f errors", f) }), open.rate(), modelFailures(open))
	}
	for _, recs := range rep.closedRecs() {
		if health == nil || health.rate() <= 0 {
			break
		}
		r := recs.rate() / health.rate()
		fmt.Fprintf(&b, "- recommendation throughput ≥ 40%% of `/healthz` at %d concurrent, %s: %.1f%%, ", c.concurrency, recs.workload(), 100*r)
		if r >= targetRatio {
			b.WriteString("**met**.\n")
			continue
		}
		fmt.Fprintf(&b, "**missed** by %.1f points (%.0f/s where %.0f/s is needed).\n", 100*(targetRatio-r), recs.rate(), targetRatio*health.rate())
		hs, hg := perRequest(health, health.serverCPU), perRequest(health, health.genCPU)
		rs, rg := perRequest(recs, recs.serverCPU), perRequest(recs, recs.genCPU)
		fmt.Fprintf(&b, "  - Why: both phases are CPU-bound on %d cores that server and generator share (%.2f and %.2f cores busy during the recommendations phase). "+
			"A recommendation costs the server %.0f µs of CPU against %.0f µs for `/healthz` (%.0f×), and the generator %.0f µs against %.0f µs.",
			rep.cores, recs.serverCPU.Seconds()/recs.elapsed.Seconds(), recs.genCPU.Seconds()/recs.elapsed.Seconds(), rs, hs, rs/hs, rg, hg)
		if cf > 0 {
			bound := (hs + hg) / (hs + hg + cf + prop)
			fmt.Fprintf(&b, " Bare inference alone (CF %.0f µs at batch 1, propensity %.1f µs for 100 rows) costs %.1f× a whole `/healthz` round trip (server and generator): even if everything else in a recommendation cost no more than that round trip, the ratio could not pass %.0f%%.", cf, prop, (cf+prop)/(hs+hg), bound*100)
		}
		b.WriteString("\n")
	}
	if u := rep.uniqueRecs(); u != nil {
		recs = u // the flow's own cost, without reused answers
	}
	if cf > 0 && recs != nil {
		rs := perRequest(recs, recs.serverCPU)
		fmt.Fprintf(&b, "- DESIGN.md, bare inference at batch 1 \"tens of microseconds (about 16 µs for 4,000 items × 64 factors)\", the rest of the request not a multiple of it: CF %.0f µs in a bare session (%.1f× the 16 µs; the fold-in model is two products of that size, interactions × W and then × Yᵀ), %.0f µs through the registry; propensity %.1f µs for 100 rows; "+
			"the server spends %.0f µs of CPU per recommendation at %d concurrent, so the rest of the request is %.1f× the inference: **%s**.\n",
			bare, bare/16, cf, prop, rs, c.concurrency, (rs-cf-prop)/(cf+prop), pick(bare < 100 && rs-cf-prop < 2*(cf+prop), "met", "missed"))
		if flow := rep.benchNs("BenchmarkRecommend/known") / 1e3; flow > 0 {
			fmt.Fprintf(&b, "  - In process, without HTTP and with the machine to itself, the flow takes %.0f µs for one known customer in auto mode asked again and again (`BenchmarkRecommend/known`), so the rest is %.1f× the inference there. On the load generator's mix of customers (profiles cached, but each customer's data cold in the CPU's caches), it takes %.0f µs (`BenchmarkRecommend/mixed`). The server's figure adds HTTP, logging, telemetry and %d requests sharing 2 cores with the generator.\n",
				flow, (flow-cf-prop)/(cf+prop), rep.benchNs("BenchmarkRecommend/mixed")/1e3, c.concurrency)
		}
	}
	fmt.Fprintf(&b, "- RSS ≤ 300 MB: peak VmHWM %s, %s.\n", mb(rep.hwm), verdict(float64(rep.hwm), targetRSS, func(f float64) string { return mb(int64(f)) }))
	var worst time.Duration
	for _, r := range rep.ready {
		worst = max(worst, r.ready)
	}
	fmt.Fprintf(&b, "- ready ≤ 3 s: slowest of the two starts %s, %s.\n", fmtDur(worst), verdict(worst.Seconds(), targetReady.Seconds(), fmtMS))
	return b.String()
}

// notes is the hand-written analysis in -notes, when the file exists.
func (rep *report) notes() string {
	if rep.cfg.notes == "" {
		return ""
	}
	body, err := os.ReadFile(rep.cfg.notes)
	if err != nil {
		return ""
	}
	return fmt.Sprintf("\n**Where the time goes** (hand-written from a profiling session, kept in `%s`; its figures are from that session, not this run)\n\n%s", rep.cfg.notes, strings.TrimSpace(string(body))+"\n")
}

// modelMarkdown reports the model/ benchmarks.
func (rep *report) modelMarkdown() string {
	if rep.modelBenchErr != nil {
		return fmt.Sprintf("- Bare ONNX Runtime inference: the model benchmarks failed: `%s`\n", strings.SplitN(rep.modelBenchErr.Error(), "\n", 2)[0])
	}
	if len(rep.modelBench) == 0 {
		return "- Bare ONNX Runtime inference: not run (`-model-bench=false`)\n"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "- ONNX Runtime inference, one intra-op thread, after the server stopped (`go %s`): `BenchmarkCFSession` is a bare session on tensors made once; the CF and propensity benchmarks after it go through the model registry as the flow calls it (the CF scores written into a reused slice); `BenchmarkRecommend` is the whole recommendation flow in process (profile from the cached store, both models, blend, reasons), one request per iteration:\n\n", strings.Join(modelBenchArgs, " "))
	b.WriteString("| benchmark | batch | ns/op | cpu-ns/op | per row | B/op | allocs/op |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, l := range rep.modelBench {
		batch := 1
		if _, b, ok := strings.Cut(l.name, "/batch="); ok {
			if n, err := strconv.Atoi(strings.Split(b, "-")[0]); err == nil {
				batch = n
			}
		}
		fmt.Fprintf(&b, "| %s | %d | %.0f | %.0f | %.2f µs | %.0f | %.0f |\n", l.name, batch, l.nsOp, l.cpuNsOp, l.nsOp/float64(batch)/1e3, l.bytesOp, l.allocsOp)
	}
	b.WriteString("\n  The server re-ranks all of a request's candidates (about 150) in one propensity batch.\n")
	return b.String()
}
