package api

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// decodeSimilarQuery reads the query of GET /v1/items/{id}/similar: k, an
// integer from 1 to 100 given at most once (default 10). Any other
// parameter is an error naming it, as an unknown body field is.
func decodeSimilarQuery(rawQuery string) (int, error) {
	k := defaultK
	var d decoder
	for name, values := range queryValues(rawQuery) {
		if name != "k" {
			d.fail(name, "unknown query parameter; allowed: k")
			continue
		}
		if len(values) != 1 {
			d.fail(name, "must be given once")
			continue
		}
		n, err := strconv.Atoi(values[0])
		switch {
		case err != nil && !errors.Is(err, strconv.ErrRange):
			d.fail(name, "must be an integer")
		case err != nil || n < minK || n > maxK:
			d.fail(name, fmt.Sprintf("must be between %d and %d", minK, maxK))
		default:
			k = n
		}
	}
	if err := d.err(); err != nil {
		return 0, err
	}
	return k, nil
}

// queryValues splits a raw query into its parameters as url.ParseQuery
// does, but drops none: where net/url would drop a pair it cannot read (a
// bad percent-encoding, a ';'), the pair is kept with its unreadable part
// as sent, so that "k=%" or "k=3;x=1" is a bad k rather than no k at all.
func queryValues(rawQuery string) url.Values {
	q := url.Values{}
	for pair := range strings.SplitSeq(rawQuery, "&") {
		if pair == "" {
			continue
		}
		name, value, _ := strings.Cut(pair, "=")
		if s, err := url.QueryUnescape(name); err == nil {
			name = s
		}
		if s, err := url.QueryUnescape(value); err == nil {
			value = s
		}
		q[name] = append(q[name], value)
	}
	return q
}
