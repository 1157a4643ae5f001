package main

import (
	"flag"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strconv"
	"time"

	"github.com/tailorhq/tailor/recommend"
	"github.com/tailorhq/tailor/telemetry"
)

// config is everything serve reads from flags and the environment, read
// once here and passed down as plain values. A flag given on the command
// line wins over its TAILOR_* variable.
type config struct {
	addr            string
	debugAddr       string // "": no debug listener
	modelsDir       string
	featuresDir     string
	storePath       string
	ortLib          string
	intraOpThreads  int
	cfMaxBatch      int // 1: no batching
	modelTimeout    time.Duration
	breakerFailures int
	breakerOpenFor  time.Duration
	minHistory      int
	minSpread       float64
	ownOrderWeight  float64 // negative: the propensity model's order alone
	referenceTime   string  // "model" (the data's end), "now", or YYYY-MM-DD
	bodyLimit       int64
	cacheMaxCost    int64
	cacheTTL        time.Duration
	answerTTL       time.Duration // 0: no answer cache
	shutdownTimeout time.Duration
	drainDelay      time.Duration // not ready but still serving, before the listener closes
	readTimeout     time.Duration
	telemetry       telemetry.Config
}

func parse(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	or := func(key, def string) string {
		if v := getenv(key); v != "" {
			return v
		}
		return def
	}
	var c config
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	tmp := or("TMPDIR", "/tmp")
	fs.StringVar(&c.addr, "addr", or("TAILOR_ADDR", ":8080"), "listen address (TAILOR_ADDR)")
	fs.StringVar(&c.debugAddr, "debug-addr", getenv("TAILOR_DEBUG_ADDR"), "listen address of /debug/pprof/, off when empty; keep it on loopback (TAILOR_DEBUG_ADDR)")
	fs.StringVar(&c.modelsDir, "models", or("TAILOR_MODELS_DIR", "models"), "directory of ONNX models (TAILOR_MODELS_DIR)")
	fs.StringVar(&c.featuresDir, "features", or("TAILOR_FEATURES_DIR", "data/features"), "directory of offline features from the trainer (TAILOR_FEATURES_DIR)")
	fs.StringVar(&c.storePath, "store", or("TAILOR_STORE_PATH", filepath.Join(tmp, "tailor", "profiles.db")), "bbolt file of the online feature store (TAILOR_STORE_PATH)")
	fs.StringVar(&c.ortLib, "onnxruntime-lib", getenv("TAILOR_ONNXRUNTIME_LIB"), "path of libonnxruntime.so.1 (TAILOR_ONNXRUNTIME_LIB)")
	fs.StringVar(&c.referenceTime, "reference-time", or("TAILOR_REFERENCE_TIME", "model"), `"model": recency is measured at the end of the model's data; "now": the wall clock; or a date YYYY-MM-DD (TAILOR_REFERENCE_TIME)`)
	var err error
	intVar := func(p *int, name, env string, def int, usage string) {
		v, e := strconv.Atoi(or(env, strconv.Itoa(def)))
		if e != nil && err == nil {
			err = fmt.Errorf("%s: %w", env, e)
		}
		fs.IntVar(p, name, v, usage+" ("+env+")")
	}
	floatVar := func(p *float64, name, env string, def float64, usage string) {
		v, e := strconv.ParseFloat(or(env, strconv.FormatFloat(def, 'g', -1, 64)), 64)
		if e != nil && err == nil {
			err = fmt.Errorf("%s: %w", env, e)
		}
		fs.Float64Var(p, name, v, usage+" ("+env+")")
	}
	durVar := func(p *time.Duration, name, env string, def time.Duration, usage string) {
		v, e := time.ParseDuration(or(env, def.String()))
		if e != nil && err == nil {
			err = fmt.Errorf("%s: %w", env, e)
		}
		fs.DurationVar(p, name, v, usage+" ("+env+")")
	}
	intVar(&c.intraOpThreads, "intra-op-threads", "TAILOR_INTRA_OP_THREADS", 1, "ONNX Runtime intra-op threads per session")
	intVar(&c.cfMaxBatch, "cf-max-batch", "TAILOR_CF_MAX_BATCH", 1, "most concurrent requests scored in one CF model call; 1 (the default) turns batching off")
	durVar(&c.modelTimeout, "model-timeout", "TAILOR_MODEL_TIMEOUT", 50*time.Millisecond, "deadline of each model call")
	intVar(&c.breakerFailures, "breaker-failures", "TAILOR_BREAKER_FAILURES", 5, "consecutive model failures that open its breaker")
	durVar(&c.breakerOpenFor, "breaker-open-for", "TAILOR_BREAKER_OPEN_FOR", 10*time.Second, "how long an open breaker waits before a trial call")
	intVar(&c.minHistory, "min-history", "TAILOR_MIN_HISTORY", 1, "customers with fewer distinct items get the rules (uncertain)")
	floatVar(&c.minSpread, "min-spread", "TAILOR_MIN_SPREAD", 0.05, "CF scores flatter than this relative spread are uncertain")
	floatVar(&c.ownOrderWeight, "own-order-weight", "TAILOR_OWN_ORDER_WEIGHT", recommend.DefaultOwnOrderWeight,
		"weight of the customer's buy-again order against the propensity model's order in the auto-mode blend; a negative value orders by the model alone")
	bodyLimit, cacheCost := 64<<10, 64<<20
	intVar(&bodyLimit, "body-limit", "TAILOR_BODY_LIMIT", bodyLimit, "largest request body in bytes")
	intVar(&cacheCost, "cache-max-cost", "TAILOR_CACHE_MAX_COST", cacheCost, "bytes of customer profiles the cache may hold")
	durVar(&c.cacheTTL, "cache-ttl", "TAILOR_CACHE_TTL", 10*time.Minute, "how long a cached profile lives")
	durVar(&c.answerTTL, "answer-cache-ttl", "TAILOR_ANSWER_CACHE_TTL", 30*time.Second, "how long an answer is reused for the same request; 0 turns the answer cache off")
	durVar(&c.shutdownTimeout, "shutdown-timeout", "TAILOR_SHUTDOWN_TIMEOUT", 10*time.Second, "how long to wait for requests in flight on shutdown")
	durVar(&c.drainDelay, "drain-delay", "TAILOR_DRAIN_DELAY", 5*time.Second, "on SIGTERM or SIGINT, how long /readyz says 503 while requests are still served, so that load balancers stop sending them before the listener closes; 0 closes it at once")
	durVar(&c.readTimeout, "read-timeout", "TAILOR_READ_TIMEOUT", 10*time.Second, "longest a client may take to send a whole request, body included")
	if err != nil {
		return c, err
	}
	if err := fs.Parse(args[1:]); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q: every setting is a flag or a TAILOR_* variable (-h lists them)", fs.Arg(0))
	}
	c.bodyLimit, c.cacheMaxCost = int64(bodyLimit), int64(cacheCost)
	// A value out of range is refused rather than replaced by a default
	// further in (a zero breaker or cache setting, a minimum history of 0
	// that the uncertainty gate reads as 3) or, for the shutdown timeout, a
	// drain that cuts every request in flight.
	for _, v := range []struct {
		bad             bool
		env, flag, have string
		want            string
	}{
		{c.intraOpThreads < 1, "TAILOR_INTRA_OP_THREADS", "intra-op-threads", strconv.Itoa(c.intraOpThreads), "1 or more"},
		{c.cfMaxBatch < 1, "TAILOR_CF_MAX_BATCH", "cf-max-batch", strconv.Itoa(c.cfMaxBatch), "1 (no batching) or more"},
		{c.modelTimeout <= 0, "TAILOR_MODEL_TIMEOUT", "model-timeout", c.modelTimeout.String(), "a positive duration"},
		{c.breakerFailures < 1, "TAILOR_BREAKER_FAILURES", "breaker-failures", strconv.Itoa(c.breakerFailures), "1 or more"},
		{c.breakerOpenFor <= 0, "TAILOR_BREAKER_OPEN_FOR", "breaker-open-for", c.breakerOpenFor.String(), "a positive duration"},
		{c.minHistory == 0, "TAILOR_MIN_HISTORY", "min-history", "0", "1 or more (a negative value turns the test off)"},
		{c.minSpread == 0 || math.IsNaN(c.minSpread), "TAILOR_MIN_SPREAD", "min-spread", strconv.FormatFloat(c.minSpread, 'g', -1, 64), "a positive number (a negative value turns the test off)"},
		{c.ownOrderWeight == 0 || math.IsNaN(c.ownOrderWeight) || math.IsInf(c.ownOrderWeight, 0), "TAILOR_OWN_ORDER_WEIGHT", "own-order-weight", strconv.FormatFloat(c.ownOrderWeight, 'g', -1, 64), "a positive weight (a negative value turns the blend off)"},
		{c.cacheMaxCost < 1, "TAILOR_CACHE_MAX_COST", "cache-max-cost", strconv.FormatInt(c.cacheMaxCost, 10), "1 or more bytes"},
		{c.cacheTTL <= 0, "TAILOR_CACHE_TTL", "cache-ttl", c.cacheTTL.String(), "a positive duration"},
		{c.answerTTL < 0, "TAILOR_ANSWER_CACHE_TTL", "answer-cache-ttl", c.answerTTL.String(), "0 (off) or a positive duration"},
		{c.bodyLimit < 1, "TAILOR_BODY_LIMIT", "body-limit", strconv.FormatInt(c.bodyLimit, 10), "1 or more bytes"},
		{c.shutdownTimeout <= 0, "TAILOR_SHUTDOWN_TIMEOUT", "shutdown-timeout", c.shutdownTimeout.String(), "a positive duration"},
		{c.drainDelay < 0, "TAILOR_DRAIN_DELAY", "drain-delay", c.drainDelay.String(), "0 (close at once) or a positive duration"},
		{c.readTimeout <= 0, "TAILOR_READ_TIMEOUT", "read-timeout", c.readTimeout.String(), "a positive duration"},
	} {
		if v.bad {
			return c, fmt.Errorf("%s (-%s): %s, want %s", v.env, v.flag, v.have, v.want)
		}
	}
	if c.telemetry, err = telemetry.ConfigFromEnv(getenv); err != nil {
		return c, err
	}
	c.telemetry.ServiceVersion = version
	return c, nil
}

// version is the server's version, as telemetry reports it.
const version = "0.2.0"
