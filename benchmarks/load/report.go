package main

import (
	"fmt"
	"maps"
	"math"
	"runtime"
	"slices"
	"strings"
	"time"
)

const (
	beginMarker = "<!-- load:begin -->"
	endMarker   = "<!-- load:end -->"
)

// percentile is the nearest-rank q-quantile of sorted: the smallest value
// with at least q·n values at or below it; 0 for none.
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// quantile estimates the q-quantile of a cumulative histogram as
// Prometheus's histogram_quantile does: linear interpolation inside the
// bucket that holds the rank, 0 as the lower edge of the first bucket, and
// the highest finite bound when the rank falls in the +Inf bucket. It is
// only as fine as the buckets. NaN for an empty histogram.
func (h *histogram) quantile(q float64) float64 {
	if h == nil || len(h.counts) == 0 || h.total() <= 0 {
		return math.NaN()
	}
	rank := q * h.total()
	for i, c := range h.counts {
		if c < rank || c == 0 {
			continue
		}
		if math.IsInf(h.bounds[i], 1) {
			if i == 0 {
				return math.NaN()
			}
			return h.bounds[i-1]
		}
		lower, below := 0.0, 0.0
		if i > 0 {
			lower, below = h.bounds[i-1], h.counts[i-1]
		}
		if c == below {
			return h.bounds[i]
		}
		return lower + (h.bounds[i]-lower)*(rank-below)/(c-below)
	}
	return h.bounds[len(h.bounds)-1]
}

func (h *histogram) total() float64 { return h.counts[len(h.counts)-1] }

// share is the exact fraction of requests at or below bound, which must be
// one of the bucket bounds; NaN otherwise.
func (h *histogram) share(bound float64) float64 {
	if h == nil || len(h.counts) == 0 || h.total() <= 0 {
		return math.NaN()
	}
	if i := slices.Index(h.bounds, bound); i >= 0 {
		return h.counts[i] / h.total()
	}
	return math.NaN()
}

type readyFigure struct {
	what  string
	ready time.Duration
	self  string // the server's own "ready in"
	store string
}

type report struct {
	cfg           config
	started       time.Time
	machine       string
	cores         int
	build         string
	loadavg       string
	known, bodies int
	ready         []readyFigure
	phases        []*phaseResult
	rss, hwm      int64
	modelBench    []benchLine
	modelBenchErr error
}

func fmtDur(d time.Duration) string { return fmtMS(d.Seconds()) }

func fmtMS(s float64) string {
	switch ms := s * 1e3; {
	case math.IsNaN(ms):
		return "n/a"
	case ms < 1:
		return fmt.Sprintf("%.3f ms", ms)
	case ms < 10:
		return fmt.Sprintf("%.2f ms", ms)
	case ms < 1000:
		return fmt.Sprintf("%.1f ms", ms)
	default:
		return fmt.Sprintf("%.2f s", ms/1e3)
	}
}

func mb(b int64) string { return fmt.Sprintf("%.0f MB", float64(b)/(1<<20)) }

func (rep *report) phase(route string, open bool) *phaseResult {
	for _, p := range rep.phases {
		if p.route == route && p.open == open {
			return p
		}
	}
	return nil
}

// markdown is the section written between the load markers.
func (rep *report) markdown() string {
	var b strings.Builder
	c := rep.cfg
	fmt.Fprintf(&b, "%s\n## Latency, throughput, memory and start-up (loopback)\n\n", beginMarker)
	fmt.Fprintf(&b, "- Command: `make bench` (`go run ./benchmarks/load%s`), server `%s` built from %s\n", strings.Join(append([]string{""}, c.args...), " "), c.server, rep.build)
	fmt.Fprintf(&b, "- Date: %s UTC; machine: %s; %s; 1-minute load average before the run: %s\n", rep.started.Format("2006-01-02 15:04"), rep.machine, runtime.Version(), rep.loadavg)
	fmt.Fprintf(&b, "- Server and load generator share these cores. Requests cycle through the %d known customers of `%s`, shuffled, with an unknown id after every nine (%d bodies, 10%% unknown), 30%% `discover` and 70%% `auto`, k=10. Each phase runs %s after a %s warm-up at %d/s; the open loop caps %d requests in flight (a request over the cap is dropped and counted as an error).\n\n",
		rep.known, c.customers, rep.bodies, c.duration, c.warmup, c.rate, maxInFlight)

	b.WriteString("| route | load | sent | responses | achieved req/s | p50 | p90 | p99 | max | non-2xx | transport errors | dropped |\n")
	b.WriteString("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, p := range rep.phases {
		fmt.Fprintf(&b, "| `%s` | %s | %d | %d | %.0f | %s | %s | %s | %s | %d | %d | %d |\n", p.route, p.load, p.sent, p.responses(), p.rate(),
			fmtDur(p.pct(.5)), fmtDur(p.pct(.9)), fmtDur(p.pct(.99)), fmtDur(p.pct(1)), p.non2xx.Load(), p.transport.Load(), p.dropped.Load())
	}
	b.WriteString("\nClient-side latencies are exact (every one kept and sorted; nearest rank), measured to the end of the response body: in the open loop from the *scheduled* send time, so a slow answer or a late generator counts against the server (no coordinated omission); in the closed loop from the actual send.\n\n")

	b.WriteString("| route | load | server p50 | server p99 | server share ≤ 1 ms | server share ≤ 5 ms | server CPU per request | generator CPU per request | other CPU (cores) | generator send lag p50 / p99 / max |\n")
	b.WriteString("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n")
	for _, p := range rep.phases {
		lag := "closed loop"
		if p.open {
			lag = fmt.Sprintf("%s / %s / %s", fmtDur(percentile(p.lag, .5)), fmtDur(percentile(p.lag, .99)), fmtDur(percentile(p.lag, 1)))
		}
		per := func(d time.Duration) string {
			if p.responses() == 0 {
				return "n/a"
			}
			return fmt.Sprintf("%.0f µs", float64(d.Microseconds())/float64(p.responses()))
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %.2f%% | %.2f%% | %s | %s | %.2f | %s |\n", p.route, p.load, fmtMS(p.server.quantile(.5)), fmtMS(p.server.quantile(.99)),
			100*p.server.share(0.001), 100*p.server.share(0.005), per(p.serverCPU), per(p.genCPU), max(p.otherCPU.Seconds(), 0)/p.elapsed.Seconds(), lag)
	}
	b.WriteString("\nServer-side figures come from the deltas of `tailor_http_request_duration_seconds{route}` over each phase (the telemetry middleware times each request from routing to the handler's return, so net/http's reading of the request, the final flush and the kernel are outside it): the percentiles are **bucket-resolution** estimates (linear interpolation inside the bucket, bounds 0.1, 0.25, 0.5, 1, 2.5, 5 ms, ...), while the shares at 1 ms and 5 ms are exact because those are bucket bounds. CPU per request: the server's from `/proc/PID/stat` (10 ms ticks), the generator's from getrusage, over the phase; other CPU: the machine's busy time from `/proc/stat` minus both, in cores (other work on the machine disturbs the figures). Send lag: how late the generator sent each open-loop request; it is included in the client-side latency.\n\n")

	for _, p := range rep.phases {
		if len(p.degraded) > 0 || len(p.statuses) > 0 || p.firstErr != "" || p.capped {
			fmt.Fprintf(&b, "- `%s` %s:", p.route, p.load)
			for _, k := range slices.Sorted(maps.Keys(p.degraded)) {
				fmt.Fprintf(&b, " degraded `%s` %d;", k, p.degraded[k])
			}
			for _, k := range slices.Sorted(maps.Keys(p.statuses)) {
				fmt.Fprintf(&b, " status %d ×%d;", k, p.statuses[k])
			}
			if p.firstErr != "" {
				fmt.Fprintf(&b, " first transport error: `%s`;", p.firstErr)
			}
			if p.capped {
				b.WriteString(" stopped at its request bound before its time;")
			}
			b.WriteString("\n")
		}
	}
	b.WriteString("  (Degraded answers are 200s that say so: unknown ids get the rules by design.)\n\n")

	if health := rep.phase(routeHealth, false); health != nil && health.rate() > 0 {
		for _, recs := range rep.closedRecs() {
			fmt.Fprintf(&b, "- Throughput at %d concurrent, %s: `/v1/recommendations` %.0f/s, `/healthz` %.0f/s, ratio **%.1f%%**\n",
				c.concurrency, recs.workload(), recs.rate(), health.rate(), 100*recs.rate()/health.rate())
		}
	}
	fmt.Fprintf(&b, "- Resident memory of the server after the phases: VmRSS %s, peak VmHWM %s\n", mb(rep.rss), mb(rep.hwm))
	for _, r := range rep.ready {
		fmt.Fprintf(&b, "- Time to ready, %s: **%s** from process start to the first `/readyz` 200 (polled every 5 ms; the server's own figure: %s; log: %s)\n", r.what, fmtDur(r.ready), r.self, r.store)
	}
	b.WriteString(rep.modelMarkdown())

	b.WriteString(rep.targets())
	b.WriteString(rep.notes())
	fmt.Fprintf(&b, "%s\n", endMarker)
	return b.String()
}
