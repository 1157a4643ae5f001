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
	"strconv"
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
	done   chan struct{} // closed when the process has exited and its output is copied
	base   string
	client *http.Client
	// ctx bounds every request: evaluate.Recommender, which Recommend
	// implements, takes no context of its own.
	ctx  context.Context
	logs bytes.Buffer // the server's stderr; read only once done is closed

	mu       sync.Mutex
	requests int
	differ   int    // answers unlike the in-process flow's
	first    string // the first of them: the question and both answers
	err      error  // the first request that failed
	want     func(key string) ([]string, bool)
}

// startHTTP starts bin on s's models and features and waits until /readyz
// says 200. The server gets none of this process's TAILOR_* and OTEL_*
// variables, only the settings the comparison needs (the blend's weight
// among them) and ortLib.
func startHTTP(ctx context.Context, bin, ortLib string, s *served, cut time.Time, ownOrderWeight float64) (_ *overHTTP, err error) {
	h := &overHTTP{done: make(chan struct{}), client: &http.Client{Timeout: 30 * time.Second}, ctx: ctx, want: s.answer}
	cmd := exec.CommandContext(ctx, bin)
	cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "TAILOR_") || strings.HasPrefix(kv, "OTEL_")
	})
	cmd.Env = append(cmd.Env,
		"TAILOR_ONNXRUNTIME_LIB="+ortLib,
		"TAILOR_ADDR=127.0.0.1:0",
		"TAILOR_MODELS_DIR="+filepath.Join(s.dir, "models"),
		"TAILOR_FEATURES_DIR="+filepath.Join(s.dir, "features"),
		"TAILOR_STORE_PATH="+filepath.Join(s.dir, "http-profiles.db"),
		"TAILOR_REFERENCE_TIME="+cut.Format(time.DateOnly),
		"TAILOR_MODEL_TIMEOUT="+evalModelTimeout.String(),
		"TAILOR_OWN_ORDER_WEIGHT="+strconv.FormatFloat(ownOrderWeight, 'g', -1, 64),
		"TAILOR_DRAIN_DELAY=0s",
		"TAILOR_ANSWER_CACHE_TTL=0s", // every answer computed, none reused
		"OTEL_SDK_DISABLED=true",
	)
	cmd.Stderr = &h.logs
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
	go func() { // ends when the process closes its stdout
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
			err = fmt.Errorf("%s: %w%s", bin, err, h.logTail())
		}
	}()
	select {
	case h.base = <-addr:
	case <-h.done:
		return nil, errors.New("exited before it listened")
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(30 * time.Second):
		return nil, errors.New("no listening address within 30s")
	}
	for deadline := time.Now().Add(60 * time.Second); ; {
		if ready, err := h.ready(); err == nil && ready {
			return h, nil
		}
		if time.Now().After(deadline) {
			return nil, errors.New("/readyz not 200 within 60s")
		}
		select {
		case <-h.done:
			return nil, errors.New("exited before it was ready")
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// ready reports whether /readyz says 200.
func (h *overHTTP) ready() (bool, error) {
	req, err := http.NewRequestWithContext(h.ctx, http.MethodGet, h.base+"/readyz", nil)
	if err != nil {
		return false, err
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return false, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK, nil
}

// stop sends SIGTERM and waits for the process to exit; it is safe to call
// more than once.
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

// logTail is the end of the server's stderr, once it has exited.
func (h *overHTTP) logTail() string {
	select {
	case <-h.done:
	default:
		return ""
	}
	lines := strings.Split(strings.TrimSpace(h.logs.String()), "\n")
	return "\nthe server's last lines:\n" + strings.Join(lines[max(0, len(lines)-20):], "\n")
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
		if h.differ == 0 {
			h.first = fmt.Sprintf("customer %s, mode %s: over HTTP %v, in process %v", customer, mode, ids, want)
		}
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

// check stops the server and returns the first failed request, or an error
// when any answer differs from the in-process flow's; either way with the
// end of the server's log.
func (h *overHTTP) check() error {
	h.stop()
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.err != nil {
		return fmt.Errorf("over HTTP: %w%s", h.err, h.logTail())
	}
	if h.differ > 0 {
		return fmt.Errorf("over HTTP: %d of %d answers differ from the in-process flow's; the first: %s%s", h.differ, h.requests, h.first, h.logTail())
	}
	return nil
}
