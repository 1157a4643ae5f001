package api

import (
	"encoding/json"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/tailorhq/tailor/recommend"
)

// answer writes the answer to req: the cached body when the answer cache
// holds one, else the recommender's answer, encoded and then cached. Both
// go out with this request's own request_id as their first member.
func (s *server) answer(c echo.Context, req recommend.Request) error {
	ctx := c.Request().Context()
	var key string
	if a := s.deps.Answers; a != nil {
		body, k, hit := a.Lookup(ctx, req)
		if hit {
			return writeAnswer(c, RequestID(ctx), body)
		}
		key = k
	}
	resp, err := s.deps.Recommender.Recommend(ctx, req)
	if err != nil {
		return err
	}
	body, err := json.Marshal(present(resp))
	if err != nil {
		return &Error{Kind: KindInternal, Detail: "cannot encode the response; report the request_id", Err: err}
	}
	if key != "" {
		s.deps.Answers.Store(key, resp, body)
	}
	return writeAnswer(c, RequestID(ctx), body)
}

// present copies resp with every list non-null (items, models, reasons), as
// the document promises, without touching the recommender's slices.
func present(resp recommend.Response) recommend.Response {
	resp.Items = withReasons(resp.Items, func(it *recommend.Item) *[]string { return &it.Reasons })
	if resp.Models == nil {
		resp.Models = []string{}
	}
	return resp
}

// withReasons copies items (never nil), giving every item whose reasons
// list is null an empty one, as the document promises.
func withReasons[T any](items []T, reasons func(*T) *[]string) []T {
	out := make([]T, len(items))
	copy(out, items)
	for i := range out {
		if r := reasons(&out[i]); *r == nil {
			*r = []string{}
		}
	}
	return out
}

// writeAnswer writes body, an encoded recommend.Response (a JSON object
// with items first), with requestID put before its first member. Request ids
// are tokens of letters, digits and "-_.:" (validRequestID), which JSON
// strings hold as they are.
func writeAnswer(c echo.Context, requestID string, body []byte) error {
	out := make([]byte, 0, len(body)+len(requestID)+len(`{"request_id":"",`)+1)
	out = append(out, `{"request_id":"`...)
	out = append(out, requestID...)
	out = append(out, `",`...)
	out = append(out, body[1:]...)
	out = append(out, '\n')
	return blob(c, http.StatusOK, echo.MIMEApplicationJSON, out)
}
