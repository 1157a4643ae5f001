package api

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/tailorhq/tailor/catalog"
	"github.com/tailorhq/tailor/recommend"
)

// rankResponse is recommend.RankResponse plus the request id.
type rankResponse struct {
	RequestID string `json:"request_id"`
	recommend.RankResponse
}

// rank serves POST /v1/rank.
func (s *server) rank(c echo.Context) error {
	body, err := readJSON(c.Request())
	if err != nil {
		return err
	}
	req, err := decodeRankRequest(body)
	if err != nil {
		return err
	}
	if s.deps.Ranker == nil {
		return &Error{Kind: KindUnavailable, Detail: "no ranker is configured"}
	}
	ctx := c.Request().Context()
	resp, err := s.deps.Ranker.Rank(ctx, req)
	if err != nil {
		return err
	}
	return writeJSON(c, http.StatusOK, presentRank(RequestID(ctx), resp))
}

// presentRank copies resp with every list non-null (items, models,
// reasons), as the document promises.
func presentRank(requestID string, resp recommend.RankResponse) rankResponse {
	resp.Items = withReasons(resp.Items, func(it *recommend.RankedItem) *[]string { return &it.Reasons })
	if resp.Models == nil {
		resp.Models = []string{}
	}
	return rankResponse{RequestID: requestID, RankResponse: resp}
}

// decodeRankRequest turns a body into a rank request, or returns an *Error
// of KindInvalid naming every bad field. Like the recommendation decoder it
// is strict (unknown fields are errors) and takes a JSON null for an absent
// optional field. items is required: 1 to recommend.MaxRankItems strings,
// none repeated (a repeat names both places, items[4] and items[1]).
func decodeRankRequest(body []byte) (recommend.RankRequest, error) {
	top, err := decodeObject(body)
	if err != nil {
		return recommend.RankRequest{}, err
	}
	var req recommend.RankRequest
	var d decoder
	for key, raw := range top {
		switch key {
		case "user_id":
			d.string(key, raw, &req.UserID)
		case "session_id":
			d.string(key, raw, &req.SessionID)
		case "items":
			d.rankItems(key, raw, &req.Items)
		case "context":
			d.context(key, raw, &req.Context, &req.Session)
		case "explain":
			d.bool(key, raw, &req.Explain)
		default:
			d.fail(key, "unknown field; allowed: user_id, session_id, items, context, explain")
		}
	}
	if _, ok := top["items"]; !ok {
		d.fail("items", fmt.Sprintf("is required: 1 to %d item ids to rank", recommend.MaxRankItems))
	}
	if err := d.err(); err != nil {
		return recommend.RankRequest{}, err
	}
	return req, nil
}

// rankItems reads items: an array of 1 to recommend.MaxRankItems strings,
// each given once. Ids are looked up regardless of ASCII letter case (a
// lower-case id is tried upper-cased), so "85123a" repeats "85123A": the
// ranker would rank that item once and drop the other entry. Ids not in
// the catalog are not errors: they come back last, marked unknown.
func (d *decoder) rankItems(field string, raw json.RawMessage, dst *[]string) {
	var elems []json.RawMessage
	must := fmt.Sprintf("must be an array of 1 to %d item ids", recommend.MaxRankItems)
	if kindOf(raw) != '[' || json.Unmarshal(raw, &elems) != nil {
		d.fail(field, must)
		return
	}
	if len(elems) == 0 || len(elems) > recommend.MaxRankItems {
		d.fail(field, fmt.Sprintf("%s; got %d", must, len(elems)))
		return
	}
	out := make([]string, len(elems))
	first := make(map[string]int, len(elems))
	for i, v := range elems {
		name := fmt.Sprintf("%s[%d]", field, i)
		if kindOf(v) != '"' {
			d.fail(name, "must be a string")
			continue
		}
		json.Unmarshal(v, &out[i])
		if out[i] == "" {
			d.fail(name, emptyIDMsg)
			continue
		}
		key := catalog.CanonicalID(out[i])
		if j, ok := first[key]; ok {
			msg := fmt.Sprintf("repeats %s[%d]; give each id once", field, j)
			if out[j] != out[i] {
				msg = fmt.Sprintf("repeats %s[%d] (%q): ids are matched regardless of letter case; give each id once", field, j, out[j])
			}
			d.fail(name, msg)
			continue
		}
		first[key] = i
	}
	*dst = out
}
