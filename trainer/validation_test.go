package trainer

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func validatedCard(sha string) *Card {
	return &Card{
		Name: "cf", SHA256: sha,
		Parameters: struct {
			Zeta  int `json:"zeta"`
			Alpha int `json:"alpha"`
		}{1, 2},
		Validation: &Validation{Command: ValidationCommand, Date: "2026-01-02", Methods: []ValidationRow{
			{Method: "EASE", Kind: RowBaseline, AllItems: TaskFigures{NDCG: 0.2}},
			{Method: "Tailor CF alone", Kind: RowTailor, ThisModel: true, AllItems: TaskFigures{NDCG: 0.3, VsBestBaseline: 0.5}},
		}},
	}
}

func TestKeepValidation(t *testing.T) {
	prev := validatedCard("aaaa")
	for _, tc := range []struct {
		name string
		prev *Card
		sha  string
		keep bool
	}{
		{"same model file", prev, "aaaa", true},
		{"model changed", prev, "bbbb", false},
		{"no card before", nil, "aaaa", false},
		{"card before without validation", &Card{SHA256: "aaaa", ValidationStale: ValidationStale}, "aaaa", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &Card{Name: "cf", SHA256: tc.sha}
			c.KeepValidation(tc.prev)
			if tc.keep {
				if c.Validation != prev.Validation || c.ValidationStale != "" {
					t.Errorf("validation not carried over: %+v, stale %q", c.Validation, c.ValidationStale)
				}
				return
			}
			if c.Validation != nil || c.ValidationStale != ValidationStale {
				t.Errorf("want no validation and the stale note; got %+v, stale %q", c.Validation, c.ValidationStale)
			}
		})
	}
}

// TestCardRoundTrips holds the card files to one encoding: a card read back
// and written again is byte-identical, free-form sections included, so
// `make evaluate` (which rewrites cards it read) and `make models` (which
// writes them from the trainer's structs) agree byte for byte.
func TestCardRoundTrips(t *testing.T) {
	dir := t.TempDir()
	want, err := JSONCard(*validatedCard("aaaa"))
	if err != nil {
		t.Fatal(err)
	}
	cards := map[string][]byte{filepath.Join(dir, "fake.card.json"): want}
	committed, _ := filepath.Glob("../models/*.card.json")
	if len(committed) < 2 {
		t.Fatalf("committed cards: %v", committed)
	}
	for _, p := range committed {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		cards[p] = b
	}
	if err := os.WriteFile(filepath.Join(dir, "fake.card.json"), want, 0o644); err != nil {
		t.Fatal(err)
	}
	for path, want := range cards {
		c, err := ReadCard(path)
		if err != nil {
			t.Fatal(err)
		}
		got, err := JSONCard(*c)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: read and written again, the card changed:\n%s", path, got)
		}
	}
	c, err := ReadCard(filepath.Join(dir, "fake.card.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c.Validation, validatedCard("aaaa").Validation) {
		t.Errorf("validation read back as %+v", c.Validation)
	}
	if c, err := ReadCard(filepath.Join(dir, "missing.card.json")); c != nil || err != nil {
		t.Errorf("missing card: %v, %v", c, err)
	}
}
