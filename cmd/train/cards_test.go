package main

import (
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/tailorhq/tailor/trainer"
)

// TestKeepValidationFromDisk: retraining keeps the validation block of the
// card on disk while the model file is unchanged, and marks it stale when
// the model changed or the old card is missing or unreadable.
func TestKeepValidationFromDisk(t *testing.T) {
	dir := t.TempDir()
	old := trainer.Card{Name: "cf", File: trainer.CFFile, SHA256: "aaaa",
		Validation: &trainer.Validation{Command: trainer.ValidationCommand, Date: "2026-01-02"}}
	b, err := trainer.JSONCard(old)
	if err != nil {
		t.Fatal(err)
	}
	if err := trainer.WriteFile(filepath.Join(dir, trainer.CFCardFile), b); err != nil {
		t.Fatal(err)
	}
	if err := trainer.WriteFile(filepath.Join(dir, trainer.PropensityCardFile), []byte("{not json")); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	for _, tc := range []struct {
		name, file, sha string
		keep            bool
	}{
		{"unchanged model", trainer.CFFile, "aaaa", true},
		{"changed model", trainer.CFFile, "bbbb", false},
		{"unreadable old card", trainer.PropensityFile, "aaaa", false},
		{"no old card", "other.onnx", "aaaa", false},
	} {
		a := &trainer.Artifact{File: tc.file, Card: trainer.Card{File: tc.file, SHA256: tc.sha}}
		keepValidation(dir, []*trainer.Artifact{a}, log)
		if kept := a.Card.Validation != nil && a.Card.Validation.Date == "2026-01-02"; kept != tc.keep {
			t.Errorf("%s: validation kept = %v, want %v", tc.name, kept, tc.keep)
		}
		if stale := a.Card.ValidationStale != ""; stale == tc.keep {
			t.Errorf("%s: validation_stale = %q", tc.name, a.Card.ValidationStale)
		}
	}
}
