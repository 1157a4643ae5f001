package main

import (
	"bytes"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tailorhq/tailor/dataset"
	"github.com/tailorhq/tailor/evaluate"
	"github.com/tailorhq/tailor/trainer"
)

// fakeRun is a small table: own-then-popular leads all items, EASE new items.
func fakeRun() cardsRun {
	day := func(m, d int) time.Time { return time.Date(2011, time.Month(m), d, 10, 0, 0, 0, time.UTC) }
	ps := []dataset.Purchase{
		{Invoice: "1", Item: "A", Customer: "1", Time: day(8, 1)},
		{Invoice: "2", Item: "B", Customer: "1", Time: day(9, 2)},
	}
	res := func(name string, all, nw float64, notes string) evaluate.Result {
		return evaluate.Result{Name: name, K: 10, Notes: notes,
			AllItems: evaluate.Metrics{Recall: all / 2, NDCG: all, HitRate: 2 * all, Customers: 1},
			NewItems: evaluate.Metrics{Recall: nw / 2, NDCG: nw, HitRate: 2 * nw, Customers: 1}}
	}
	return cardsRun{
		Split: evaluate.NewSplit(ps, day(9, 1).Truncate(24*time.Hour), day(11, 1).Truncate(24*time.Hour)),
		K:     10,
		Baselines: []evaluate.Result{
			res("most popular", 0.2, 0.05, "fit 3ms"),
			res("own most-bought, then popular", 0.4, 0.01, "fit 5ms"),
			res("EASE", 0.3, 0.1, "λ=200 from [50 200], chosen on validation; 3604 items; fit 2.1s"),
		},
		CFAlone: res("Tailor CF alone (ALS fold-in, cf.onnx)", 0.35, 0.11, "factors=64, chosen on validation"),
		Served:  res("**Tailor: the served flow** (cf.onnx + propensity.onnx)", 0.44, 0.12, "recommend.Service; whole pipeline trained in 41s"),
		Args:    []string{"quality"},
		Now:     time.Date(2026, 1, 2, 23, 0, 0, 0, time.UTC),
	}
}

// shippedCards writes two model files and their cards, as `make models`
// leaves them before `make evaluate` ran, and returns the cards' bytes.
func shippedCards(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, f := range []struct{ model, card string }{{trainer.CFFile, trainer.CFCardFile}, {trainer.PropensityFile, trainer.PropensityCardFile}} {
		onnx := []byte("weights of " + f.model)
		c := trainer.Card{Name: f.model, File: f.model, SHA256: trainer.Digest(onnx), Data: trainer.CardData{Range: "2010-12-01/2011-10-31", Cut: "2011-11-01"},
			Parameters: struct {
				Zeta  int `json:"zeta"`
				Alpha int `json:"alpha"`
			}{1, 2},
			ValidationStale: trainer.ValidationStale, Notes: []string{trainer.ValidationNote}}
		b, err := trainer.JSONCard(c)
		if err != nil {
			t.Fatal(err)
		}
		for name, data := range map[string][]byte{f.model: onnx, f.card: b} {
			if err := trainer.WriteFile(filepath.Join(dir, name), data); err != nil {
				t.Fatal(err)
			}
		}
		out[f.card] = b
	}
	return out
}

func readCard(t *testing.T, path string) (*trainer.Card, []byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	c, err := trainer.ReadCard(path)
	if err != nil {
		t.Fatal(err)
	}
	return c, b
}

// TestWriteCards: the evaluate command's writer gives both cards the whole
// table, each marking its own row, changes nothing else in them, and writes
// bytes that the card struct round-trips, so `make models` (which carries
// the block over from the card it replaces) rewrites them identically.
func TestWriteCards(t *testing.T) {
	dir := t.TempDir()
	before := shippedCards(t, dir)
	var log bytes.Buffer
	if err := updateCards(flag.NewFlagSet("quality", flag.ContinueOnError), dir, fakeRun(), &log); err != nil {
		t.Fatal(err)
	}
	for card, this := range map[string]string{trainer.CFCardFile: "Tailor CF alone (ALS fold-in, cf.onnx)",
		trainer.PropensityCardFile: "Tailor: the served flow (cf.onnx + propensity.onnx)"} {
		c, b := readCard(t, filepath.Join(dir, card))
		v := c.Validation
		if v == nil || c.ValidationStale != "" {
			t.Fatalf("%s: validation %v, stale %q", card, v, c.ValidationStale)
		}
		if v.Command != "make evaluate" || v.Date != "2026-01-02" || v.GoCommand != "go run ./benchmarks/quality" {
			t.Errorf("%s: command %q, go command %q, date %q", card, v.Command, v.GoCommand, v.Date)
		}
		p := v.Protocol
		if p.TrainBefore != "2011-09-01" || p.TestFrom != "2011-09-01" || p.TestTo != "2011-10-31" || p.K != 10 ||
			p.Customers != (trainer.TaskCounts{AllItems: 1, NewItems: 1}) || p.TrainPurchases != 1 || p.TestPurchases != 1 {
			t.Errorf("%s: protocol %+v", card, p)
		}
		if !strings.Contains(v.Statement, "not measurements of the weights in this file") || !strings.Contains(v.Statement, "before 2011-09-01") {
			t.Errorf("%s: statement %q", card, v.Statement)
		}
		if len(v.Methods) != 5 || v.Methods[0].Kind != trainer.RowTailor || v.Methods[4].Kind != trainer.RowBaseline {
			t.Fatalf("%s: methods %+v", card, v.Methods)
		}
		var marked []string
		for _, r := range v.Methods {
			if r.ThisModel {
				marked = append(marked, r.Method)
			}
			if strings.Contains(r.Notes, "fit ") || strings.Contains(r.Notes, "trained in") {
				t.Errorf("%s: %s notes keep a timing: %q", card, r.Method, r.Notes)
			}
		}
		if len(marked) != 1 || marked[0] != this {
			t.Errorf("%s: rows marked this_model %q, want %q", card, marked, this)
		}
		all, nw := v.BestBaseline.AllItems, v.BestBaseline.NewItems
		if all.Method != "own most-bought, then popular" || all.NDCG != 0.4 || nw.Method != "EASE" || nw.NDCG != 0.1 {
			t.Errorf("%s: best baselines %+v", card, v.BestBaseline)
		}
		served := v.Methods[0]
		if served.AllItems != (trainer.TaskFigures{Recall: 0.22, NDCG: 0.44, HitRate: 0.88, VsBestBaseline: 0.1}) ||
			served.NewItems != (trainer.TaskFigures{Recall: 0.06, NDCG: 0.12, HitRate: 0.24, VsBestBaseline: 0.2}) {
			t.Errorf("%s: served flow %+v", card, served)
		}
		if card == trainer.PropensityCardFile && (all.ThisModelNDCG != 0.44 || all.ThisModelRelative != 0.1 || nw.ThisModelRelative != 0.2) {
			t.Errorf("%s: served flow vs best baselines %+v", card, v.BestBaseline)
		}
		if card == trainer.CFCardFile && (all.ThisModelNDCG != 0.35 || all.ThisModelRelative != -0.125 || nw.ThisModelRelative != 0.1) {
			t.Errorf("%s: CF alone vs best baselines %+v", card, v.BestBaseline)
		}

		again, err := trainer.JSONCard(*c)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(again, b) {
			t.Errorf("%s: the card struct does not round-trip the written card:\n%s", card, again)
		}
		c.Validation, c.ValidationStale = nil, trainer.ValidationStale
		if rest, _ := trainer.JSONCard(*c); !bytes.Equal(rest, before[card]) {
			t.Errorf("%s: the writer changed more than the validation block:\n%s", card, rest)
		}
		retrained := *c // as `make models` rebuilds it from the same model file
		retrained.KeepValidation(&trainer.Card{SHA256: c.SHA256, Validation: v})
		if rb, _ := trainer.JSONCard(retrained); !bytes.Equal(rb, b) {
			t.Errorf("%s: retraining the same model would rewrite the card:\n%s", card, rb)
		}
	}
}

// TestWriteCardsWithoutTheHTTPRow: skipping the over-HTTP row changes no
// figure, so the cards are written all the same.
func TestWriteCardsWithoutTheHTTPRow(t *testing.T) {
	dir := t.TempDir()
	before := shippedCards(t, dir)
	fs := flag.NewFlagSet("quality", flag.ContinueOnError)
	fs.String("server-bin", "bin/tailor-serve", "")
	if err := fs.Parse([]string{"-server-bin="}); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	if err := updateCards(fs, dir, fakeRun(), &log); err != nil {
		t.Fatal(err)
	}
	for card, old := range before {
		if c, b := readCard(t, filepath.Join(dir, card)); c.Validation == nil || bytes.Equal(b, old) {
			t.Errorf("%s was not written; log: %q", card, log.String())
		}
	}
}

func TestWriteCardsRefuses(t *testing.T) {
	for _, arg := range []string{"-baselines=false", "-trees=false", "-discover-model=false", "-label-months=2", "-label-windows=1", "-cut=2011-07-01"} {
		t.Run("a flag away from the shipped recipe: "+arg, func(t *testing.T) {
			dir := t.TempDir()
			before := shippedCards(t, dir)
			fs := flag.NewFlagSet("quality", flag.ContinueOnError)
			fs.Bool("baselines", true, "")
			fs.Bool("trees", true, "")
			fs.Bool("discover-model", true, "")
			fs.Int("label-months", trainer.DefaultLabelMonths, "")
			fs.Int("label-windows", trainer.DefaultLabelWindows, "")
			fs.String("cut", "2011-09-01", "")
			fs.String("results", "benchmarks/RESULTS.md", "")
			if err := fs.Parse([]string{arg, "-results="}); err != nil {
				t.Fatal(err)
			}
			var log bytes.Buffer
			if err := updateCards(fs, dir, fakeRun(), &log); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(log.String(), arg) || strings.Contains(log.String(), "-results") {
				t.Errorf("log: %q", log.String())
			}
			for card, want := range before {
				if _, got := readCard(t, filepath.Join(dir, card)); !bytes.Equal(got, want) {
					t.Errorf("%s was rewritten", card)
				}
			}
		})
	}
	t.Run("a card that does not describe its model file", func(t *testing.T) {
		dir := t.TempDir()
		before := shippedCards(t, dir)
		if err := os.WriteFile(filepath.Join(dir, trainer.PropensityFile), []byte("retrained"), 0o644); err != nil {
			t.Fatal(err)
		}
		err := updateCards(flag.NewFlagSet("quality", flag.ContinueOnError), dir, fakeRun(), io.Discard)
		if err == nil || !strings.Contains(err.Error(), "make models") {
			t.Errorf("want an error that says to run make models, got %v", err)
		}
		for card, want := range before {
			if _, got := readCard(t, filepath.Join(dir, card)); !bytes.Equal(got, want) {
				t.Errorf("%s was rewritten although the other card failed", card)
			}
		}
	})
	t.Run("no cards", func(t *testing.T) {
		err := updateCards(flag.NewFlagSet("quality", flag.ContinueOnError), t.TempDir(), fakeRun(), io.Discard)
		if err == nil || !strings.Contains(err.Error(), "make models") {
			t.Errorf("want an error that says to run make models, got %v", err)
		}
	})
	t.Run("no baselines", func(t *testing.T) {
		dir := t.TempDir()
		shippedCards(t, dir)
		run := fakeRun()
		run.Baselines = nil
		if err := updateCards(flag.NewFlagSet("quality", flag.ContinueOnError), dir, run, io.Discard); err == nil {
			t.Error("want an error without baselines")
		}
	})
}

func TestUntimed(t *testing.T) {
	for in, want := range map[string]string{
		"fit 3ms": "",
		"λ=200 from [50 200], chosen on validation; 3604 items; fit 2.1s": "λ=200 from [50 200], chosen on validation; 3604 items",
		"recommend.Service; top 300 CF; whole pipeline trained in 41s":    "recommend.Service; top 300 CF",
		"factors=64 λ=5, chosen on validation":                            "factors=64 λ=5, chosen on validation",
	} {
		if got := untimed(in); got != want {
			t.Errorf("untimed(%q) = %q, want %q", in, got, want)
		}
	}
}
