package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tailorhq/tailor/api"
	"github.com/tailorhq/tailor/api/apitest"
)

// ortLib is the runtime library; run initialises the runtime itself.
func ortLib(t testing.TB) string {
	t.Helper()
	lib := os.Getenv("TAILOR_ONNXRUNTIME_LIB")
	if lib == "" {
		t.Fatal("TAILOR_ONNXRUNTIME_LIB is not set: run `make test`, or set it to the path printed by scripts/onnxruntime.sh")
	}
	return lib
}

// testEnv is the environment of a server on the real models and data.
func testEnv(t testing.TB, extra map[string]string) func(string) string {
	m := map[string]string{
		"TAILOR_ADDR":            "127.0.0.1:0",
		"TAILOR_MODELS_DIR":      filepath.Join("..", "..", "models"),
		"TAILOR_FEATURES_DIR":    filepath.Join("..", "..", "data", "features"),
		"TAILOR_STORE_PATH":      filepath.Join(t.TempDir(), "profiles.db"),
		"TAILOR_ONNXRUNTIME_LIB": ortLib(t),
		"TAILOR_DRAIN_DELAY":     "0s", // tests that stop a server do not wait
		// The tests want the models' answers, and real inference on a loaded
		// or single-CPU machine can take longer than the production 50ms: a
		// deadline no healthy call misses. No test here relies on a timeout.
		"TAILOR_MODEL_TIMEOUT": "10s",
	}
	for k, v := range extra {
		m[k] = v
	}
	return func(k string) string { return m[k] }
}

type recResponse struct {
	RequestID string `json:"request_id"`
	Items     []struct {
		ID, Title, Category, Source string
		Price, Score                float64
		Rank                        int
		Reasons                     []string
		InStock                     bool `json:"in_stock"`
	} `json:"items"`
	Models              []string `json:"models"`
	Degraded            bool     `json:"degraded"`
	FallbackReason      string   `json:"fallback_reason"`
	IgnoredSessionItems []string `json:"ignored_session_items"`
}

// openAPI is the document the server serves, parsed once; every response
// the end-to-end test receives is held against it.
var openAPI = sync.OnceValues(func() (*apitest.Document, error) { return apitest.Parse(api.OpenAPIDocument()) })

// send makes one request (a JSON body when body is not empty) and reads the
// whole answer.
func send(method, rawURL, body string) (*http.Response, []byte, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, rawURL, rd)
	if err != nil {
		return nil, nil, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	return resp, raw, err
}

// checkDoc holds a real response against the OpenAPI document.
func checkDoc(t *testing.T, method, rawURL string, resp *http.Response, raw []byte) {
	t.Helper()
	doc, err := openAPI()
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	doc.CheckT(t, method, u.Path, resp.StatusCode, resp.Header, raw)
}

// fetch sends one request, holds the answer against the OpenAPI document
// and returns its status, header and raw body.
func fetch(t *testing.T, method, rawURL, body string) (int, http.Header, []byte) {
	t.Helper()
	resp, raw, err := send(method, rawURL, body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, rawURL, err)
	}
	checkDoc(t, method, rawURL, resp, raw)
	if ct := resp.Header.Get("Content-Type"); strings.HasSuffix(ct, "json") && (resp.ContentLength != int64(len(raw)) || len(resp.TransferEncoding) > 0) {
		t.Errorf("%s %s: %s body of %d bytes sent with Content-Length %d, transfer encoding %v; want its length, unchunked",
			method, rawURL, ct, len(raw), resp.ContentLength, resp.TransferEncoding)
	}
	return resp.StatusCode, resp.Header, raw
}

// post asks for recommendations; the answer is held against the OpenAPI
// document, and returned raw and decoded.
func post(t *testing.T, url, body string) (int, http.Header, []byte, recResponse) {
	t.Helper()
	status, header, raw := fetch(t, http.MethodPost, url, body)
	var r recResponse
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatalf("POST %s: decode: %v", body, err)
	}
	return status, header, raw, r
}

// TestEndToEnd runs the real server on :0 with the real runtime, models and
// data, waits for /readyz, and asks what a chatbot would ask.
func TestEndToEnd(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	outR, outW := io.Pipe()
	done := make(chan error, 1)
	// here, not in the goroutine: it may t.Fatal. The CF batcher is on, so
	// that its path is served end to end too.
	env := testEnv(t, map[string]string{"TAILOR_CF_MAX_BATCH": "4", "TAILOR_READ_TIMEOUT": "1s", "TAILOR_DRAIN_DELAY": "3s"})
	go func() {
		err := run(ctx, []string{"serve"}, env, outW, io.Discard)
		outW.CloseWithError(err)
		done <- err
	}()
	lines := bufio.NewScanner(outR)
	if !lines.Scan() {
		t.Fatalf("no output: %v", <-done)
	}
	_, addr, ok := strings.Cut(lines.Text(), "listening on ")
	if !ok {
		t.Fatalf("first line %q does not name the address", lines.Text())
	}
	base := strings.Fields(addr)[0]
	go func() {
		for lines.Scan() {
		}
	}()
	// Alive from the start, while the models load.
	if status, _, body := fetch(t, http.MethodGet, base+"/healthz", ""); status != http.StatusOK {
		t.Errorf("/healthz: %d %s", status, body)
	}
	deadline := time.Now().Add(30 * time.Second)
	loading := 0
	for {
		resp, raw, err := send(http.MethodGet, base+"/readyz", "")
		if err == nil {
			checkDoc(t, http.MethodGet, base+"/readyz", resp, raw)
			if resp.StatusCode == http.StatusOK {
				break
			}
			if resp.StatusCode != http.StatusServiceUnavailable {
				t.Fatalf("/readyz: %d before ready, want 503", resp.StatusCode)
			}
			loading++
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz not 200 within 30s: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("/readyz answered 503 %d times while loading, then 200", loading)
	if resp, raw, err := send(http.MethodHead, base+"/readyz", ""); err != nil || resp.StatusCode != http.StatusOK || len(raw) != 0 {
		t.Errorf("HEAD /readyz when ready: %v %v %q, want 200 without a body", resp, err, raw)
	}
	if status, _, body := fetch(t, http.MethodGet, base+"/healthz", ""); status != http.StatusOK {
		t.Errorf("/healthz: %d %s", status, body)
	}

	// A known customer: model-sourced, explained items.
	status, _, _, known := post(t, base+"/v1/recommendations", `{"user_id":"17850","k":5,"explain":true}`)
	if status != 200 || len(known.Items) != 5 || known.Degraded || len(known.Models) != 2 || known.RequestID == "" {
		t.Fatalf("known customer: %d %+v", status, known)
	}
	for _, it := range known.Items {
		if !strings.HasPrefix(it.Source, "propensity@") || len(it.Reasons) == 0 || it.Title == "" || it.Price <= 0 {
			t.Errorf("known customer item %+v", it)
		}
		// explain: the blended score, the model's probability, the CF score.
		if why := it.Reasons[len(it.Reasons)-1]; !strings.HasPrefix(why, "score ") || !strings.Contains(why, "; propensity ") {
			t.Errorf("explained reasons of %s: %q", it.ID, it.Reasons)
		}
	}
	// Asked again, the same question gets the same items from the answer
	// cache, under a request id of its own.
	_, _, _, again := post(t, base+"/v1/recommendations", `{"user_id":"17850","k":5,"explain":true}`)
	if again.RequestID == known.RequestID || len(again.Items) != len(known.Items) || again.Items[0].ID != known.Items[0].ID || again.Items[0].Score != known.Items[0].Score {
		t.Errorf("the same request again: %+v\nfirst: %+v", again, known)
	}
	// The id as the data set's files write it (CustomerID "17850.0") is the
	// same customer, answered the same way.
	_, _, _, raw := post(t, base+"/v1/recommendations", `{"user_id":"17850.0","k":5,"explain":true}`)
	if raw.Degraded || len(raw.Items) != len(known.Items) || raw.Items[0].ID != known.Items[0].ID || raw.Items[0].Score != known.Items[0].Score {
		t.Errorf("customer 17850.0: %+v\nas 17850: %+v", raw, known)
	}
	// An unknown one: a labelled fallback.
	_, _, _, unknown := post(t, base+"/v1/recommendations", `{"user_id":"no-such-customer","k":5,"context":{"country":"Germany"}}`)
	if !unknown.Degraded || unknown.FallbackReason == "" || len(unknown.Items) != 5 || !strings.HasPrefix(unknown.Items[0].Source, "rule:") {
		t.Errorf("unknown customer: %+v", unknown)
	}
	// A session item the catalog lacks is named in the answer; the known
	// one drives it. Without one, the field is absent.
	_, _, rawSess, sess := post(t, base+"/v1/recommendations", `{"k":3,"context":{"session_items":[{"item_id":"NOPE-1","event":"view"},{"item_id":"85123A","event":"cart"}]}}`)
	if len(sess.Items) != 3 || sess.Degraded || !slices.Equal(sess.IgnoredSessionItems, []string{"NOPE-1"}) {
		t.Errorf("session with an unknown id: %s", rawSess)
	}
	if _, _, raw, _ := post(t, base+"/v1/recommendations", `{"k":3}`); bytes.Contains(raw, []byte("ignored_session_items")) {
		t.Errorf("no session, yet: %s", raw)
	}
	// The country by its ISO code, in any case: France's own list, said so.
	for _, country := range []string{"FR", "fr", " france "} {
		_, _, _, fr := post(t, base+"/v1/recommendations", `{"k":3,"context":{"country":"`+country+`"}}`)
		if len(fr.Items) != 3 || fr.Items[0].Source != "rule:popular_in_country" || fr.Items[0].Reasons[0] != "Popular with customers in France" {
			t.Errorf("anonymous visitor in %q: %+v", country, fr)
		}
	}
	// discover never repeats a purchase.
	_, _, _, all := post(t, base+"/v1/recommendations", `{"user_id":"17850","k":100,"mode":"buy_again"}`)
	bought := map[string]bool{}
	for _, it := range all.Items {
		bought[it.ID] = true
	}
	_, _, _, disc := post(t, base+"/v1/recommendations", `{"user_id":"17850","k":20,"mode":"discover"}`)
	if len(disc.Items) != 20 || len(bought) == 0 {
		t.Fatalf("discover: %d items; buy-again %d", len(disc.Items), len(bought))
	}
	for _, it := range disc.Items {
		if bought[it.ID] {
			t.Errorf("discover repeats purchase %s", it.ID)
		}
	}
	// A filter.
	_, _, _, cheap := post(t, base+"/v1/recommendations", `{"user_id":"17850","k":10,"filters":{"max_price":2,"categories":["kitchen & dining"],"exclude":["`+known.Items[0].ID+`"]}}`)
	if len(cheap.Items) == 0 {
		t.Fatal("filtered answer is empty")
	}
	for _, it := range cheap.Items {
		if it.Price > 2 || it.Category != "kitchen & dining" || it.ID == known.Items[0].ID {
			t.Errorf("filter not honoured: %+v", it)
		}
	}
	// A price range, categories and a diversity cap: k items, each within
	// the filters, no category over the cap, still ranked by the models.
	wanted := map[string]bool{"kitchen & dining": true, "candles & lights": true, "home decor": true}
	_, _, _, diverse := post(t, base+"/v1/recommendations", `{"user_id":"17850","k":10,"filters":{"min_price":1,"max_price":5,
		"categories":["kitchen & dining","candles & lights","home decor"]},"diversity":{"max_per_category":4}}`)
	perCategory := map[string]int{}
	for _, it := range diverse.Items {
		perCategory[it.Category]++
		if it.Price < 1 || it.Price > 5 || !wanted[it.Category] || !it.InStock || !strings.HasPrefix(it.Source, "propensity@") {
			t.Errorf("price range, categories and cap: %+v", it)
		}
	}
	if len(diverse.Items) != 10 || diverse.Degraded || len(perCategory) != 3 {
		t.Errorf("price range, categories and cap: %d items, degraded %v (%s), categories %v", len(diverse.Items), diverse.Degraded, diverse.FallbackReason, perCategory)
	}
	for c, n := range perCategory {
		if n > 4 {
			t.Errorf("%d items of %s, over the cap of 4", n, c)
		}
	}
	// 17850 never bought anything in the garden: buy_again finds nothing,
	// so the answer is the most popular garden items, and says so.
	_, _, _, relaxed := post(t, base+"/v1/recommendations", `{"user_id":"17850","k":5,"mode":"buy_again","filters":{"categories":["garden"]}}`)
	if len(relaxed.Items) != 5 || !relaxed.Degraded || relaxed.FallbackReason != "nothing_matched_filters_in_mode" {
		t.Errorf("buy_again in a category never bought: %+v", relaxed)
	}
	for _, it := range relaxed.Items {
		if it.Category != "garden" || it.Source != "rule:popular_within_filter" || len(it.Reasons) < 2 {
			t.Errorf("buy_again in a category never bought: %+v", it)
		}
	}
	// No item of the catalog costs £500 or more: empty, and explained.
	if status, _, _, none := post(t, base+"/v1/recommendations", `{"user_id":"17850","filters":{"min_price":500}}`); status != 200 ||
		len(none.Items) != 0 || !none.Degraded || none.FallbackReason != "no_item_matches_filters" {
		t.Errorf("filters that match nothing: %d %+v", status, none)
	}
	sessionAndRank(t, base)
	stalledClient(t, base)
	// Bad input: problem+json naming the field.
	status, header, body := fetch(t, http.MethodPost, base+"/v1/recommendations", `{"k":1000}`)
	if status != 400 || header.Get("Content-Type") != "application/problem+json" || !bytes.Contains(body, []byte(`"field":"k"`)) {
		t.Errorf("k=1000: %d %s %s", status, header.Get("Content-Type"), body)
	}
	status, _, body = fetch(t, http.MethodPost, base+"/v1/recommendations", `{"filters":{"min_price":5,"max_price":2,"categories":["kitchen"]},"diversity":{"max_per_category":0}}`)
	for _, field := range []string{"filters.min_price", "filters.categories[0]", "diversity.max_per_category"} {
		if status != 400 || !bytes.Contains(body, []byte(`"field":"`+field+`"`)) {
			t.Errorf("bad filters: %d %s; want %s named", status, body, field)
		}
	}
	// Similar items: a popular item gets co-purchase neighbours first, each
	// with a reason; a cold item (one buyer) still gets content neighbours.
	type simResponse struct {
		RequestID string `json:"request_id"`
		Item      struct{ ID, Title string }
		Items     []struct {
			ID, Title, Category, Source string
			Score                       float64
			Rank                        int
			Reasons                     []string
		}
	}
	similarTo := func(id string, k int) simResponse {
		t.Helper()
		status, _, raw := fetch(t, http.MethodGet, base+"/v1/items/"+id+"/similar?k="+strconv.Itoa(k), "")
		var r simResponse
		if err := json.Unmarshal(raw, &r); status != 200 || err != nil {
			t.Fatalf("similar to %s: %d %v %s", id, status, err, raw)
		}
		if r.Item.ID != id || len(r.Items) != k {
			t.Fatalf("similar to %s: item %+v, %d items, want %d", id, r.Item, len(r.Items), k)
		}
		seen := map[string]bool{id: true}
		for i, it := range r.Items {
			if seen[it.ID] || it.Rank != i+1 || len(it.Reasons) != 1 || it.Title == "" {
				t.Errorf("similar to %s, item %d: %+v", id, i, it)
			}
			seen[it.ID] = true
			if i > 0 && r.Items[i-1].Source == "content" && it.Source == "co_purchase" {
				t.Errorf("similar to %s: co-purchase item %d after a content item", id, i)
			}
		}
		return r
	}
	popular := similarTo("85123A", 8)
	if popular.Items[0].Source != "co_purchase" || !strings.HasPrefix(popular.Items[0].Reasons[0], "Customers who bought WHITE HANGING HEART T-LIGHT HOLDER also bought this (") {
		t.Errorf("85123A: first item %+v", popular.Items[0])
	}
	for _, it := range similarTo("16161M", 5).Items {
		if it.Source != "content" || !strings.HasPrefix(it.Reasons[0], "Like this one: ") {
			t.Errorf("cold item 16161M: %+v", it)
		}
	}
	if status, header, body := fetch(t, http.MethodGet, base+"/v1/items/NO-SUCH-ITEM/similar", ""); status != 404 || header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("unknown item: %d %s %s", status, header.Get("Content-Type"), body)
	}
	if status, _, body := fetch(t, http.MethodGet, base+"/v1/items/85123A/similar?k=0", ""); status != 400 || !bytes.Contains(body, []byte(`"field":"k"`)) {
		t.Errorf("k=0: %d %s", status, body)
	}
	// The models served, and the document itself.
	if status, _, body := fetch(t, http.MethodGet, base+"/v1/models", ""); status != http.StatusOK {
		t.Errorf("/v1/models: %d %s", status, body)
	}
	if status, _, body := fetch(t, http.MethodGet, base+"/openapi.json", ""); status != http.StatusOK || !bytes.Equal(body, api.OpenAPIDocument()) {
		t.Errorf("/openapi.json: %d, served document differs from the embedded one", status)
	}
	// Metrics show the stages.
	_, _, metrics := fetch(t, http.MethodGet, base+"/metrics", "")
	for _, m := range []string{"tailor_http_request_duration_seconds", "tailor_model_inference_duration_seconds", "tailor_feature_cache_hits_total", "tailor_fallbacks_total", "tailor_breaker_state", "tailor_cf_batch_size_bucket", `tailor_answer_cache_lookups_total{result="hit"}`} {
		if !bytes.Contains(metrics, []byte(m)) {
			t.Errorf("/metrics lacks %s", m)
		}
	}

	// Stopping: for the drain delay /readyz says 503 (draining) on new
	// connections while recommendations are still answered, so that a load
	// balancer can stop sending before the listener closes.
	cancel()
	for {
		resp, raw, err := send(http.MethodGet, base+"/readyz", "")
		if err != nil {
			t.Fatalf("/readyz after cancel, before any 503: %v (the listener closed without a drain delay)", err)
		}
		checkDoc(t, http.MethodGet, base+"/readyz", resp, raw)
		if resp.StatusCode == http.StatusServiceUnavailable {
			if !bytes.Contains(raw, []byte("draining")) {
				t.Errorf("/readyz while draining: %s, want it to say draining", raw)
			}
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if status, _, _, r := post(t, base+"/v1/recommendations", `{"user_id":"17850","k":3}`); status != 200 || len(r.Items) != 3 {
		t.Errorf("a recommendation while not ready and draining: %d %+v, want it answered", status, r)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run returned %v after cancel; want nil", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("run did not return within 20s of cancel")
	}
	// The freed port may have been bound since by another test process's
	// server, even another tailor API: only this one, draining, answers
	// /readyz with 503 "draining".
	if resp, raw, err := send(http.MethodGet, base+"/readyz", ""); err == nil {
		if resp.StatusCode == http.StatusServiceUnavailable && bytes.Contains(raw, []byte("draining")) {
			t.Error("/readyz answered draining after run returned; want the listener closed")
		} else {
			t.Logf("after run returned, another listener on the freed port answered %d: not this server", resp.StatusCode)
		}
	}
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// stalledClient sends a request whose body stops short of its
// Content-Length and checks that the server lets go of the connection
// within TAILOR_READ_TIMEOUT (1 s in TestEndToEnd) instead of waiting for
// ever, answering a 4xx problem+json.
func stalledClient(t *testing.T, base string) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "POST /v1/recommendations HTTP/1.1\r\nHost: tailor\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"k\":"); err != nil {
		t.Fatal(err)
	}
	// Far longer than the read timeout, so that only a server that never
	// gives up fails here.
	if err := conn.SetReadDeadline(time.Now().Add(20 * time.Second)); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(conn)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the server held a stalled request for 20 s (read so far: %q)", got)
	}
	// Its answer: a 4xx problem+json, then the connection closes.
	head, body, _ := strings.Cut(string(got), "\r\n\r\n")
	if f := strings.Fields(head); len(f) < 2 || f[1][0] != '4' || !strings.Contains(head, "Content-Type: application/problem+json") || !strings.Contains(body, `"request_id"`) {
		t.Errorf("a stalled request got %q, want a 4xx problem+json", got)
	}
	t.Logf("a stalled request got %q", got)
}
