package features

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
)

// maxLine bounds one JSON line (the largest customer profile on the shipped
// data is 120 KB).
const maxLine = 16 << 20

// ctxEvery is how many lines a reader handles between two context checks.
const ctxEvery = 256

// readLines calls fn with every line of r (without the newline) and its
// 1-based number. An empty line is an error. Errors name the file and the
// line: "name: line 17: ...".
func readLines(ctx context.Context, r io.Reader, name string, fn func(line int, b []byte) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	line := 0
	for sc.Scan() {
		line++
		if line%ctxEvery == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		b := sc.Bytes()
		if len(bytes.TrimSpace(b)) == 0 {
			return fmt.Errorf("%s: line %d: empty line", name, line)
		}
		if err := fn(line, b); err != nil {
			return fmt.Errorf("%s: line %d: %w", name, line, err)
		}
	}
	if err := sc.Err(); err != nil {
		// A truncated or corrupt gzip stream surfaces here, while the
		// scanner reads the line after the last complete one.
		return fmt.Errorf("%s: line %d: %w", name, line+1, err)
	}
	return ctx.Err()
}

// decodeLine decodes one JSON value from b into v. strict refuses fields v
// does not have, so a renamed field is an error rather than a silent zero.
func decodeLine(b []byte, v any, strict bool) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	if strict {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("more than one JSON value")
	}
	return nil
}

// readCustomers reads customers.jsonl.gz from r: gzip, one CustomerProfile
// per line, each checked by validateProfile. fn receives a fresh profile.
func readCustomers(ctx context.Context, r io.Reader, name string, fn func(line int, p *CustomerProfile) error) error {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	defer zr.Close()
	return readLines(ctx, zr, name, func(line int, b []byte) error {
		p := new(CustomerProfile)
		if err := decodeLine(b, p, true); err != nil {
			return err
		}
		if err := validateProfile(p); err != nil {
			return fmt.Errorf("customer %q: %w", p.ID, err)
		}
		return fn(line, p)
	})
}

// validateProfile checks what serving relies on: an id, counts >= 0, finite
// numbers and items in strictly ascending id order (History binary-searches).
func validateProfile(p *CustomerProfile) error {
	finite := func(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
	switch {
	case p.ID == "":
		return errors.New("empty id")
	case p.Invoices < 0:
		return errors.New("negative invoices")
	case !finite(p.Spend):
		return fmt.Errorf("spend %v", p.Spend)
	}
	for c, share := range p.Categories {
		if !finite(share) {
			return fmt.Errorf("category %q: share %v", c, share)
		}
	}
	for i, h := range p.Items {
		switch {
		case h.Item == "":
			return fmt.Errorf("items[%d]: empty item id", i)
		case h.Invoices < 0 || h.Quantity < 0:
			return fmt.Errorf("item %q: negative count", h.Item)
		case i > 0 && strings.Compare(p.Items[i-1].Item, h.Item) >= 0:
			return fmt.Errorf("item %q: items not in strictly ascending id order (after %q)", h.Item, p.Items[i-1].Item)
		}
	}
	return nil
}
