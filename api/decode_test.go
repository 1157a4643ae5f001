package api

import (
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/tailorhq/tailor/catalog"
	"github.com/tailorhq/tailor/recommend"
)

func TestDecodeNullsAndDefaults(t *testing.T) {
	req, err := decodeRecommendationRequest([]byte(`{"user_id":null,"session_id":null,"k":null,"mode":null,
		"context":null,"filters":{"exclude":null,"min_price":null,"max_price":null,"categories":null,"in_stock_only":null},
		"diversity":{"max_per_category":null},"explain":null}`))
	if err != nil {
		t.Fatal(err)
	}
	if req.K != defaultK || req.Mode != recommend.ModeAuto || req.UserID != "" || req.Context != nil || req.Filters.MaxPrice != nil ||
		req.Filters.MinPrice != nil || req.Filters.InStockOnly != nil || req.Diversity.MaxPerCategory != 0 {
		t.Errorf("nulls did not leave the defaults: %+v", req)
	}
	if req, err := decodeRecommendationRequest([]byte(`{"filters":null,"diversity":null}`)); err != nil || req.Filters.InStockOnly != nil || req.Diversity.MaxPerCategory != 0 {
		t.Errorf("null filters and diversity: %+v, %v", req, err)
	}
	req, err = decodeRecommendationRequest([]byte(`{"k":100,"mode":"buy_again","filters":{"max_price":0},"context":{}}`))
	if err != nil || req.K != 100 || req.Mode != recommend.ModeBuyAgain || req.Filters.MaxPrice == nil || *req.Filters.MaxPrice != 0 {
		t.Errorf("boundaries: %+v, %v", req, err)
	}
	req, err = decodeRecommendationRequest([]byte(`{"k":1.0e1,"user_id":"caf\u00e9"}`))
	if err != nil || req.K != 10 || req.UserID != "café" {
		t.Errorf("integral float and escapes: %+v, %v", req, err)
	}
}

func TestDecodeFiltersAndDiversity(t *testing.T) {
	req, err := decodeRecommendationRequest([]byte(`{"k":5,"filters":{"min_price":1.5,"max_price":1.5,
		"categories":["kitchen & dining","other"],"exclude":["22423"],"in_stock_only":false},"diversity":{"max_per_category":2}}`))
	if err != nil {
		t.Fatal(err)
	}
	f := req.Filters
	if f.MinPrice == nil || *f.MinPrice != 1.5 || f.MaxPrice == nil || *f.MaxPrice != 1.5 || !slices.Equal(f.Categories, []string{"kitchen & dining", "other"}) ||
		!slices.Equal(f.Exclude, []string{"22423"}) || f.InStockOnly == nil || *f.InStockOnly || req.Diversity.MaxPerCategory != 2 {
		t.Errorf("decoded %+v, diversity %+v", f, req.Diversity)
	}
	req, err = decodeRecommendationRequest([]byte(`{"filters":{"in_stock_only":true},"diversity":{"max_per_category":100}}`))
	if err != nil || req.Filters.InStockOnly == nil || !*req.Filters.InStockOnly || req.Diversity.MaxPerCategory != 100 {
		t.Errorf("in_stock_only true, cap 100: %+v, %v", req, err)
	}
	// A cap above k is allowed: it changes nothing.
	if req, err := decodeRecommendationRequest([]byte(`{"k":3,"diversity":{"max_per_category":10}}`)); err != nil || req.Diversity.MaxPerCategory != 10 {
		t.Errorf("cap above k: %+v, %v", req, err)
	}
}

// TestCategoriesDocumented: the document lists exactly the categories the
// decoder accepts, which are the catalog's.
func TestCategoriesDocumented(t *testing.T) {
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Properties map[string]struct {
					Properties map[string]struct {
						Items struct {
							Enum []string `json:"enum"`
						} `json:"items"`
					} `json:"properties"`
				} `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(openAPIDocument, &doc); err != nil {
		t.Fatal(err)
	}
	got := doc.Components.Schemas["RecommendationRequest"].Properties["filters"].Properties["categories"].Items.Enum
	if want := catalog.Categories(); !slices.Equal(got, want) {
		t.Errorf("filters.categories enum %q, want the catalog's %q", got, want)
	}
}

func TestDecodeCapsFieldErrors(t *testing.T) {
	body := []byte(`{"a":1,"b":1,"c":1,"d":1,"e":1,"f":1,"g":1,"h":1,"i":1,"j":1,"l":1,"m":1,"n":1,"o":1,"p":1,"q":1,"r":1,"s":1,"t":1,"u":1,"v":1,"w":1}`)
	_, err := decodeRecommendationRequest(body)
	var e *Error
	if !errors.As(err, &e) || len(e.Fields) != maxFieldErrors || e.Fields[0].Field != "a" {
		t.Fatalf("got %v", err)
	}
}

// FuzzDecodeRecommendationRequest holds the decoder to its promise: it never
// panics; it returns either a valid request (k in 1..100, a known mode) or
// an invalid-kind *Error naming at least one field; and for any well-formed
// JSON it agrees with the OpenAPI request schema (accepts exactly what the
// schema accepts).
func FuzzDecodeRecommendationRequest(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"user_id":"17850","k":5,"mode":"discover"}`, `{"k":"10"}`, `{"k":0}`, `{"k":1e400}`,
		`{"k":2.5}`, `{"k":-0}`, `{"mode":null}`, `{"context":{"device":"mobile","n":1}}`,
		`{"filters":{"exclude":["1",2],"max_price":-1,"categories":null,"x":0}}`, `{"K":1}`,
		`{"explain":true,"session_id":"s"}`, `[]`, `null`, `"x"`, `{"k":` + "\x00", `{} {}`, ``,
		`{"user_id":"\ud800"}`, `{"k":5,"k":"x"}`, `{"filters":{"max_price":1e308}}`,
		`{"filters":{"min_price":2,"max_price":1}}`, `{"filters":{"min_price":1,"max_price":1,"in_stock_only":false}}`,
		`{"filters":{"categories":["bags","Bags"]}}`, `{"filters":{"categories":["garden"],"in_stock_only":"yes"}}`,
		`{"diversity":{"max_per_category":0}}`, `{"diversity":{"max_per_category":3,"x":1}}`, `{"diversity":[]}`,
		`{"context":{"":[],"":"0"}}`,
	} {
		f.Add([]byte(s))
	}
	addSeeds(f, contextSeeds)
	doc := loadOpenAPI(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := decodeRecommendationRequest(body)
		if err == nil {
			if req.K < minK || req.K > maxK {
				t.Fatalf("accepted k=%d", req.K)
			}
			switch req.Mode {
			case recommend.ModeAuto, recommend.ModeBuyAgain, recommend.ModeDiscover:
			default:
				t.Fatalf("accepted mode %q", req.Mode)
			}
			if req.Filters.MaxPrice != nil && !(*req.Filters.MaxPrice >= 0) {
				t.Fatalf("accepted max_price %v", *req.Filters.MaxPrice)
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
			return // valid JSON that the test's parser refuses (depth); nothing to compare
		}
		if checkDuplicateKeys(t, body, err) {
			return
		}
		serr := doc.Validate("#/components/schemas/RecommendationRequest", v)
		if err != nil && serr == nil && onlyCrossField(err) {
			return // min_price above max_price: a rule the schema cannot state
		}
		if (err == nil) != (serr == nil) {
			t.Fatalf("decoder and schema disagree on %q: decoder %v, schema %v", body, err, serr)
		}
	})
}

// onlyCrossField reports whether err names nothing but min_price above
// max_price, the one rule the decoder enforces that the OpenAPI schema
// cannot express (it says so in words).
func onlyCrossField(err error) bool {
	var e *Error
	if !errors.As(err, &e) {
		return false
	}
	for _, f := range e.Fields {
		if f.Field != "filters.min_price" || !strings.HasPrefix(f.Message, "must not be above filters.max_price") {
			return false
		}
	}
	return true
}

// TestFieldErrorsInIndexOrder: errors[] lists array elements by index, not
// by the text of the path, so that a request with more bad elements than
// maxFieldErrors reports the first ones (items[0] to items[19], not
// items[0], items[10], ..., items[19], items[1], items[20], ...) and the
// detail quotes items[0], items[1], items[2].
func TestFieldErrorsInIndexOrder(t *testing.T) {
	nums := func(n int) string {
		out := make([]string, n)
		for i := range out {
			out[i] = strconv.Itoa(i)
		}
		return "[" + strings.Join(out, ",") + "]"
	}
	want := func(prefix string, n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = prefix + "[" + strconv.Itoa(i) + "]"
		}
		return out
	}
	_, rankErr := decodeRankRequest([]byte(`{"items":` + nums(25) + `}`))
	_, recErr := decodeRecommendationRequest([]byte(`{"filters":{"exclude":` + nums(12) + `,"max_price":"x"}}`))
	_, sessErr := decodeRecommendationRequest([]byte(`{"context":{"session_items":[` +
		strings.TrimSuffix(strings.Repeat(`{"item_id":"1","event":"x"},`, 11), ",") + `]}}`))
	cases := []struct {
		name   string
		err    error
		fields []string
		detail string
	}{
		{"rank items", rankErr, want("items", maxFieldErrors),
			"invalid request: items[0]: must be a string; items[1]: must be a string; items[2]: must be a string; and 22 more"},
		{"exclude then max_price", recErr, append(want("filters.exclude", 12), "filters.max_price"), ""},
		{"session items", sessErr, func() []string {
			var out []string
			for _, f := range want("context.session_items", 11) {
				out = append(out, f+".event")
			}
			return out
		}(), ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var e *Error
			if !errors.As(tc.err, &e) {
				t.Fatalf("error %v", tc.err)
			}
			var got []string
			for _, f := range e.Fields {
				got = append(got, f.Field)
			}
			if !slices.Equal(got, tc.fields) {
				t.Errorf("fields %q,\nwant %q", got, tc.fields)
			}
			if tc.detail != "" && e.Detail != tc.detail {
				t.Errorf("detail %q,\nwant %q", e.Detail, tc.detail)
			}
		})
	}
}
