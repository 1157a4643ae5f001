package api

import (
	"encoding/json"
	"testing"
)

// TestTopLevelKeys holds the allocation-free key count to what a JSON
// tokenizer sees: nested objects and arrays, escaped quotes, and commas,
// braces and colons inside strings do not count.
func TestTopLevelKeys(t *testing.T) {
	for body, want := range map[string]int{
		`{}`:      0,
		`{"a":1}`: 1,
		`{"a":{"b":1,"c":[1,{"d":2}]},"e":"x,\"y\":","f":[]}`: 3,
		`{"k":1,"k":2}`:                   2,
		` { "a\"" : "}" , "b":null } `:    2,
		`{"a\\":"{","b":["}",{"c":"]"}]}`: 2,
	} {
		var m map[string]json.RawMessage
		if err := json.Unmarshal([]byte(body), &m); err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		if got := topLevelKeys([]byte(body)); got != want {
			t.Errorf("%s: %d keys, want %d", body, got, want)
		}
	}
}

// BenchmarkDuplicateKey is the check every request body pays when its keys
// are distinct.
func BenchmarkDuplicateKey(b *testing.B) {
	body := []byte(`{"user_id":"17850","k":10,"mode":"discover","session_id":"load-123456"}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, dup := duplicateKey(body, 4); dup {
			b.Fatal("a duplicate in distinct keys")
		}
	}
}
