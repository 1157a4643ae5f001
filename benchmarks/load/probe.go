package main

import (
	"bufio"
	"bytes"
	"context"
	"debug/buildinfo"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Figures read from the server process, its /metrics and the model/ benchmarks.

const durationMetric = "tailor_http_request_duration_seconds_bucket{"

// answerMetric counts the answer cache's lookups by result.
const answerMetric = "tailor_answer_cache_lookups_total"

// histogram is a cumulative Prometheus histogram: counts[i] requests took at
// most bounds[i] seconds; the last bound is +Inf.
type histogram struct {
	bounds []float64
	counts []float64
}

// snapshot is what a scrape of /metrics keeps: the request-duration
// histogram of every route, summed over methods and statuses, and the
// answer cache's lookups so far.
type snapshot struct {
	hists        map[string]*histogram
	hits, misses float64
}

// scrape reads /metrics.
func (s *server) scrape(ctx context.Context) (snapshot, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.base+"/metrics", nil)
	if err != nil {
		return snapshot{}, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return snapshot{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return snapshot{}, fmt.Errorf("/metrics: %s", resp.Status)
	}
	page, err := io.ReadAll(resp.Body)
	if err != nil {
		return snapshot{}, err
	}
	hists, err := parseHistograms(bytes.NewReader(page))
	hits, misses := answerLookups(page)
	return snapshot{hists: hists, hits: hits, misses: misses}, err
}

// answerLookups reads tailor_answer_cache_lookups_total by result; zeros
// when the server has no answer cache.
func answerLookups(page []byte) (hits, misses float64) {
	for line := range strings.Lines(string(page)) {
		rest, ok := strings.CutPrefix(line, answerMetric+"{")
		if !ok {
			continue
		}
		labels, value, ok := strings.Cut(rest, "} ")
		if !ok {
			continue
		}
		n, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil {
			continue
		}
		switch {
		case strings.Contains(labels, `result="hit"`):
			hits += n
		case strings.Contains(labels, `result="miss"`):
			misses += n
		}
	}
	return hits, misses
}

var labelRE = regexp.MustCompile(`(\w+)="((?:[^"\\]|\\.)*)"`)

func parseHistograms(r io.Reader) (map[string]*histogram, error) {
	byRoute := map[string]map[float64]float64{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), durationMetric)
		if !ok {
			continue
		}
		labels, value, ok := strings.Cut(rest, "} ")
		if !ok {
			continue
		}
		n, err := strconv.ParseFloat(strings.Fields(value)[0], 64)
		if err != nil {
			return nil, fmt.Errorf("metrics line %q: %w", sc.Text(), err)
		}
		var route string
		le := -1.0
		for _, m := range labelRE.FindAllStringSubmatch(labels, -1) {
			switch m[1] {
			case "route":
				route = m[2]
			case "le":
				if le, err = strconv.ParseFloat(m[2], 64); err != nil { // "+Inf" parses as +Inf
					return nil, fmt.Errorf("metrics line %q: %w", sc.Text(), err)
				}
			}
		}
		if route == "" || le < 0 {
			continue
		}
		if byRoute[route] == nil {
			byRoute[route] = map[float64]float64{}
		}
		byRoute[route][le] += n
	}
	out := map[string]*histogram{}
	for route, m := range byRoute {
		h := &histogram{}
		for le := range m {
			h.bounds = append(h.bounds, le)
		}
		slices.Sort(h.bounds)
		for _, le := range h.bounds {
			h.counts = append(h.counts, m[le])
		}
		out[route] = h
	}
	return out, sc.Err()
}

// delta is after minus before for one route; nil when the route is absent.
func delta(after, before map[string]*histogram, route string) *histogram {
	a := after[route]
	if a == nil {
		return nil
	}
	d := &histogram{bounds: a.bounds, counts: append([]float64(nil), a.counts...)}
	if b := before[route]; b != nil {
		for i, le := range a.bounds {
			for j, ble := range b.bounds {
				if ble == le {
					d.counts[i] -= b.counts[j]
				}
			}
		}
	}
	return d
}

// cpu is the server's user+system CPU time so far, from /proc/PID/stat
// (clock ticks, 10 ms each on Linux).
func (s *server) cpu() time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.pid()))
	if err != nil {
		return 0
	}
	// Fields after the ")" closing the command name; utime and stime are
	// fields 14 and 15 of the whole line, 12 and 13 of this rest.
	_, rest, _ := strings.Cut(string(b), ") ")
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+st) * (time.Second / 100)
}

// memory is VmRSS and VmHWM (peak) of the server in bytes.
func (s *server) memory() (rss, hwm int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.pid()))
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, _ := strings.Cut(line, ":")
		f := strings.Fields(v)
		if len(f) != 2 || f[1] != "kB" {
			continue
		}
		n, _ := strconv.ParseInt(f[0], 10, 64)
		switch k {
		case "VmRSS":
			rss = n << 10
		case "VmHWM":
			hwm = n << 10
		}
	}
	if rss == 0 {
		return 0, 0, fmt.Errorf("no VmRSS in /proc/%d/status", s.pid())
	}
	return rss, hwm, nil
}

// benchLine is one result line of `go test -bench`.
type benchLine struct {
	name                   string
	n                      int
	nsOp, cpuNsOp, bytesOp float64
	allocsOp               float64
}

const modelBenchPattern = `BenchmarkCFSession$|BenchmarkCFScore$|BenchmarkPropensityPredict|BenchmarkRecommend`

var modelBenchArgs = []string{"test", "-run", "^$", "-bench", modelBenchPattern, "-benchmem", "./model/", "./recommend/"}

// runModelBench runs the model/ benchmarks of inference (the CF model at
// batch 1 in a bare session and through the registry as the flow calls it,
// propensity at batch 1, 100 and 150) and recommend/'s benchmark of the
// whole flow in process.
func runModelBench(ctx context.Context) ([]benchLine, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "go", modelBenchArgs...).CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("go %s: %w\n%s", strings.Join(modelBenchArgs, " "), err, out)
	}
	return parseBench(string(out)), nil
}

func parseBench(out string) []benchLine {
	var lines []benchLine
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		b := benchLine{name: f[0]}
		b.n, _ = strconv.Atoi(f[1])
		for i := 2; i+1 < len(f); i += 2 {
			v, _ := strconv.ParseFloat(f[i], 64)
			switch f[i+1] {
			case "ns/op":
				b.nsOp = v
			case "cpu-ns/op":
				b.cpuNsOp = v
			case "B/op":
				b.bytesOp = v
			case "allocs/op":
				b.allocsOp = v
			}
		}
		lines = append(lines, b)
	}
	return lines
}

// systemCPU is the busy CPU time of the whole machine (all processes),
// from the first line of /proc/stat (ticks of 10 ms).
func systemCPU() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	f := strings.Fields(strings.SplitN(string(b), "\n", 2)[0])
	var ticks int64
	for i, v := range f[1:] {
		if i == 3 || i == 4 || i >= 8 { // idle, iowait; guest time is already in user
			continue
		}
		n, _ := strconv.ParseInt(v, 10, 64)
		ticks += n
	}
	return time.Duration(ticks) * (time.Second / 100)
}

// serverBuild names the commit the server binary was built from, and
// whether the working tree had uncommitted changes: from the binary's build
// information, or, when it has none (-buildvcs=false), from git now.
func serverBuild(bin string) string {
	if info, err := buildinfo.ReadFile(bin); err == nil {
		rev, dirty := "", ""
		for _, s := range info.Settings {
			switch {
			case s.Key == "vcs.revision" && len(s.Value) >= 7:
				rev = "commit " + s.Value[:7]
			case s.Key == "vcs.modified" && s.Value == "true":
				dirty = " plus uncommitted changes"
			}
		}
		if rev != "" {
			return rev + dirty
		}
	}
	head, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return "an unknown commit"
	}
	rev := "the checkout at commit " + strings.TrimSpace(string(head))
	// Changes under benchmarks/ and to markdown do not reach the server.
	if st, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil {
		var files []string
		for _, line := range strings.Split(strings.TrimRight(string(st), "\n"), "\n") {
			if len(line) > 3 && !strings.HasPrefix(line[3:], "benchmarks/") && !strings.HasSuffix(line, ".md") {
				files = append(files, "`"+line[3:]+"`")
			}
		}
		if len(files) > 5 {
			files = append(files[:5], fmt.Sprintf("%d more", len(files)-5))
		}
		if len(files) > 0 {
			rev += " with uncommitted changes in " + strings.Join(files, ", ") + " (the checkout is shared)"
		}
	}
	return rev
}

// loadavg is the 1-minute load average before the run: other work on the
// same cores shows here.
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	return strings.Fields(string(b))[0]
}
