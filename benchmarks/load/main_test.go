package main

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		var out []time.Duration
		for _, x := range v {
			out = append(out, time.Duration(x)*time.Millisecond)
		}
		return out
	}
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i+1) * time.Millisecond
	}
	for _, tc := range []struct {
		name   string
		sorted []time.Duration
		q      float64
		want   time.Duration
	}{
		{"empty", nil, 0.5, 0},
		{"one", ms(7), 0.99, 7 * time.Millisecond},
		{"median of odd", ms(1, 2, 3), 0.5, 2 * time.Millisecond},
		{"median of even is the lower", ms(1, 2, 3, 4), 0.5, 2 * time.Millisecond},
		{"p90 of 1..100", hundred, 0.9, 90 * time.Millisecond},
		{"p99 of 1..100", hundred, 0.99, 99 * time.Millisecond},
		{"p50 of 1..100", hundred, 0.5, 50 * time.Millisecond},
		{"max", hundred, 1, 100 * time.Millisecond},
		{"min", hundred, 0, time.Millisecond},
		{"p99 of 10 is the max", ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 0.99, 10 * time.Millisecond},
	} {
		if got := percentile(tc.sorted, tc.q); got != tc.want {
			t.Errorf("%s: percentile(%v) = %v, want %v", tc.name, tc.q, got, tc.want)
		}
	}
}

func TestHistogramQuantile(t *testing.T) {
	inf := math.Inf(1)
	bounds := []float64{0.001, 0.0025, 0.005, inf}
	for _, tc := range []struct {
		name   string
		counts []float64
		q      float64
		want   float64
	}{
		{"first bucket from 0", []float64{10, 10, 10, 10}, 0.5, 0.0005},
		{"inside the second bucket", []float64{50, 100, 100, 100}, 0.75, 0.00175},
		{"rank on a bound", []float64{50, 100, 100, 100}, 0.5, 0.001},
		{"p99 in the third bucket", []float64{0, 0, 100, 100}, 0.99, 0.0025 + 0.0025*0.99},
		{"in +Inf: highest finite bound", []float64{0, 0, 50, 100}, 0.99, 0.005},
		{"empty", []float64{0, 0, 0, 0}, 0.5, math.NaN()},
	} {
		h := &histogram{bounds: bounds, counts: tc.counts}
		got := h.quantile(tc.q)
		if math.IsNaN(tc.want) != math.IsNaN(got) || (!math.IsNaN(got) && math.Abs(got-tc.want) > 1e-12) {
			t.Errorf("%s: quantile(%v) = %v, want %v", tc.name, tc.q, got, tc.want)
		}
	}
	h := &histogram{bounds: bounds, counts: []float64{25, 80, 99, 100}}
	if got := h.share(0.001); got != 0.25 {
		t.Errorf("share(1ms) = %v, want 0.25", got)
	}
	if got := h.share(0.002); !math.IsNaN(got) {
		t.Errorf("share(2ms) = %v, want NaN (not a bound)", got)
	}
}

// TestScrapeDelta parses the exposition format, sums over statuses and
// subtracts the scrape before the phase.
func TestScrapeDelta(t *testing.T) {
	page := func(ok1, ok2, bad string) string {
		return `# TYPE tailor_http_request_duration_seconds histogram
tailor_http_request_duration_seconds_bucket{method="POST",route="/v1/recommendations",status="200",le="0.001"} ` + ok1 + `
tailor_http_request_duration_seconds_bucket{method="POST",route="/v1/recommendations",status="200",le="+Inf"} ` + ok2 + `
tailor_http_request_duration_seconds_bucket{method="POST",route="/v1/recommendations",status="400",le="0.001"} ` + bad + `
tailor_http_request_duration_seconds_bucket{method="POST",route="/v1/recommendations",status="400",le="+Inf"} ` + bad + `
tailor_http_request_duration_seconds_bucket{method="GET",route="/healthz",status="200",le="0.001"} 9
tailor_http_request_duration_seconds_bucket{method="GET",route="/healthz",status="200",le="+Inf"} 9
tailor_http_request_duration_seconds_sum{method="GET",route="/healthz",status="200"} 0.001
`
	}
	before, err := parseHistograms(strings.NewReader(page("1", "2", "0")))
	if err != nil {
		t.Fatal(err)
	}
	after, err := parseHistograms(strings.NewReader(page("11", "22", "3")))
	if err != nil {
		t.Fatal(err)
	}
	d := delta(after, before, routeRecs)
	if len(d.bounds) != 2 || d.bounds[0] != 0.001 || !math.IsInf(d.bounds[1], 1) || d.counts[0] != 13 || d.counts[1] != 23 {
		t.Errorf("delta = %+v, want bounds [0.001 +Inf] counts [13 23]", d)
	}
	if delta(after, before, "/nope") != nil {
		t.Error("delta of an absent route is not nil")
	}
}

func TestAnswerLookups(t *testing.T) {
	page := `# HELP tailor_answer_cache_lookups_total Recommendation requests looked up in the answer cache.
# TYPE tailor_answer_cache_lookups_total counter
tailor_answer_cache_lookups_total{result="hit"} 1234
tailor_answer_cache_lookups_total{result="miss"} 56
tailor_feature_cache_hits_total 99
`
	if hits, misses := answerLookups([]byte(page)); hits != 1234 || misses != 56 {
		t.Errorf("answerLookups = %v hits, %v misses; want 1234 and 56", hits, misses)
	}
	if hits, misses := answerLookups([]byte("tailor_feature_cache_hits_total 99\n")); hits != 0 || misses != 0 {
		t.Errorf("without an answer cache: %v, %v", hits, misses)
	}
	p := &phaseResult{lat: make([]time.Duration, 1000), elapsed: time.Second, bodies: 500, answerHits: 900, answerMisses: 100}
	if got := p.workload(); !strings.Contains(got, "every 500.0 ms") || !strings.Contains(got, "90% answered by the answer cache") {
		t.Errorf("workload() = %q", got)
	}
	p.unique, p.answerHits, p.answerMisses = true, 0, 0
	if got := p.workload(); !strings.Contains(got, "every request new") || !strings.Contains(got, "no answer cache") {
		t.Errorf("workload() = %q", got)
	}
}

func TestParseBench(t *testing.T) {
	out := "goos: linux\nBenchmarkCFScore-2   \t   60000\t     19876 ns/op\t   18500 cpu-ns/op\t   14464 B/op\t       5 allocs/op\nPASS\n"
	got := parseBench(out)
	if len(got) != 1 || got[0].name != "BenchmarkCFScore-2" || got[0].n != 60000 || got[0].nsOp != 19876 || got[0].cpuNsOp != 18500 || got[0].bytesOp != 14464 || got[0].allocsOp != 5 {
		t.Errorf("parseBench = %+v", got)
	}
}
