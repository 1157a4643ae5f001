package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// overHTTP asks the server binary for the same recommendations over loopback
// HTTP, the way a chatbot (or anyone measuring the shipped models) does: the
// binary is started on the models and features newServed wrote, with recency
// measured at the cut, and every answer is compared with the in-process
// flow's answer to the same question.
type overHTTP struct {
	cmd    *exec.Cmd
	done   chan struct{}
	base   string
	client *http.Client
	ctx    context.Context
	logs   *bytes.Buffer // the server's stderr: the access log and any error

	mu       sync.Mutex
	requests int
	differ   int   // answers unlike the in-process flow's
	err      error // the first request that failed
	want     func(key string) ([]string, bool)
}

// startHTTP starts bin (bin/tailor-serve) on s's models and features and
// waits until /readyz says 200.
func startHTTP(ctx context.Context, bin string, s *served, cut time.Time) (_ *overHTTP, err error) {
	h := &overHTTP{done: make(chan struct{}), client: &http.Client{Timeout: 10 * time.Second}, ctx: ctx, logs: new(bytes.Buffer), want: s.answer}
	cmd := exec.CommandContext(ctx, bin)
	cmd.Env = append(os.Environ(),
		"TAILOR_ADDR=127.0.0.1:0",
		"TAILOR_MODELS_DIR="+filepath.Join(s.dir, "models"),
		"TAILOR_FEATURES_DIR="+filepath.Join(s.dir, "features"),
		"TAILOR_STORE_PATH="+filepath.Join(s.dir, "http-profiles.db"),
		"TAILOR_REFERENCE_TIME="+cut.Format(time.DateOnly),
		"TAILOR_DRAIN_DELAY=0s",
		"TAILOR_ANSWER_CACHE_TTL=0s", // every answer computed, none reused
	)
	cmd.Stderr = &syncWriter{w: h.logs}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w (run `make build` first, or -server-bin '' to skip the HTTP row)", bin, err)
	}
	h.cmd = cmd
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), "tailor-serve listening on "); ok {
				select {
				case addr <- a:
				default:
				}
			}
		}
	}()
	go func() { _ = cmd.Wait(); close(h.done) }()
	defer func() {
		if err != nil {
			h.stop()
			err = fmt.Errorf("%s: %w\n%s", bin, err, h.logs.String())
		}
	}()
	select {
	case h.base = <-addr:
	case <-h.done:
		return nil, errors.New("exited before it listened")
	case <-time.After(30 * time.Second):
		return nil, errors.New("no listening address within 30s")
	}
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			return nil, errors.New("/readyz not 200 within 60s")
		}
		select {
		case <-h.done:
			return nil, errors.New("exited before it was ready")
		default:
		}
		resp, err := h.client.Get(h.base + "/readyz")
		if err != nil {
			continue
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return h, nil
		}
	}
}

// stop sends SIGTERM and waits for the process to exit.
func (h *overHTTP) stop() {
	if h.cmd == nil || h.cmd.Process == nil {
		return
	}
	_ = h.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-h.done:
	case <-time.After(15 * time.Second):
		_ = h.cmd.Process.Kill()
		<-h.done
	}
}

// Recommend implements evaluate.Recommender with POST /v1/recommendations:
// mode auto for the all-items task, mode discover for the new-items task,
// as served.Recommend asks. A failed request answers nothing and is
// reported by check.
func (h *overHTTP) Recommend(customer string, k int, skip func(item string) bool) []string {
	mode := "auto"
	if skip != nil {
		mode = "discover"
	}
	ids, err := h.ask(customer, k, mode)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.requests++
	if err != nil {
		if h.err == nil {
			h.err = fmt.Errorf("customer %s, mode %s: %w", customer, mode, err)
		}
		return nil
	}
	if want, ok := h.want(answerKey(customer, mode)); !ok || !slices.Equal(ids, want) {
		h.differ++
	}
	return ids
}

func (h *overHTTP) ask(customer string, k int, mode string) ([]string, error) {
	body, err := json.Marshal(map[string]any{"user_id": customer, "k": k, "mode": mode})
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(h.ctx, http.MethodPost, h.base+"/v1/recommendations", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := h.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status %d: %s", resp.StatusCode, b)
	}
	var out struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("decode the answer: %w", err)
	}
	ids := make([]string, len(out.Items))
	for i, it := range out.Items {
		ids[i] = it.ID
	}
	return ids, nil
}

// check returns the first failed request, or an error when any answer
// differs from the in-process flow's.
func (h *overHTTP) check() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.err != nil {
		return fmt.Errorf("over HTTP: %w", h.err)
	}
	if h.differ > 0 {
		return fmt.Errorf("over HTTP: %d of %d answers differ from the in-process flow's", h.differ, h.requests)
	}
	return nil
}

// syncWriter lets the process's stderr copier and a failing start share a
// buffer.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
