// Command load is the latency, throughput, memory and start-up benchmark of
// DESIGN.md ("Speed and size we hold ourselves to"). It starts
// bin/tailor-serve as a child on loopback twice (a fresh feature store, then
// the same store again), times each start to the first /readyz 200, then on
// the second server runs four bounded phases: /v1/recommendations and
// /healthz at a fixed rate (open loop), then both at maximum throughput
// (closed loop). It reads the server's resident memory, runs the model/
// benchmarks for bare ONNX Runtime inference and writes the report into
// benchmarks/RESULTS.md between the load markers.
//
//	go run ./benchmarks/load            # as `make bench` does, after `make build`
//
// Only loopback traffic; every loop stops by count and by time; the server
// is killed at the end, on error and on Ctrl-C too.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/tailorhq/tailor/benchmarks/results"
)

type config struct {
	duration, warmup  time.Duration
	rate, concurrency int
	results, server   string
	customers, notes  string
	cpuProfile        string
	modelBench        bool
	args              []string
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c config
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.DurationVar(&c.duration, "duration", 10*time.Second, "length of each phase")
	fs.DurationVar(&c.warmup, "warmup", 2*time.Second, "warm-up before the phases, at the fixed rate")
	fs.IntVar(&c.rate, "rate", 1000, "requests per second of the fixed-rate phases")
	fs.IntVar(&c.concurrency, "concurrency", 32, "workers of the maximum-throughput phases")
	fs.StringVar(&c.results, "results", "benchmarks/RESULTS.md", "file whose load section is replaced; empty: print only")
	fs.StringVar(&c.server, "server", "bin/tailor-serve", "the server binary (make build)")
	fs.StringVar(&c.customers, "customers", "data/features/customers.jsonl.gz", "known customers (gzip JSON lines with an id)")
	fs.StringVar(&c.notes, "notes", "benchmarks/load/notes.md", "hand-written analysis included in the report when the file exists; empty: none")
	fs.StringVar(&c.cpuProfile, "cpuprofile", "", "write the generator's own CPU profile over the phases to this file")
	fs.BoolVar(&c.modelBench, "model-bench", true, "also run the model/ benchmarks for bare ONNX Runtime inference")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	c.args = args[1:]
	if c.duration <= 0 || c.duration > 10*time.Minute || c.rate <= 0 || c.rate > 100_000 || c.concurrency <= 0 || c.concurrency > 1024 {
		return errors.New("want 0 < -duration ≤ 10m, 0 < -rate ≤ 100000, 0 < -concurrency ≤ 1024")
	}
	if os.Getenv("TAILOR_ONNXRUNTIME_LIB") == "" {
		return errors.New("TAILOR_ONNXRUNTIME_LIB is not set: run through `make bench` or set it to $(bash scripts/onnxruntime.sh)")
	}
	// The whole run stops by itself: four phases, warm-up, starts and the model benchmarks.
	ctx, cancel := context.WithTimeout(ctx, 4*c.duration+c.warmup+10*time.Minute)
	defer cancel()

	bodies, known, err := requestBodies(c.customers)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "tailor-load-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	store := filepath.Join(tmp, "profiles.db")

	rep := report{cfg: c, started: time.Now().UTC(), machine: results.Machine(), cores: runtime.NumCPU(), loadavg: loadavg(), build: serverBuild(c.server), known: known, bodies: len(bodies)}
	logf := func(format string, a ...any) { fmt.Fprintf(stderr, "load: "+format+"\n", a...) }

	// First start: a fresh store, so the server imports the profiles.
	s, err := startServer(ctx, c.server, store, tmp, "first")
	if err != nil {
		return err
	}
	rep.ready = append(rep.ready, readyFigure{"first start (fresh store, imports the profiles)", s.ready, s.selfReported, s.imported()})
	logf("first start ready in %s", s.ready.Round(time.Millisecond))
	if err := s.stop(); err != nil {
		return fmt.Errorf("first server: %w", err)
	}
	// Second start on the same store: the import is skipped. The phases run on it.
	s, err = startServer(ctx, c.server, store, tmp, "second")
	if err != nil {
		return err
	}
	defer s.stop()
	rep.ready = append(rep.ready, readyFigure{"second start (same store, import skipped)", s.ready, s.selfReported, s.imported()})
	logf("second start ready in %s; server pid %d at %s", s.ready.Round(time.Millisecond), s.pid(), s.base)

	g := newGenerator(s, bodies)
	logf("warm-up %s at %d/s", c.warmup, c.rate)
	g.openLoop(ctx, "warm-up", routeRecs, c.rate, c.warmup)
	if c.cpuProfile != "" {
		f, err := os.Create(c.cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	// The unique phase gives every request a session id of its own: the
	// same customers, but no answer can be reused from the answer cache.
	phases := []struct {
		route        string
		open, unique bool
	}{{routeRecs, true, false}, {routeHealth, true, false}, {routeRecs, false, false}, {routeRecs, false, true}, {routeHealth, false, false}}
	for _, p := range phases {
		if err := ctx.Err(); err != nil {
			return err
		}
		before, err1 := s.scrape(ctx)
		cpu0, sys0 := s.cpu(), systemCPU()
		var r *phaseResult
		if p.open {
			r = g.openLoop(ctx, "fixed rate", p.route, c.rate, c.duration)
		} else {
			r = g.closedLoop(ctx, p.route, c.concurrency, c.duration, p.unique)
		}
		r.serverCPU = s.cpu() - cpu0
		r.otherCPU = systemCPU() - sys0 - r.serverCPU - r.genCPU
		after, err2 := s.scrape(ctx)
		if err := errors.Join(err1, err2); err == nil {
			r.server = delta(after.hists, before.hists, p.route)
			r.answerHits, r.answerMisses = after.hits-before.hits, after.misses-before.misses
		} else {
			logf("metrics scrape: %v", err)
		}
		logf("%s %s: %d responses, %.0f/s, p50 %s p99 %s, errors %d", r.route, r.load, r.responses(), r.rate(), fmtDur(r.pct(0.50)), fmtDur(r.pct(0.99)), r.errors())
		rep.phases = append(rep.phases, r)
	}
	pprof.StopCPUProfile() // no-op without -cpuprofile
	rep.rss, rep.hwm, err = s.memory()
	if err != nil {
		logf("memory: %v", err)
	}
	if err := s.stop(); err != nil {
		logf("server stop: %v", err)
	}
	if c.modelBench {
		logf("model benchmarks (go test -bench, about a minute)")
		rep.modelBench, rep.modelBenchErr = runModelBench(ctx)
	}
	section := rep.markdown()
	fmt.Fprint(stdout, section)
	if c.results == "" {
		return nil
	}
	return results.ReplaceSection(c.results, beginMarker, endMarker, section)
}

// server is one tailor-serve child in its own process group.
type server struct {
	cmd          *exec.Cmd
	base         string // http://ADDR
	logPath      string
	ready        time.Duration // process start to the first /readyz 200
	selfReported string        // the server's own "ready in" line
	done         chan struct{}
	stopped      bool
}

func startServer(ctx context.Context, bin, store, dir, name string) (*server, error) {
	logPath := filepath.Join(dir, name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	cmd := exec.CommandContext(ctx, bin)
	// No load balancer to drain from: stop at once.
	cmd.Env = append(os.Environ(), "TAILOR_ADDR=127.0.0.1:0", "TAILOR_STORE_PATH="+store, "TAILOR_DRAIN_DELAY=0s")
	cmd.Stderr = logFile // the access log: a file, so that reading it costs the generator nothing
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w (run `make build` first)", bin, err)
	}
	s := &server{cmd: cmd, logPath: logPath, done: make(chan struct{})}
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default:
			}
		}
		close(lines)
	}()
	go func() { _ = cmd.Wait(); close(s.done) }()
	fail := func(err error) (*server, error) {
		_ = s.stop()
		return nil, fmt.Errorf("%s server: %w\n%s", name, err, s.tail())
	}
	select {
	case line, ok := <-lines:
		addr, found := strings.CutPrefix(line, "tailor-serve listening on ")
		if !ok || !found {
			return fail(fmt.Errorf("first stdout line %q, want \"tailor-serve listening on http://ADDR\"", line))
		}
		s.base = addr
	case <-time.After(30 * time.Second):
		return fail(errors.New("no address printed within 30s"))
	}
	client := &http.Client{Timeout: time.Second}
	for deadline := start.Add(60 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			return fail(errors.New("/readyz not 200 within 60s"))
		}
		select {
		case <-s.done:
			return fail(errors.New("exited before ready"))
		case <-ctx.Done():
			return fail(ctx.Err())
		default:
		}
		resp, err := client.Get(s.base + "/readyz")
		if err != nil {
			continue
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			s.ready = time.Since(start)
			break
		}
	}
	// The server prints "  ready in 868ms" next; wait for it briefly.
	for t := time.After(2 * time.Second); s.selfReported == ""; {
		select {
		case line, ok := <-lines:
			if !ok {
				return s, nil
			}
			if v, found := strings.CutPrefix(strings.TrimSpace(line), "ready in "); found {
				s.selfReported = v
			}
		case <-t:
			return s, nil
		}
	}
	go func() {
		for range lines {
		}
	}()
	return s, nil
}

func (s *server) pid() int { return s.cmd.Process.Pid }

// stop sends SIGTERM to the process group, and SIGKILL after 10s. It is
// safe to call more than once.
func (s *server) stop() error {
	if s.stopped {
		return nil
	}
	s.stopped = true
	_ = syscall.Kill(-s.pid(), syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-s.pid(), syscall.SIGKILL)
		<-s.done
		return errors.New("did not stop within 10s of SIGTERM; killed")
	}
	return nil
}

// imported reports whether the log says the store was imported (true) or
// skipped as unchanged (false).
func (s *server) imported() string {
	b, _ := readHead(s.logPath, 64<<10)
	switch {
	case strings.Contains(b, `"skipped_unchanged":true`):
		return "import skipped"
	case strings.Contains(b, `"skipped_unchanged":false`):
		return "imported"
	}
	return "import not logged"
}

// tail is the end of the server's log, for error messages.
func (s *server) tail() string {
	f, err := os.Open(s.logPath)
	if err != nil {
		return ""
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > 2048 {
		_, _ = f.Seek(st.Size()-2048, io.SeekStart)
	}
	b, _ := io.ReadAll(f)
	return string(b)
}

func readHead(path string, n int64) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, n))
	return string(b), err
}
