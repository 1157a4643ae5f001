package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"time"

	"github.com/tailorhq/tailor/model"
)

// config is everything serve reads from flags and TAILOR_* variables; a
// flag given on the command line wins over its variable.
type config struct {
	addr, modelsDir, featuresDir, ortLib string
	shutdownTimeout                      time.Duration
}

func parse(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	or := func(key, def string) string {
		if v := getenv(key); v != "" {
			return v
		}
		return def
	}
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c config
	fs.StringVar(&c.addr, "addr", or("TAILOR_ADDR", ":8080"), "listen address (env TAILOR_ADDR)")
	fs.StringVar(&c.modelsDir, "models", or("TAILOR_MODELS_DIR", "models"), "directory of ONNX models (env TAILOR_MODELS_DIR)")
	fs.StringVar(&c.featuresDir, "features", or("TAILOR_FEATURES_DIR", "data/features"), "directory of offline features (env TAILOR_FEATURES_DIR)")
	fs.StringVar(&c.ortLib, "onnxruntime-lib", getenv("TAILOR_ONNXRUNTIME_LIB"), "path of libonnxruntime.so.1 (env TAILOR_ONNXRUNTIME_LIB)")
	fs.DurationVar(&c.shutdownTimeout, "shutdown-timeout", 10*time.Second, "how long to wait for requests in flight on shutdown")
	err := fs.Parse(args[1:])
	return c, err
}

// run serves until ctx is cancelled, then drains and returns nil. It returns
// an error when the configuration, the runtime or any model is unusable.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parse(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	} else if err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(stderr, nil))

	if err := model.InitRuntime(cfg.ortLib); err != nil {
		return err
	}
	models, err := inspectAll(cfg.modelsDir)
	if err != nil {
		return fmt.Errorf("refusing to start: %w", err)
	}
	if _, err := os.Stat(cfg.featuresDir); err != nil {
		log.Warn("features directory is missing; the stub does not read it yet", "dir", cfg.featuresDir, "err", err)
	}

	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.addr, err)
	}
	s := &server{log: log, models: models}
	srv := &http.Server{
		Handler:           s.routes(),
		ReadHeaderTimeout: 5 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	s.ready.Store(true)

	fmt.Fprintf(stdout, "tailor-serve (stub) listening on http://%s\n", ln.Addr())
	for _, m := range models {
		fmt.Fprintf(stdout, "  model %s: %s, %s, from %s\n", m.NameVersion(), m.Kind, count(m), m.Path)
	}
	fmt.Fprintln(stdout, "  endpoints: GET /healthz, GET /readyz, GET /v1/models, POST /v1/recommendations (501 until the serving issue)")
	log.Info("serving", "addr", ln.Addr().String(), "models", s.names(), "runtime", model.RuntimeVersion())

	select {
	case err := <-serveErr:
		s.ready.Store(false)
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	s.ready.Store(false)
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

// inspectAll checks every *.onnx file in dir against the model contract.
func inspectAll(dir string) ([]*model.Info, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.onnx"))
	if err != nil {
		return nil, err
	}
	if len(paths) == 0 {
		if _, err := os.Stat(dir); err != nil {
			return nil, fmt.Errorf("models directory: %w", err)
		}
		return nil, fmt.Errorf("no *.onnx models in %s", dir)
	}
	slices.Sort(paths)
	infos := make([]*model.Info, 0, len(paths))
	for _, p := range paths {
		info, err := model.Inspect(p)
		if err != nil {
			return nil, err // names the file and the failed check
		}
		infos = append(infos, info)
	}
	return infos, nil
}

func count(m *model.Info) string {
	if m.Kind == model.KindCF {
		return fmt.Sprintf("%d items", len(m.ItemIDs))
	}
	return fmt.Sprintf("%d features", len(m.Features))
}

type server struct {
	log    *slog.Logger
	models []*model.Info
	ready  atomic.Bool
}

func (s *server) names() []string {
	out := make([]string, len(s.models))
	for k, m := range s.models {
		out[k] = m.NameVersion()
	}
	return out
}

func (s *server) routes() http.Handler {
	mux := http.NewServeMux()
	for _, r := range []struct {
		method, path string
		h            http.HandlerFunc
	}{
		{http.MethodGet, "/healthz", s.healthz},
		{http.MethodGet, "/readyz", s.readyz},
		{http.MethodGet, "/v1/models", s.listModels},
		{http.MethodPost, "/v1/recommendations", s.recommendations},
	} {
		mux.HandleFunc(r.method+" "+r.path, r.h)
		mux.HandleFunc(r.path, func(w http.ResponseWriter, req *http.Request) {
			w.Header().Set("Allow", r.method)
			problem(w, http.StatusMethodNotAllowed, req.Method+" is not allowed on "+r.path+"; use "+r.method)
		})
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, req *http.Request) {
		problem(w, http.StatusNotFound, "no resource at "+req.URL.Path)
	})
	return mux
}

func (s *server) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *server) readyz(w http.ResponseWriter, _ *http.Request) {
	if !s.ready.Load() {
		problem(w, http.StatusServiceUnavailable, "not ready: starting or draining")
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Status string   `json:"status"`
		Models []string `json:"models"`
	}{"ready", s.names()})
}

type modelView struct {
	Name      string `json:"name"`
	Version   string `json:"version"`
	Kind      string `json:"kind"`
	Path      string `json:"path"`
	TrainedAt string `json:"trained_at"`
	DataRange string `json:"data_range"`
}

func (s *server) listModels(w http.ResponseWriter, _ *http.Request) {
	out := make([]modelView, len(s.models))
	for k, m := range s.models {
		out[k] = modelView{m.Name, m.Version, m.Kind, m.Path, m.Meta[model.MetaTrainedAt], m.Meta[model.MetaDataRange]}
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *server) recommendations(w http.ResponseWriter, _ *http.Request) {
	problem(w, http.StatusNotImplemented, "recommendations arrive with the serving issue; this is the foundation stub")
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	writeBody(w, "application/json", status, v)
}

// problem writes an RFC 9457 problem detail.
func problem(w http.ResponseWriter, status int, detail string) {
	writeBody(w, "application/problem+json", status, struct {
		Type   string `json:"type"`
		Title  string `json:"title"`
		Status int    `json:"status"`
		Detail string `json:"detail"`
	}{"about:blank", http.StatusText(status), status, detail})
}

func writeBody(w http.ResponseWriter, contentType string, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status, contentType = http.StatusInternalServerError, "application/problem+json"
		body = []byte(`{"type":"about:blank","title":"Internal Server Error","status":500,"detail":"cannot encode the response"}`)
	}
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	w.Write(append(body, '\n'))
}
