package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/tailorhq/tailor/recommend"
)

// fakeRanker answers in reverse order of the ids given, "?"-prefixed ids
// marked unknown and last, and records what it was asked.
type fakeRanker struct {
	mu  sync.Mutex
	got []recommend.RankRequest
	fn  func(context.Context, recommend.RankRequest) (recommend.RankResponse, error)
}

func (f *fakeRanker) Rank(ctx context.Context, req recommend.RankRequest) (recommend.RankResponse, error) {
	f.mu.Lock()
	f.got = append(f.got, req)
	f.mu.Unlock()
	if f.fn != nil {
		return f.fn(ctx, req)
	}
	var known, unknown []recommend.RankedItem
	for i, id := range slices.Backward(req.Items) {
		if strings.HasPrefix(id, "?") {
			unknown = append([]recommend.RankedItem{{ID: id, Reasons: []string{recommend.ReasonNotInCatalog}, Unknown: true}}, unknown...)
			continue
		}
		score, price := float64(i+1)/float64(len(req.Items)+1), 2.55
		known = append(known, recommend.RankedItem{ID: id, Title: "ITEM " + id, Price: &price, Category: "candles & lights",
			Score: &score, Source: "propensity@20111101.0a1b2c3d"})
	}
	items := append(known, unknown...)
	for i := range items {
		items[i].Rank = i + 1
	}
	var ignored []string // session ids "?…" stand for ids the catalog lacks
	for _, it := range req.Session {
		if strings.HasPrefix(it.ItemID, "?") {
			ignored = append(ignored, it.ItemID)
		}
	}
	return recommend.RankResponse{Items: items, Models: []string{"cf@20111101.d9a8bd95", "propensity@20111101.0a1b2c3d"}, IgnoredSessionItems: ignored}, nil
}

func TestRank(t *testing.T) {
	fake := &fakeRanker{}
	h := newHarness(t, Config{}, Deps{Ranker: fake})
	body := `{"user_id":"17850","items":["22423","?NOPE","85123A","47566"],"context":{"country":"France","session_items":[{"item_id":"21733","event":"cart"},{"item_id":"?GONE","event":"view"}]},"explain":true}`
	if err := h.doc.Validate("#/components/schemas/RankRequest", mustParse(t, body)); err != nil {
		t.Fatalf("the example request does not match the document: %v", err)
	}
	rec := h.do(t, "POST", "/v1/rank", "application/json", body, HeaderRequestID, "rank-1")
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("status %d %q: %s", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
	}
	got := fake.got[0]
	if got.UserID != "17850" || !slices.Equal(got.Items, []string{"22423", "?NOPE", "85123A", "47566"}) || !got.Explain ||
		got.Context["country"] != "France" || len(got.Session) != 2 || got.Session[0].Event != recommend.EventCart {
		t.Errorf("ranker got %+v", got)
	}
	var resp map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
		t.Fatal(err)
	}
	items := resp["items"].([]any)
	last := items[3].(map[string]any)
	if ig, _ := resp["ignored_session_items"].([]any); len(ig) != 1 || ig[0] != "?GONE" {
		t.Errorf("ignored_session_items %v", resp["ignored_session_items"])
	}
	if resp["request_id"] != "rank-1" || len(items) != 4 || last["id"] != "?NOPE" || last["unknown"] != true || last["score"] != nil {
		t.Errorf("response %s", rec.Body)
	}
	if _, ok := last["score"]; !ok {
		t.Errorf("an unknown item's score is absent, want null: %v", last)
	}
	if first := items[0].(map[string]any); first["id"] != "47566" || first["unknown"] != false || first["title"] == nil {
		t.Errorf("first item %v", first)
	}

	// A degraded answer with nil lists still has [] lists.
	fake.fn = func(context.Context, recommend.RankRequest) (recommend.RankResponse, error) {
		one := 1.0
		return recommend.RankResponse{Items: []recommend.RankedItem{{ID: "22423", Title: "T", Price: &one, Score: &one, Rank: 1, Source: "rule:popular_overall"}},
			Degraded: true, FallbackReason: recommend.ReasonAnonymous}, nil
	}
	rec = h.do(t, "POST", "/v1/rank", "application/json", `{"items":["22423"]}`)
	if !strings.Contains(rec.Body.String(), `"models":[]`) || !strings.Contains(rec.Body.String(), `"reasons":[]`) || !strings.Contains(rec.Body.String(), `"fallback_reason":"anonymous_or_unknown_customer"`) {
		t.Errorf("degraded answer %s", rec.Body)
	}
	// Failures map as for recommendations.
	fake.fn = func(context.Context, recommend.RankRequest) (recommend.RankResponse, error) {
		return recommend.RankResponse{}, fmt.Errorf("cf: %w", context.DeadlineExceeded)
	}
	if rec := h.do(t, "POST", "/v1/rank", "application/json", `{"items":["22423"]}`); rec.Code != http.StatusServiceUnavailable {
		t.Errorf("deadline: %d %s", rec.Code, rec.Body)
	}
	fake.fn = func(context.Context, recommend.RankRequest) (recommend.RankResponse, error) {
		return recommend.RankResponse{}, errors.New("secret cause")
	}
	if rec := h.do(t, "POST", "/v1/rank", "application/json", `{"items":["22423"]}`); rec.Code != http.StatusInternalServerError || strings.Contains(rec.Body.String(), "secret") {
		t.Errorf("error: %d %s", rec.Code, rec.Body)
	}
}

func TestRankBadInput(t *testing.T) {
	ids := func(n int) string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf(`"%d"`, 10000+i)
		}
		return "[" + strings.Join(out, ",") + "]"
	}
	cases := []struct {
		name, contentType, body string
		status                  int
		fields                  []string
		message                 string
	}{
		{"items missing", "application/json", `{"user_id":"17850"}`, 400, []string{"items"}, "is required: 1 to 500 item ids to rank"},
		{"items null", "application/json", `{"items":null}`, 400, []string{"items"}, "must be an array of 1 to 500 item ids"},
		{"items empty", "application/json", `{"items":[]}`, 400, []string{"items"}, "must be an array of 1 to 500 item ids; got 0"},
		{"501 items", "application/json", `{"items":` + ids(501) + `}`, 400, []string{"items"}, "must be an array of 1 to 500 item ids; got 501"},
		{"items a string", "application/json", `{"items":"22423"}`, 400, []string{"items"}, ""},
		{"an id a number", "application/json", `{"items":["22423",85123,null]}`, 400, []string{"items[1]", "items[2]"}, "must be a string"},
		{"an empty id", "application/json", `{"items":["22423",""]}`, 400, []string{"items[1]"}, "must not be empty: an item id"},
		{"an id repeated", "application/json", `{"items":["22423","85123A","22423"]}`, 400, []string{"items[2]"}, "repeats items[0]; give each id once"},
		{"an escaped repeat", "application/json", `{"items":["AB","\u0041B"]}`, 400, []string{"items[1]"}, ""},
		{"unknown field", "application/json", `{"items":["1"],"k":5}`, 400, []string{"k"}, "unknown field; allowed: user_id, session_id, items, context, explain"},
		{"user_id a number", "application/json", `{"items":["1"],"user_id":17850}`, 400, []string{"user_id"}, "must be a string"},
		{"explain a string", "application/json", `{"items":["1"],"explain":"yes"}`, 400, []string{"explain"}, ""},
		{"empty body", "application/json", ``, 400, []string{""}, ""},
		{"array body", "application/json", `["22423"]`, 400, []string{""}, ""},
		{"malformed", "application/json", `{"items":[`, 400, []string{""}, ""},
		{"text", "text/plain", `{"items":["1"]}`, 415, nil, ""},
		{"huge", "application/json", `{"items":["` + strings.Repeat("x", DefaultBodyLimit) + `"]}`, 413, nil, ""},
	}
	for _, s := range badSessions {
		cases = append(cases, struct {
			name, contentType, body string
			status                  int
			fields                  []string
			message                 string
		}{"session: " + s.name, "application/json", `{"items":["22423"],"context":` + s.context + `}`, 400, s.fields, s.message})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fake := &fakeRanker{}
			h := newHarness(t, Config{}, Deps{Ranker: fake})
			if tc.status == 400 && json.Valid([]byte(tc.body)) {
				if h.doc.Validate("#/components/schemas/RankRequest", mustParse(t, tc.body)) == nil {
					t.Errorf("the document accepts %s", tc.body)
				}
			}
			rec := h.do(t, "POST", "/v1/rank", tc.contentType, tc.body, HeaderRequestID, "bad-rank")
			if rec.Code != tc.status || rec.Header().Get("Content-Type") != "application/problem+json" {
				t.Fatalf("status %d %q, want %d problem: %s", rec.Code, rec.Header().Get("Content-Type"), tc.status, rec.Body)
			}
			p := decodeBody[problemBody](t, rec)
			if !slices.Equal(fields(p), tc.fields) {
				t.Errorf("errors[].field %q, want %q (%s)", fields(p), tc.fields, rec.Body)
			}
			if tc.message != "" && (len(p.Errors) == 0 || p.Errors[0].Message != tc.message) {
				t.Errorf("errors %+v, want message %q", p.Errors, tc.message)
			}
			if p.RequestID != "bad-rank" || len(fake.got) != 0 {
				t.Errorf("request id %q; ranker called %d times", p.RequestID, len(fake.got))
			}
		})
	}
	// 500 is the limit, not past it.
	fake := &fakeRanker{}
	h := newHarness(t, Config{}, Deps{Ranker: fake})
	if rec := h.do(t, "POST", "/v1/rank", "application/json", `{"items":`+ids(500)+`}`); rec.Code != 200 || len(fake.got) != 1 || len(fake.got[0].Items) != 500 {
		t.Errorf("500 items: %d", rec.Code)
	}
}

func TestRankWithoutRanker(t *testing.T) {
	h := newHarness(t, Config{}, Deps{})
	if rec := h.do(t, "POST", "/v1/rank", "application/json", `{"items":["22423"]}`); rec.Code != http.StatusServiceUnavailable {
		t.Errorf("status %d, want 503: %s", rec.Code, rec.Body)
	}
	if rec := h.do(t, "GET", "/v1/rank", "", ""); rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d", rec.Code)
	}
}

// FuzzDecodeRankRequest holds the rank decoder to its promise: it never
// panics; it returns 1 to 500 distinct ids and valid session items, or an
// invalid-kind *Error naming fields; and for well-formed JSON it accepts
// exactly what the document's RankRequest schema accepts.
func FuzzDecodeRankRequest(f *testing.F) {
	for _, s := range []string{
		`{"items":["22423"]}`, `{"items":[]}`, `{"items":null}`, `{}`, `{"items":["a","a"]}`, `{"items":["a","\u0061"]}`, `{"items":["a","A"]}`,
		`{"items":["a",1]}`, `{"items":"a"}`, `{"user_id":"1","session_id":null,"explain":false,"items":["x"]}`,
		`{"items":["x"],"k":1}`, `[]`, `null`, ``, `{"items":["\ud800","\ufffd"]}`,
		`{"items":[""],"context":{"":[],"":"0"}}`,
	} {
		f.Add([]byte(s))
	}
	for _, s := range contextSeeds {
		f.Add([]byte(strings.Replace(s, `{"context"`, `{"items":["22423"],"context"`, 1)))
	}
	doc := loadOpenAPI(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := decodeRankRequest(body)
		if err == nil {
			if len(req.Items) < 1 || len(req.Items) > recommend.MaxRankItems {
				t.Fatalf("accepted %d items", len(req.Items))
			}
			seen := map[string]bool{}
			for _, id := range req.Items {
				if seen[id] {
					t.Fatalf("accepted %q twice", id)
				}
				seen[id] = true
			}
			checkSession(t, req.Session)
		} else {
			var e *Error
			if !errors.As(err, &e) || e.Kind != KindInvalid || len(e.Fields) == 0 || len(e.Fields) > maxFieldErrors || e.Detail == "" {
				t.Fatalf("error %#v is not an invalid-kind *Error with field errors", err)
			}
		}
		if !json.Valid(body) {
			if err == nil {
				t.Fatalf("accepted malformed JSON %q", body)
			}
			return
		}
		v, perr := parseJSON(body)
		if perr != nil {
			return
		}
		if checkDuplicateKeys(t, body, err) {
			return
		}
		serr := doc.Validate("#/components/schemas/RankRequest", v)
		if err != nil && serr == nil && onlyCaseRepeats(err) {
			return // ids repeated but for letter case: a rule uniqueItems cannot state
		}
		if (err == nil) != (serr == nil) {
			t.Fatalf("decoder and schema disagree on %q: decoder %v, schema %v", body, err, serr)
		}
	})
}

// onlyCaseRepeats reports whether err names nothing but ids that repeat
// another but for letter case.
func onlyCaseRepeats(err error) bool {
	var e *Error
	if !errors.As(err, &e) || len(e.Fields) == 0 {
		return false
	}
	for _, f := range e.Fields {
		if !strings.HasPrefix(f.Field, "items[") || !strings.Contains(f.Message, "regardless of letter case") {
			return false
		}
	}
	return true
}

// TestRankCaseVariantRepeat: ids are looked up regardless of ASCII letter
// case ("85123a" is 85123A), so two spellings of one id are one item given
// twice: a 400 naming both places, not an answer that silently drops one of
// the caller's entries. The schema's uniqueItems cannot say this, so the
// case is not in TestRankBadInput's table.
func TestRankCaseVariantRepeat(t *testing.T) {
	cases := []struct {
		name, items string
		fields      []string
	}{
		{"lower after upper", `["85123A","22423","85123a"]`, []string{"items[2]"}},
		{"upper after lower", `["85123a","85123A"]`, []string{"items[1]"}},
		{"mixed case", `["ab12Cd","AB12cD","x"]`, []string{"items[1]"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fake := &fakeRanker{}
			h := newHarness(t, Config{}, Deps{Ranker: fake})
			rec := h.do(t, "POST", "/v1/rank", "application/json", `{"items":`+tc.items+`}`)
			if rec.Code != http.StatusBadRequest || rec.Header().Get("Content-Type") != "application/problem+json" {
				t.Fatalf("status %d %q, want 400 problem: %s", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
			}
			p := decodeBody[problemBody](t, rec)
			if !slices.Equal(fields(p), tc.fields) || !strings.Contains(p.Errors[0].Message, "repeats items[") {
				t.Errorf("errors %+v, want %q naming the first place", p.Errors, tc.fields)
			}
			if len(fake.got) != 0 {
				t.Errorf("ranker called with %v", fake.got)
			}
		})
	}
	// Ids that differ other than in ASCII letter case stay distinct.
	fake := &fakeRanker{}
	h := newHarness(t, Config{}, Deps{Ranker: fake})
	if rec := h.do(t, "POST", "/v1/rank", "application/json", `{"items":["85123A","85123A ","é","É"]}`); rec.Code != 200 {
		t.Errorf("distinct ids: %d %s", rec.Code, rec.Body)
	}
}
