package api

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/tailorhq/tailor/catalog"
	"github.com/tailorhq/tailor/recommend"
)

// The limits and defaults of a recommendation request (the OpenAPI document
// says the same).
const (
	minK, maxK, defaultK = 1, 100, 10
	maxFieldErrors       = 20 // more are summed up in the detail
)

// readRecommendationRequest reads the body (readJSON) and decodes it.
func readRecommendationRequest(r *http.Request) (recommend.Request, error) {
	body, err := readJSON(r)
	if err != nil {
		return recommend.Request{}, err
	}
	return decodeRecommendationRequest(body)
}

// readJSON checks the content type and reads the body, which the body limit
// middleware caps.
func readJSON(r *http.Request) ([]byte, error) {
	if err := requireJSON(r.Header.Get(echo.HeaderContentType)); err != nil {
		return nil, err
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, tooLarge(mbe.Limit)
		}
		e := invalid([]FieldError{{"", "cannot read the request body"}})
		e.Err = err
		return nil, e
	}
	return body, nil
}

// requireJSON accepts application/json with no charset or a UTF-8 one.
func requireJSON(contentType string) error {
	mt, params, err := mime.ParseMediaType(contentType)
	if err == nil && mt == "application/json" {
		if cs, ok := params["charset"]; !ok || strings.EqualFold(cs, "utf-8") {
			return nil
		}
	}
	detail := "send the request as Content-Type: application/json"
	if contentType != "" {
		detail = fmt.Sprintf("Content-Type %q is not supported; %s", contentType, detail)
	}
	return &Error{Kind: KindUnsupportedMedia, Detail: detail}
}

// decodeRecommendationRequest turns a body into a request with the defaults
// applied (k 10, mode auto), or returns an *Error of KindInvalid naming every
// bad field. It is strict: an unknown field (top level, in filters or in
// diversity) is an error, so a typo such as "max_prize" cannot silently drop
// a filter, and so is an unknown category, which would silently empty the
// answer. A JSON null counts as an absent optional field.
func decodeRecommendationRequest(body []byte) (recommend.Request, error) {
	top, err := decodeObject(body)
	if err != nil {
		return recommend.Request{}, err
	}
	req := recommend.Request{K: defaultK, Mode: recommend.ModeAuto}
	var d decoder
	for key, raw := range top {
		switch key {
		case "user_id":
			d.string(key, raw, &req.UserID)
		case "session_id":
			d.string(key, raw, &req.SessionID)
		case "k":
			d.k(key, raw, &req.K)
		case "mode":
			d.mode(key, raw, &req.Mode)
		case "context":
			d.context(key, raw, &req.Context, &req.Session)
		case "filters":
			d.filters(key, raw, &req.Filters)
		case "diversity":
			d.diversity(key, raw, &req.Diversity)
		case "explain":
			d.bool(key, raw, &req.Explain)
		default:
			d.fail(key, "unknown field; allowed: user_id, session_id, k, mode, context, filters, diversity, explain")
		}
	}
	if err := d.err(); err != nil {
		return recommend.Request{}, err
	}
	return req, nil
}

// decodeObject parses a body that must be one JSON object, keeping each
// top-level value raw for the field decoders.
func decodeObject(body []byte) (map[string]json.RawMessage, error) {
	var top map[string]json.RawMessage
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, invalid([]FieldError{{"", "the body is empty; send a JSON object"}})
	}
	if err := json.Unmarshal(body, &top); err != nil || top == nil {
		msg := "must be a JSON object"
		var se *json.SyntaxError
		if errors.As(err, &se) {
			msg = fmt.Sprintf("malformed JSON at byte %d: %v", se.Offset, se)
		}
		return nil, invalid([]FieldError{{"", msg}})
	}
	if key, dup := duplicateKey(body, len(top)); dup {
		return nil, invalid([]FieldError{{key, duplicateMsg}})
	}
	return top, nil
}

// duplicateMsg is the error of a key given twice in one object: JSON
// leaves its meaning open (encoding/json would keep the last), so
// {"k":200,"k":1} is refused rather than guessed at.
const duplicateMsg = "given more than once"

// duplicateKey returns the first key that appears twice at the top level of
// raw, a valid JSON object that decoded into a map of distinct keys. A scan
// that counts the keys answers the common case without allocating; only a
// count above distinct tokenizes raw to name the key.
func duplicateKey(raw []byte, distinct int) (string, bool) {
	if topLevelKeys(raw) == distinct {
		return "", false
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return "", false
	}
	var seen []string // objects here have a handful of keys
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return "", false
		}
		key, _ := t.(string)
		if slices.Contains(seen, key) {
			return key, true
		}
		seen = append(seen, key)
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return "", false
		}
	}
	return "", false
}

// decoder collects field errors. Its methods leave dst alone for null.
type decoder struct{ errs []FieldError }

// err is nil when no field failed, else an *Error of KindInvalid listing
// the failures sorted by field (at most maxFieldErrors of them).
func (d *decoder) err() error {
	if len(d.errs) == 0 {
		return nil
	}
	slices.SortFunc(d.errs, func(a, b FieldError) int {
		return cmp.Or(compareFields(a.Field, b.Field), strings.Compare(a.Message, b.Message))
	})
	e := invalid(d.errs)
	if len(d.errs) > maxFieldErrors {
		e.Fields = d.errs[:maxFieldErrors]
	}
	return e
}

func (d *decoder) fail(field, msg string) { d.errs = append(d.errs, FieldError{field, msg}) }

// object reads an optional JSON object: ok is false for null (absent) and
// for anything but an object, which fails the field with must.
func (d *decoder) object(field string, raw json.RawMessage, must string) (m map[string]json.RawMessage, ok bool) {
	if kindOf(raw) == 'n' {
		return nil, false
	}
	if kindOf(raw) != '{' || json.Unmarshal(raw, &m) != nil {
		d.fail(field, must)
		return nil, false
	}
	if key, dup := duplicateKey(raw, len(m)); dup {
		d.fail(field+"."+key, duplicateMsg)
		return nil, false
	}
	return m, true
}

// array reads an optional JSON array, as object does.
func (d *decoder) array(field string, raw json.RawMessage, must string) (elems []json.RawMessage, ok bool) {
	if kindOf(raw) == 'n' {
		return nil, false
	}
	if kindOf(raw) != '[' || json.Unmarshal(raw, &elems) != nil {
		d.fail(field, must)
		return nil, false
	}
	return elems, true
}

// kindOf is the first byte of a JSON value: '"', '{', '[', 't', 'f', 'n' or
// a number's first character. The body was valid JSON, so raw is too.
func kindOf(raw json.RawMessage) byte {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return 0
	}
	return raw[0]
}

func isNumber(raw json.RawMessage) bool {
	c := kindOf(raw)
	return c == '-' || '0' <= c && c <= '9'
}

func (d *decoder) string(field string, raw json.RawMessage, dst *string) {
	switch kindOf(raw) {
	case 'n':
	case '"':
		json.Unmarshal(raw, dst) // valid JSON string: cannot fail
	default:
		d.fail(field, "must be a string")
	}
}

// bool reports whether it set dst (false for null or a bad value).
func (d *decoder) bool(field string, raw json.RawMessage, dst *bool) bool {
	switch kindOf(raw) {
	case 'n':
	case 't', 'f':
		*dst = kindOf(raw) == 't'
		return true
	default:
		d.fail(field, "must be a boolean")
	}
	return false
}

func (d *decoder) k(field string, raw json.RawMessage, dst *int) {
	d.intIn(field, raw, minK, maxK, dst)
}

// intIn reads an integer from lo to hi; an integral float such as 1.0e1 is
// an integer.
func (d *decoder) intIn(field string, raw json.RawMessage, lo, hi int, dst *int) {
	if kindOf(raw) == 'n' {
		return
	}
	if !isNumber(raw) {
		d.fail(field, "must be an integer")
		return
	}
	f, err := strconv.ParseFloat(string(bytes.TrimSpace(raw)), 64)
	switch {
	case err == nil && f != math.Trunc(f):
		d.fail(field, "must be an integer")
	case err != nil || f < float64(lo) || f > float64(hi):
		d.fail(field, fmt.Sprintf("must be between %d and %d", lo, hi))
	default:
		*dst = int(f)
	}
}

func (d *decoder) mode(field string, raw json.RawMessage, dst *recommend.Mode) {
	var s string
	if kindOf(raw) == 'n' {
		return
	}
	if kindOf(raw) == '"' {
		json.Unmarshal(raw, &s)
		switch m := recommend.Mode(s); m {
		case recommend.ModeAuto, recommend.ModeBuyAgain, recommend.ModeDiscover:
			*dst = m
			return
		}
	}
	d.fail(field, "must be one of auto, buy_again, discover")
}

// context reads the turn's context: session_items (see sessionItems) into
// session, beside free keys with string values into dst.
func (d *decoder) context(field string, raw json.RawMessage, dst *map[string]string, session *[]recommend.SessionItem) {
	m, ok := d.object(field, raw, "must be an object: session_items and keys with string values")
	if !ok {
		return
	}
	out := make(map[string]string, len(m))
	for key, v := range m {
		if key == "session_items" {
			d.sessionItems(field+"."+key, v, session)
			continue
		}
		if kindOf(v) != '"' {
			d.fail(field+"."+key, "must be a string")
			continue
		}
		var s string
		json.Unmarshal(v, &s)
		out[key] = s
	}
	*dst = out
}

// sessionItems reads context.session_items: an array of at most
// recommend.MaxSessionItems objects, each with exactly a string item_id
// and an event (view, cart or purchase). An id not in the catalog is not an
// error here: the flow ignores it.
func (d *decoder) sessionItems(field string, raw json.RawMessage, dst *[]recommend.SessionItem) {
	elems, ok := d.array(field, raw, "must be an array of objects with item_id and event")
	if !ok {
		return
	}
	if len(elems) > recommend.MaxSessionItems {
		d.fail(field, fmt.Sprintf("must have at most %d items; send the latest", recommend.MaxSessionItems))
		return
	}
	out := make([]recommend.SessionItem, len(elems))
	for i, v := range elems {
		name := fmt.Sprintf("%s[%d]", field, i)
		var m map[string]json.RawMessage
		if kindOf(v) != '{' || json.Unmarshal(v, &m) != nil {
			d.fail(name, "must be an object with item_id and event")
			continue
		}
		if key, dup := duplicateKey(v, len(m)); dup {
			d.fail(name+"."+key, duplicateMsg)
			continue
		}
		for key, f := range m {
			switch key {
			case "item_id":
				if kindOf(f) != '"' {
					d.fail(name+"."+key, "must be a string")
					continue
				}
				json.Unmarshal(f, &out[i].ItemID)
				if out[i].ItemID == "" {
					d.fail(name+"."+key, emptyIDMsg)
				}
			case "event":
				d.event(name+"."+key, f, &out[i].Event)
			default:
				d.fail(name+"."+key, "unknown field; allowed: item_id, event")
			}
		}
		for _, key := range []string{"item_id", "event"} {
			if _, ok := m[key]; !ok {
				d.fail(name+"."+key, "is required")
			}
		}
	}
	*dst = out
}

func (d *decoder) event(field string, raw json.RawMessage, dst *recommend.Event) {
	var s string
	if kindOf(raw) == '"' {
		json.Unmarshal(raw, &s)
		if e := recommend.Event(s); slices.Contains(recommend.Events(), e) {
			*dst = e
			return
		}
	}
	d.fail(field, "must be one of view, cart, purchase")
}

func (d *decoder) filters(field string, raw json.RawMessage, dst *recommend.Filters) {
	m, ok := d.object(field, raw, "must be an object")
	if !ok {
		return
	}
	for key, v := range m {
		name := field + "." + key
		switch key {
		case "exclude":
			d.itemIDs(name, v, &dst.Exclude)
		case "categories":
			d.categories(name, v, &dst.Categories)
		case "min_price":
			d.price(name, v, &dst.MinPrice)
		case "max_price":
			d.price(name, v, &dst.MaxPrice)
		case "in_stock_only":
			var b bool
			if d.bool(name, v, &b) {
				dst.InStockOnly = &b
			}
		default:
			d.fail(name, "unknown field; allowed: exclude, min_price, max_price, categories, in_stock_only")
		}
	}
	// A rule across fields, which the OpenAPI schema cannot say: an empty
	// range is a mistake, not a request for nothing.
	if lo, hi := dst.MinPrice, dst.MaxPrice; lo != nil && hi != nil && *lo > *hi {
		d.fail(field+".min_price", fmt.Sprintf("must not be above %s.max_price (%g)", field, *hi))
	}
}

// categories reads a list of category names; each must be one the catalog
// knows, so that a typo cannot silently empty the answer.
func (d *decoder) categories(field string, raw json.RawMessage, dst *[]string) {
	elems, ok := d.array(field, raw, "must be an array of strings")
	if !ok {
		return
	}
	known := catalog.Categories()
	out := make([]string, len(elems))
	for i, v := range elems {
		name := fmt.Sprintf("%s[%d]", field, i)
		if kindOf(v) != '"' {
			d.fail(name, "must be a string")
			continue
		}
		json.Unmarshal(v, &out[i])
		if !slices.Contains(known, out[i]) {
			d.fail(name, fmt.Sprintf("unknown category %q; allowed: %s", out[i], strings.Join(known, ", ")))
		}
	}
	*dst = out
}

func (d *decoder) diversity(field string, raw json.RawMessage, dst *recommend.Diversity) {
	m, ok := d.object(field, raw, "must be an object")
	if !ok {
		return
	}
	for key, v := range m {
		name := field + "." + key
		switch key {
		case "max_per_category":
			d.intIn(name, v, minK, maxK, &dst.MaxPerCategory)
		default:
			d.fail(name, "unknown field; allowed: max_per_category")
		}
	}
}

// emptyIDMsg refuses an empty item id, which can name no item.
const emptyIDMsg = "must not be empty: an item id"

// itemIDs reads a list of item ids (filters.exclude).
func (d *decoder) itemIDs(field string, raw json.RawMessage, dst *[]string) {
	elems, ok := d.array(field, raw, "must be an array of strings")
	if !ok {
		return
	}
	out := make([]string, len(elems))
	for i, v := range elems {
		name := fmt.Sprintf("%s[%d]", field, i)
		if kindOf(v) != '"' {
			d.fail(name, "must be a string")
			continue
		}
		json.Unmarshal(v, &out[i])
		if out[i] == "" {
			d.fail(name, emptyIDMsg)
		}
	}
	*dst = out
}

func (d *decoder) price(field string, raw json.RawMessage, dst **float64) {
	if kindOf(raw) == 'n' {
		return
	}
	if !isNumber(raw) {
		d.fail(field, "must be a number")
		return
	}
	f, err := strconv.ParseFloat(string(bytes.TrimSpace(raw)), 64)
	switch {
	case err != nil:
		d.fail(field, "must be a number in the range of a float64")
	case f < 0:
		d.fail(field, "must be at least 0")
	default:
		*dst = &f
	}
}

// topLevelKeys counts the keys at the top level of raw, a valid JSON
// object: the strings that open its members.
func topLevelKeys(raw []byte) int {
	n, depth := 0, 0
	inString, escaped, wantKey := false, false, false
	for _, c := range raw {
		if inString {
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
			if depth == 1 && wantKey {
				n++
				wantKey = false
			}
		case '{', '[':
			depth++
			wantKey = depth == 1
		case '}', ']':
			depth--
		case ',':
			wantKey = depth == 1
		}
	}
	return n
}
