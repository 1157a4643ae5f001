package api

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/tailorhq/tailor/recommend"
)

func TestDecodeNullsAndDefaults(t *testing.T) {
	req, err := decodeRecommendationRequest([]byte(`{"user_id":null,"session_id":null,"k":null,"mode":null,
		"context":null,"filters":{"exclude":null,"max_price":null,"categories":null},"explain":null}`))
	if err != nil {
		t.Fatal(err)
	}
	if req.K != defaultK || req.Mode != recommend.ModeAuto || req.UserID != "" || req.Context != nil || req.Filters.MaxPrice != nil {
		t.Errorf("nulls did not leave the defaults: %+v", req)
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
		serr := doc.Validate("#/components/schemas/RecommendationRequest", v)
		if (err == nil) != (serr == nil) {
			t.Fatalf("decoder and schema disagree on %q: decoder %v, schema %v", body, err, serr)
		}
	})
}
