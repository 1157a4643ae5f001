package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/tailorhq/tailor/api"
	"github.com/tailorhq/tailor/fallback"
	"github.com/tailorhq/tailor/features"
	"github.com/tailorhq/tailor/model"
	"github.com/tailorhq/tailor/recommend"
	"github.com/tailorhq/tailor/similar"
	"github.com/tailorhq/tailor/telemetry"
)

// run serves until ctx is cancelled, then shuts down in order: not ready,
// drain HTTP, stop the caches, close the models and then the feature store,
// flush telemetry. It returns an error when the configuration, the runtime, the
// data or any model is unusable.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parse(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	} else if err != nil {
		return err
	}
	log := slog.New(api.LogHandler(telemetry.NewLogHandler(slog.NewJSONHandler(stderr, nil))))
	start := time.Now()
	// SIGHUP reloads the models directory (validated and warmed before the
	// swap); SIGUSR1 rolls back to the models served before the last reload.
	// Both are caught from the start, so that one sent while the models load
	// (or while shutting down) does not kill the process, as their default
	// action would: it waits until the server is ready.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGUSR1)
	defer signal.Stop(sigs)

	tel, err := telemetry.New(ctx, cfg.telemetry, telemetry.WithLogger(log))
	if err != nil {
		return fmt.Errorf("telemetry: %w", err)
	}
	defer shutdownWith(cfg.shutdownTimeout, "telemetry", log, tel.Shutdown)

	// Listen first, so that /healthz answers and /readyz says 503 while the
	// models load and warm up.
	a := newApp(cfg, log, tel)
	defer a.close()
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.addr, err)
	}
	// A client that stalls while sending its request, or keeps an idle
	// connection, does not hold a connection and its goroutine for ever.
	srv := &http.Server{Handler: a.handler, ReadHeaderTimeout: min(5*time.Second, cfg.readTimeout), ReadTimeout: cfg.readTimeout,
		IdleTimeout: 2 * time.Minute, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	fmt.Fprintf(stdout, "tailor-serve listening on http://%s\n", ln.Addr())
	if cfg.debugAddr != "" {
		dbg, err := startDebug(cfg.debugAddr, log)
		if err != nil {
			_ = srv.Close()
			<-serveErr
			return err
		}
		defer shutdownWith(cfg.shutdownTimeout, "debug listener", log, dbg.stop)
		log.Info("profiles served", "addr", dbg.addr.String(), "path", "/debug/pprof/")
	}

	if err := a.build(ctx, cfg, log, tel); err != nil {
		_ = srv.Close()
		<-serveErr
		return err
	}
	a.ready.Store(true)
	reg := a.reg.Load()
	fmt.Fprintf(stdout, "  ready in %s\n", time.Since(start).Round(time.Millisecond))
	for _, m := range reg.Models() {
		fmt.Fprintf(stdout, "  model %s from %s\n", m.NameVersion(), m.Path)
	}
	fmt.Fprintf(stdout, "  %d items, %d customer profiles, recency measured at %s\n", a.items, a.profiles, a.now().Format(time.DateOnly))
	fmt.Fprintln(stdout, "  POST /v1/recommendations, POST /v1/rank, GET /v1/items/{id}/similar, GET /v1/models, /healthz, /readyz, /metrics, /openapi.json; SIGHUP reloads the models, SIGUSR1 rolls back")
	log.Info("serving", "addr", ln.Addr().String(), "models", names(reg), "runtime", model.RuntimeVersion(), "ready_after", time.Since(start).String())

	for {
		select {
		case sig := <-sigs:
			op, verb := reg.Reload, "reload"
			if sig == syscall.SIGUSR1 {
				op, verb = func(context.Context) error { return reg.Rollback() }, "rollback"
			}
			served := reg.Models()
			if err := op(ctx); err != nil {
				log.Error("model "+verb+" refused; the current models keep serving", "err", err)
			} else if slices.Equal(reg.Models(), served) {
				log.Info("models unchanged: the files are the ones being served", "by", verb, "models", names(reg))
			} else {
				log.Info("models swapped", "by", verb, "models", names(reg))
			}
			continue
		case err := <-serveErr:
			a.ready.Store(false)
			return fmt.Errorf("serve: %w", err)
		case <-ctx.Done():
		}
		break
	}
	// Not ready first, and still serving for the drain delay: a load
	// balancer polling /readyz sees the 503 and stops sending requests before
	// the listener closes, instead of meeting refused connections. Draining
	// is set before ready is cleared, so that no /readyz in between says
	// "loading".
	a.draining.Store(true)
	a.ready.Store(false)
	if cfg.drainDelay > 0 {
		log.Info("not ready; serving on until the drain delay ends", "drain_delay", cfg.drainDelay.String())
		fmt.Fprintf(stdout, "  stopping: /readyz says 503 for %s (TAILOR_DRAIN_DELAY), then requests drain; a second signal stops at once\n", cfg.drainDelay)
		t := time.NewTimer(cfg.drainDelay)
		select {
		case <-t.C:
		case err := <-serveErr:
			t.Stop()
			return fmt.Errorf("serve: %w", err)
		}
	}
	log.Info("draining", "timeout", cfg.shutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), cfg.shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-serveErr; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	log.Info("stopped")
	return nil
}

// app is the wired server: everything run starts, in the order close stops it.
type app struct {
	handler         http.Handler
	svc             atomic.Pointer[recommend.Service] // nil until built
	answers         *recommend.AnswerCache            // nil: off; set before svc
	sim             atomic.Pointer[similar.Service]   // nil until built
	reg             atomic.Pointer[model.Registry]
	items           int
	now             func() time.Time
	profiles        int
	ready, draining atomic.Bool
	closers         []func() error // run in reverse order
}

// newApp returns an app whose HTTP API is up but not ready: /healthz
// answers, /readyz and /v1/recommendations say 503 until build succeeds.
func newApp(cfg config, log *slog.Logger, tel *telemetry.Telemetry) *app {
	a := &app{}
	a.handler = api.New(api.Config{BodyLimit: cfg.bodyLimit}, api.Deps{
		Recommender: a, Answers: a, Ranker: a, Similar: a, Readiness: a, Models: a, Logger: log, Telemetry: echoTelemetry{tel},
	})
	return a
}

// Recommend answers 503 until the flow is built.
func (a *app) Recommend(ctx context.Context, req recommend.Request) (recommend.Response, error) {
	svc := a.svc.Load()
	if svc == nil {
		return recommend.Response{}, &api.Error{Kind: api.KindUnavailable, Detail: "not ready: the models are loading"}
	}
	return svc.Recommend(ctx, req)
}

// Lookup asks the answer cache, when there is one (built with the flow).
func (a *app) Lookup(ctx context.Context, req recommend.Request) ([]byte, string, bool) {
	if a.svc.Load() == nil || a.answers == nil {
		return nil, "", false
	}
	return a.answers.Lookup(ctx, req)
}

// Store keeps an answer in the answer cache, when there is one.
func (a *app) Store(key string, resp recommend.Response, body []byte) {
	if a.svc.Load() != nil && a.answers != nil {
		a.answers.Store(key, resp, body)
	}
}

// Rank answers 503 until the flow is built.
func (a *app) Rank(ctx context.Context, req recommend.RankRequest) (recommend.RankResponse, error) {
	svc := a.svc.Load()
	if svc == nil {
		return recommend.RankResponse{}, &api.Error{Kind: api.KindUnavailable, Detail: "not ready: the models are loading"}
	}
	return svc.Rank(ctx, req)
}

// Similar answers 503 until the index is built, and 404 for an id that is
// not in the catalog.
func (a *app) Similar(ctx context.Context, id string, k int) (similar.Response, error) {
	sim := a.sim.Load()
	if sim == nil {
		return similar.Response{}, &api.Error{Kind: api.KindUnavailable, Detail: "not ready: the similar-items index is building"}
	}
	resp, err := sim.Similar(ctx, id, k)
	if errors.Is(err, similar.ErrUnknownItem) {
		return resp, &api.Error{Kind: api.KindNotFound, Detail: fmt.Sprintf("no item %q in the catalog", id), Err: err}
	}
	return resp, err
}

// Ready is ready once everything is loaded and warmed, until draining.
func (a *app) Ready() (bool, string) {
	switch {
	case a.draining.Load():
		return false, "draining"
	case !a.ready.Load():
		return false, "loading and warming up the models"
	}
	return true, "models loaded and warmed up"
}

// Models lists the registry's models for /v1/models.
func (a *app) Models() []api.ModelInfo {
	var out []api.ModelInfo
	if reg := a.reg.Load(); reg != nil {
		for _, m := range reg.Models() {
			out = append(out, api.ModelInfo{Name: m.Name, Version: m.Version, Kind: m.Kind,
				TrainedAt: m.Meta[model.MetaTrainedAt], DataRange: m.Meta[model.MetaDataRange]})
		}
	}
	return out
}

// close stops what build started, last started first: the caches, the
// models, then the feature store (opened first, beside everything else).
func (a *app) close() {
	for i := len(a.closers) - 1; i >= 0; i-- {
		_ = a.closers[i]()
	}
}

// build loads the runtime, the items, the models and the feature store, and
// wires the recommendation flow over them. What it opened is closed by
// close, on error too.
func (a *app) build(ctx context.Context, cfg config, log *slog.Logger, tel *telemetry.Telemetry) error {
	if err := model.InitRuntime(cfg.ortLib); err != nil {
		return err
	}
	// The feature store opens and imports the offline features beside
	// everything else: it needs neither the items nor the models.
	waitStore := a.openStore(ctx, cfg, log)
	t0 := time.Now()
	items, err := features.LoadItems(ctx, cfg.featuresDir)
	if err != nil {
		return err
	}
	a.items = items.Len()
	log.Info("items", "items", items.Len(), "co_purchase_links", items.CoPurchaseLinks(), "took", time.Since(t0).String())
	// The similar-items index builds over the customer histories LoadItems
	// read, beside the models and the store; the server is ready when both
	// are.
	var (
		simWG  sync.WaitGroup
		simErr error
	)
	simCtx, stopSim := context.WithCancel(ctx)
	defer func() { stopSim(); simWG.Wait() }() // on an early return too
	simWG.Go(func() {
		start := time.Now()
		idx, err := similar.Load(simCtx, items, items.Baskets(), similar.Options{})
		if err != nil {
			simErr = err
			return
		}
		a.sim.Store(similar.NewService(items, idx))
		st := idx.Stats()
		log.Info("similar items", "items", st.Items, "customers", st.Customers, "with_co_purchase", st.WithCoPurchase,
			"co_purchase_links", st.CoPurchaseLinks, "content_links", st.ContentLinks, "took", time.Since(start).String())
	})
	t0 = time.Now()
	links := items.CoPurchaseLinks()
	reg, err := model.LoadRegistry(ctx, cfg.modelsDir, model.RegistryOptions{IntraOpThreads: cfg.intraOpThreads, CatalogIDs: items.IDs(),
		Check: func(m *model.Info) error { return checkCoPurchase(m, links, cfg.featuresDir) }})
	if err != nil {
		return fmt.Errorf("refusing to start: %w", err)
	}
	log.Info("models", "models", names(reg), "took", time.Since(t0).String())
	a.reg.Store(reg)
	a.closers = append(a.closers, reg.Close)
	now, err := referenceClock(cfg.referenceTime, reg)
	if err != nil {
		return err
	}
	store, err := waitStore()
	if err != nil {
		return err
	}
	cache, err := features.NewCached(store, features.CacheOptions{MaxCost: cfg.cacheMaxCost, TTL: cfg.cacheTTL})
	if err != nil {
		return err
	}
	a.closers = append(a.closers, func() error { cache.Close(); return nil })

	// Concurrent requests share CF model calls through the batcher, whose
	// worker stops (closers run in reverse) before the models close.
	var cf recommend.CF = reg.CF()
	if cfg.cfMaxBatch > 1 {
		b, err := model.NewCFBatcher(context.WithoutCancel(ctx), reg.CF(), model.BatchOptions{Items: items.Len(), MaxBatch: cfg.cfMaxBatch}, tel.RecordCFBatch)
		if err != nil {
			return err
		}
		a.closers = append(a.closers, b.Close)
		cf = b
	}
	breaker := func(name string) *fallback.Breaker {
		b := fallback.NewBreaker(name, fallback.BreakerConfig{Timeout: cfg.modelTimeout, ConsecutiveFailures: cfg.breakerFailures, OpenFor: cfg.breakerOpenFor},
			fallback.Hooks{OnTransition: func(ctx context.Context, t fallback.Transition) { tel.BreakerTransition(ctx, t.Breaker, t.From, t.To) }})
		tel.SetBreakerState(name, b.State())
		return b
	}
	svc, err := recommend.New(recommend.Config{Now: now, Uncertainty: fallback.Uncertainty{MinHistoryItems: cfg.minHistory, MinSpread: cfg.minSpread},
		OwnOrderWeight: cfg.ownOrderWeight},
		recommend.Deps{
			Items: items, Profiles: cache, CF: cf, Propensity: reg.Propensity(),
			CFBreaker: breaker("cf"), PropensityBreaker: breaker("propensity"),
			Rules:  fallback.DefaultChain(ownCountryList(items), items.Popular()),
			Log:    log,
			Tracer: tel.Tracer(""), Observer: tel,
		})
	if err != nil {
		return err
	}

	if cfg.answerTTL > 0 {
		prop := reg.Propensity()
		models := func() string { return cf.NameVersion() + " " + prop.NameVersion() }
		if a.answers, err = recommend.NewAnswerCache(models, recommend.AnswerOptions{TTL: cfg.answerTTL}, tel); err != nil {
			return err
		}
		a.closers = append(a.closers, func() error { a.answers.Close(); return nil })
	}

	if simWG.Wait(); simErr != nil {
		return simErr
	}
	a.svc.Store(svc)
	a.now = now
	return nil
}

// openStore opens the feature store and imports the offline features into
// it in a goroutine, and returns the wait for it. close stops the import if
// it still runs, and closes the store, whether or not anyone waited.
func (a *app) openStore(ctx context.Context, cfg config, log *slog.Logger) (wait func() (*features.BoltStore, error)) {
	var (
		store *features.BoltStore
		err   error
		done  = make(chan struct{})
	)
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		defer close(done)
		if store, err = features.OpenBolt(cfg.storePath, features.BoltOptions{}); err != nil {
			return
		}
		imported, ierr := store.ImportIfChanged(ctx, cfg.featuresDir)
		if err = ierr; err != nil {
			return
		}
		a.profiles = imported.Profiles
		log.Info("feature store", "path", cfg.storePath, "profiles", imported.Profiles, "skipped_unchanged", imported.Skipped, "took", imported.Took.String())
	}()
	a.closers = append(a.closers, func() error {
		cancel() // an import still running when build failed stops early
		<-done
		if store == nil {
			return nil
		}
		return store.Close()
	})
	return func() (*features.BoltStore, error) {
		<-done
		if err != nil {
			return nil, fmt.Errorf("feature store %s: %w", cfg.storePath, err)
		}
		return store, nil
	}
}

// referenceClock is the time recency is measured at.
func referenceClock(setting string, reg *model.Registry) (func() time.Time, error) {
	switch setting {
	case "now":
		return time.Now, nil
	case "model":
		for _, m := range reg.Models() {
			if m.Kind != model.KindCF {
				continue
			}
			_, end, ok := strings.Cut(m.Meta[model.MetaDataRange], "/")
			t, err := time.Parse(time.DateOnly, end)
			if !ok || err != nil {
				return nil, fmt.Errorf("model %s: data_range %q has no end date", m.NameVersion(), m.Meta[model.MetaDataRange])
			}
			t = t.AddDate(0, 0, 1)
			return func() time.Time { return t }, nil
		}
		return nil, errors.New("no CF model to take the reference time from")
	default:
		t, err := time.Parse(time.DateOnly, setting)
		if err != nil {
			return nil, fmt.Errorf("TAILOR_REFERENCE_TIME: want model, now or YYYY-MM-DD: %w", err)
		}
		return func() time.Time { return t }, nil
	}
}

// ownCountryList gives the "popular in the customer's country" rule only a
// country's own list: a country too small for one yields nothing, so the
// rule never claims a country's taste it does not know.
func ownCountryList(items *features.Items) func(string) []int {
	return func(country string) []int {
		if l, own := items.PopularInCountry(country); own {
			return l
		}
		return nil
	}
}

func shutdownWith(timeout time.Duration, what string, log *slog.Logger, fn func(context.Context) error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := fn(ctx); err != nil {
		log.Warn("shutdown", "part", what, "err", err)
	}
}

func names(reg *model.Registry) []string {
	var out []string
	for _, m := range reg.Models() {
		out = append(out, m.NameVersion())
	}
	return out
}

// echoTelemetry adapts telemetry to what the api package asks for.
type echoTelemetry struct{ t *telemetry.Telemetry }

func (e echoTelemetry) Middleware() echo.MiddlewareFunc { return e.t.EchoMiddleware() }
func (e echoTelemetry) MetricsHandler() http.Handler    { return e.t.MetricsHandler() }

// checkCoPurchase refuses a propensity model that reads the copurchase
// feature unless the items file has co-purchase neighbours (one written
// before the trainer stored them would make the feature 0 for every
// candidate) and the model learnt from neighbours made the same way (an
// older model learnt from cosine similarities, on another scale). The
// registry asks it at start and at every reload.
func checkCoPurchase(m *model.Info, links int, featuresDir string) error {
	if m.Kind != model.KindPropensity || !slices.Contains(m.Features, features.CoPurchaseFeature) {
		return nil
	}
	if links == 0 {
		return fmt.Errorf("it reads the %s feature, but %s has no co-purchase neighbours: retrain with make models (cmd/train writes both)",
			features.CoPurchaseFeature, filepath.Join(featuresDir, features.ItemsFile))
	}
	if got := m.Meta[model.MetaCoPurchase]; got != features.CoPurchaseMethod {
		return fmt.Errorf("it reads the %s feature learnt from neighbours made by %q (metadata %q), but the served ones are %q: retrain with make models",
			features.CoPurchaseFeature, cmp.Or(got, "cosine, before they were declared"), model.MetaCoPurchase, features.CoPurchaseMethod)
	}
	return nil
}
