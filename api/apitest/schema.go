package apitest

// The JSON Schema subset: checking the schemas of the document when it is
// parsed, and validating values against them.

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"unicode/utf8"
)

// findSchemas walks a part of the document that is not itself a schema and
// checks every schema it names (the value of a "schema" key). Examples are
// data, not document, and are skipped.
func (d *Document) findSchemas(v any, at string, errs *[]string) {
	switch v := v.(type) {
	case map[string]any:
		for k, sub := range v {
			switch k {
			case "schema":
				d.checkSchema(sub, at+"/schema", errs)
			case "example", "examples":
			default:
				d.findSchemas(sub, at+"/"+escape(k), errs)
			}
		}
	case []any:
		for i, sub := range v {
			d.findSchemas(sub, fmt.Sprintf("%s/%d", at, i), errs)
		}
	}
}

// checkSchema fails on a keyword outside the subset, a malformed keyword
// value (which validate would otherwise trip on) and a dangling $ref.
func (d *Document) checkSchema(s any, at string, errs *[]string) {
	fail := func(format string, args ...any) { *errs = append(*errs, at+": "+fmt.Sprintf(format, args...)) }
	m, ok := s.(map[string]any)
	if !ok {
		fail("a schema must be an object, not %s", describe(s))
		return
	}
	for k, v := range m {
		switch k {
		case "$ref":
			ref, ok := v.(string)
			if !ok {
				fail("$ref is not a string")
			} else if _, err := d.pointer(ref); err != nil {
				fail("%v", err)
			}
		case "type":
			types, ok := v.([]any)
			if !ok {
				types = []any{v}
			}
			for _, t := range types {
				if name, ok := t.(string); !ok || !slices.Contains(typeNames, name) {
					fail("type %s is not one of %v", describe(t), typeNames)
				}
			}
		case "enum":
			if _, ok := v.([]any); !ok {
				fail("enum is not an array")
			}
		case "minimum", "maximum":
			if _, ok := number(v); !ok {
				fail("%s is not a number", k)
			}
		case "minItems", "maxItems", "minLength", "maxLength":
			if n, ok := number(v); !ok || n < 0 || n != math.Trunc(n) {
				fail("%s is not a non-negative integer", k)
			}
		case "uniqueItems":
			if _, ok := v.(bool); !ok {
				fail("uniqueItems is not a boolean")
			}
		case "required":
			names, ok := v.([]any)
			if !ok || slices.ContainsFunc(names, func(n any) bool { _, ok := n.(string); return !ok }) {
				fail("required is not an array of strings")
			}
		case "properties":
			props, ok := v.(map[string]any)
			if !ok {
				fail("properties is not an object")
				continue
			}
			for name, sub := range props {
				d.checkSchema(sub, at+"/properties/"+escape(name), errs)
			}
		case "additionalProperties":
			if _, ok := v.(bool); !ok {
				d.checkSchema(v, at+"/additionalProperties", errs)
			}
		case "items":
			d.checkSchema(v, at+"/items", errs)
		default:
			if !slices.Contains(annotations, k) {
				fail("schema keyword %q is not supported by the validator", k)
			}
		}
	}
}

// validate returns one message per violation, each naming the JSON path,
// sorted. The schema must have passed checkSchema.
func (d *Document) validate(schema map[string]any, v any, path string) []string {
	var errs []string
	fail := func(format string, args ...any) { errs = append(errs, path+": "+fmt.Sprintf(format, args...)) }
	for key, rule := range schema {
		switch key {
		case "$ref":
			target, err := d.pointer(rule.(string))
			if err != nil {
				fail("%v", err)
				continue
			}
			errs = append(errs, d.validate(target, v, path)...)
		case "type":
			types, ok := rule.([]any)
			if !ok {
				types = []any{rule}
			}
			if !slices.ContainsFunc(types, func(t any) bool { return hasType(v, t.(string)) }) {
				fail("%s is not of type %v", describe(v), rule)
			}
		case "enum":
			if !slices.ContainsFunc(rule.([]any), func(e any) bool { return fmt.Sprint(e) == fmt.Sprint(v) && hasType(e, kindName(v)) }) {
				fail("%s is not one of %v", describe(v), rule)
			}
		case "minimum", "maximum":
			x, ok := number(v)
			if !ok {
				continue
			}
			limit, _ := number(rule)
			if key == "minimum" && x < limit || key == "maximum" && x > limit {
				fail("%v violates %s %v", x, key, limit)
			}
		case "required":
			if m, ok := v.(map[string]any); ok {
				for _, name := range rule.([]any) {
					if _, ok := m[name.(string)]; !ok {
						fail("missing required %q", name)
					}
				}
			}
		case "properties":
			if m, ok := v.(map[string]any); ok {
				for name, sub := range rule.(map[string]any) {
					if x, ok := m[name]; ok {
						errs = append(errs, d.validate(sub.(map[string]any), x, path+"."+name)...)
					}
				}
			}
		case "additionalProperties":
			m, ok := v.(map[string]any)
			if !ok {
				continue
			}
			props, _ := schema["properties"].(map[string]any)
			for name, x := range m {
				if _, known := props[name]; known {
					continue
				}
				switch sub := rule.(type) {
				case bool:
					if !sub {
						fail("property %q is not allowed", name)
					}
				case map[string]any:
					errs = append(errs, d.validate(sub, x, path+"."+name)...)
				}
			}
		case "items":
			if a, ok := v.([]any); ok {
				for i, x := range a {
					errs = append(errs, d.validate(rule.(map[string]any), x, fmt.Sprintf("%s[%d]", path, i))...)
				}
			}
		case "minItems", "maxItems":
			a, ok := v.([]any)
			if !ok {
				continue
			}
			limit, _ := number(rule)
			if key == "minItems" && float64(len(a)) < limit || key == "maxItems" && float64(len(a)) > limit {
				fail("%d items violate %s %v", len(a), key, limit)
			}
		case "minLength", "maxLength":
			str, ok := v.(string)
			if !ok {
				continue
			}
			// JSON Schema counts characters (code points), not bytes.
			n := utf8.RuneCountInString(str)
			limit, _ := number(rule)
			if key == "minLength" && float64(n) < limit || key == "maxLength" && float64(n) > limit {
				fail("a string of %d characters violates %s %v", n, key, limit)
			}
		case "uniqueItems":
			a, ok := v.([]any)
			if !ok || rule != true {
				continue
			}
			for i := range a {
				for j := range i {
					if equal(a[i], a[j]) {
						fail("items %d and %d are equal (%s), uniqueItems", j, i, describe(a[i]))
					}
				}
			}
		default:
			if !slices.Contains(annotations, key) {
				fail("schema keyword %q is not supported by the validator", key)
			}
		}
	}
	sort.Strings(errs)
	return errs
}

// equal is JSON Schema's equality: numbers by value (1 equals 1.0), arrays
// element by element, objects key by key, the rest as Go values.
func equal(a, b any) bool {
	switch a := a.(type) {
	case json.Number:
		x, okA := number(a)
		y, okB := number(b)
		return okA && okB && x == y
	case []any:
		b, ok := b.([]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for i := range a {
			if !equal(a[i], b[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		b, ok := b.(map[string]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for k, x := range a {
			y, ok := b[k]
			if !ok || !equal(x, y) {
				return false
			}
		}
		return true
	default:
		return a == b
	}
}

// number is a JSON number as a float64; one that does not fit is not a
// number.
func number(v any) (float64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	f, err := strconv.ParseFloat(string(n), 64)
	return f, err == nil
}

func hasType(v any, typ string) bool {
	switch typ {
	case "integer":
		f, ok := number(v)
		return ok && f == math.Trunc(f)
	case "number":
		_, ok := number(v)
		return ok
	default:
		return kindName(v) == typ
	}
}

func kindName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case json.Number:
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

func describe(v any) string {
	b, _ := json.Marshal(v)
	if len(b) > 60 {
		b = append(b[:60], "..."...)
	}
	return string(b)
}

func clip(b []byte) string {
	if len(b) > 200 {
		return string(b[:200]) + "..."
	}
	return string(b)
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func join(msgs []string) error {
	if len(msgs) == 0 {
		return nil
	}
	errs := make([]error, len(msgs))
	for i, m := range msgs {
		errs[i] = errors.New(m)
	}
	return errors.Join(errs...)
}
