package api

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/tailorhq/tailor/recommend"
)

// contextSeeds are fuzz seeds for context and its session_items, shared by
// both decoders' fuzz targets.
var contextSeeds = []string{
	`{"context":{"session_items":[{"item_id":"85123A","event":"view"},{"item_id":"21733","event":"cart"}],"device":"mobile"}}`,
	`{"context":{"session_items":null}}`, `{"context":{"session_items":[]}}`,
	`{"context":{"session_items":[{"item_id":"x","event":"buy"}]}}`,
	`{"context":{"session_items":[{"event":"view"},{"item_id":1,"event":"view"},{"item_id":"x","event":"view","qty":2}]}}`,
	`{"context":{"session_items":[{"item_id":null,"event":null}]}}`,
	`{"context":{"session_items":{"item_id":"x","event":"view"}}}`, `{"context":{"session_items":["85123A"]}}`,
	`{"context":{"session_items":[` + strings.Repeat(`{"item_id":"a","event":"purchase"},`, recommend.MaxSessionItems) + `{"item_id":"b","event":"view"}]}}`,
}

func addSeeds(f *testing.F, seeds []string) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
}

// checkSession stops a fuzz run that accepted session items the API
// forbids.
func checkSession(t *testing.T, s []recommend.SessionItem) {
	t.Helper()
	if len(s) > recommend.MaxSessionItems {
		t.Fatalf("accepted %d session items", len(s))
	}
	for _, it := range s {
		if !slices.Contains(recommend.Events(), it.Event) {
			t.Fatalf("accepted session event %q", it.Event)
		}
	}
}

func TestSessionItemsReachTheRecommender(t *testing.T) {
	h := newHarness(t, Config{}, Deps{})
	body := `{"context":{"device":"mobile","session_items":[{"item_id":"85123A","event":"view"},{"event":"cart","item_id":"NOT-IN-CATALOG"},{"item_id":"22423","event":"purchase"}]}}`
	if err := h.doc.Validate("#/components/schemas/RecommendationRequest", mustParse(t, body)); err != nil {
		t.Fatalf("the example request does not match the document: %v", err)
	}
	if rec := h.do(t, "POST", "/v1/recommendations", "application/json", body); rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	got := h.rec.last(t)
	want := []recommend.SessionItem{{ItemID: "85123A", Event: recommend.EventView}, {ItemID: "NOT-IN-CATALOG", Event: recommend.EventCart}, {ItemID: "22423", Event: recommend.EventPurchase}}
	if !slices.Equal(got.Session, want) || len(got.Context) != 1 || got.Context["device"] != "mobile" {
		t.Errorf("session %+v, context %v", got.Session, got.Context)
	}
	// The answer may name the session ids the catalog lacks; the document
	// holds it (do checks every response against it).
	h.rec.fn = func(context.Context, recommend.Request) (recommend.Response, error) {
		return recommend.Response{Items: []recommend.Item{}, Models: []string{}, IgnoredSessionItems: []string{"NOT-IN-CATALOG"}}, nil
	}
	rec := h.do(t, "POST", "/v1/recommendations", "application/json", body)
	if resp := decodeBody[recommendationResponse](t, rec); rec.Code != http.StatusOK || !slices.Equal(resp.IgnoredSessionItems, []string{"NOT-IN-CATALOG"}) {
		t.Errorf("status %d: %s", rec.Code, rec.Body)
	}
	h.rec.fn = nil
	// Exactly the limit is fine.
	full := `{"context":{"session_items":[` + strings.TrimSuffix(strings.Repeat(`{"item_id":"85123A","event":"view"},`, recommend.MaxSessionItems), ",") + `]}}`
	if rec := h.do(t, "POST", "/v1/recommendations", "application/json", full); rec.Code != http.StatusOK || len(h.rec.last(t).Session) != recommend.MaxSessionItems {
		t.Errorf("%d session items: status %d", recommend.MaxSessionItems, rec.Code)
	}
}

// badSessions are bodies with bad session items, the fields errors[] must
// name and the first message; both endpoints share them.
var badSessions = []struct {
	name, context string
	fields        []string
	message       string
}{
	{"not an array", `{"session_items":{"item_id":"85123A","event":"view"}}`, []string{"context.session_items"}, "must be an array of objects with item_id and event"},
	{"an id, not an object", `{"session_items":["85123A"]}`, []string{"context.session_items[0]"}, "must be an object with item_id and event"},
	{"unknown event", `{"session_items":[{"item_id":"a","event":"view"},{"item_id":"b","event":"view"},{"item_id":"c","event":"wishlist"}]}`,
		[]string{"context.session_items[2].event"}, "must be one of view, cart, purchase"},
	{"missing item_id", `{"session_items":[{"event":"view"}]}`, []string{"context.session_items[0].item_id"}, "is required"},
	{"empty item_id", `{"session_items":[{"item_id":"","event":"view"}]}`, []string{"context.session_items[0].item_id"}, "must not be empty: an item id"},
	{"missing event", `{"session_items":[{"item_id":"a"}]}`, []string{"context.session_items[0].event"}, "is required"},
	{"item_id a number", `{"session_items":[{"item_id":85123,"event":"view"}]}`, []string{"context.session_items[0].item_id"}, "must be a string"},
	{"null item_id", `{"session_items":[{"item_id":null,"event":"cart"}]}`, []string{"context.session_items[0].item_id"}, "must be a string"},
	{"unknown field", `{"session_items":[{"item_id":"a","event":"view","quantity":2}]}`, []string{"context.session_items[0].quantity"}, "unknown field; allowed: item_id, event"},
	{"too many", `{"session_items":[` + strings.Repeat(`{"item_id":"a","event":"view"},`, recommend.MaxSessionItems) + `{"item_id":"a","event":"view"}]}`,
		[]string{"context.session_items"}, fmt.Sprintf("must have at most %d items; send the latest", recommend.MaxSessionItems)},
	{"and another context value", `{"age":42,"session_items":[{"item_id":"a","event":"look"}]}`, []string{"context.age", "context.session_items[0].event"}, ""},
}

func TestSessionItemsBadInput(t *testing.T) {
	for _, tc := range badSessions {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Config{}, Deps{})
			body := `{"user_id":"17850","context":` + tc.context + `}`
			if h.doc.Validate("#/components/schemas/RecommendationRequest", mustParse(t, body)) == nil {
				t.Errorf("the document accepts %s", body)
			}
			rec := h.do(t, "POST", "/v1/recommendations", "application/json", body)
			p := decodeBody[problemBody](t, rec)
			if rec.Code != http.StatusBadRequest || !slices.Equal(fields(p), tc.fields) {
				t.Fatalf("status %d, errors[].field %q, want 400 naming %q: %s", rec.Code, fields(p), tc.fields, rec.Body)
			}
			if tc.message != "" && p.Errors[0].Message != tc.message {
				t.Errorf("message %q, want %q", p.Errors[0].Message, tc.message)
			}
			if len(h.rec.got) != 0 {
				t.Error("the recommender was called")
			}
		})
	}
}
