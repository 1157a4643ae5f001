package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tailorhq/tailor/features"
)

func TestRunRefusesToStart(t *testing.T) {
	garbage := t.TempDir()
	if err := os.WriteFile(filepath.Join(garbage, "cf.onnx"), []byte("this is not an ONNX model"), 0o644); err != nil {
		t.Fatal(err)
	}
	// The shipped features as an older trainer wrote them: items without
	// the co-purchase neighbours that propensity.onnx reads.
	oldFeatures := t.TempDir()
	for _, name := range []string{features.CatalogFile, features.ItemsFile, features.CustomersFile} {
		b, err := os.ReadFile(filepath.Join("..", "..", "data", "features", name))
		if err != nil {
			t.Fatal(err)
		}
		if name == features.ItemsFile {
			zr, err := gzip.NewReader(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			if b, err = io.ReadAll(zr); err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			zw := gzip.NewWriter(&out)
			for line := range bytes.Lines(b) {
				var m map[string]json.RawMessage
				if err := json.Unmarshal(line, &m); err != nil {
					t.Fatal(err)
				}
				delete(m, "copurchase")
				l, _ := json.Marshal(m)
				zw.Write(append(l, '\n'))
			}
			if err := zw.Close(); err != nil {
				t.Fatal(err)
			}
			b = out.Bytes()
		}
		if err := os.WriteFile(filepath.Join(oldFeatures, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// The propensity model shipped before 2026-12-03 (testdata, from commit
	// dada2b5), which learnt copurchase from cosine similarities, beside
	// today's CF model.
	cosineModels := t.TempDir()
	for src, dst := range map[string]string{
		filepath.Join("..", "..", "models", "cf.onnx"):                        "cf.onnx",
		filepath.Join("testdata", "propensity-cosine-20111101.ce20acfb.onnx"): "propensity.onnx",
	} {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(cosineModels, dst), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"propensity model learnt from cosine neighbours", map[string]string{"TAILOR_MODELS_DIR": cosineModels},
			`model propensity@20111101.ce20acfb (` + filepath.Join(cosineModels, "propensity.onnx") + `): check: it reads the copurchase feature learnt from neighbours made by "cosine, before they were declared" (metadata "copurchase"), but the served ones are "ease"`},
		{"broken model", map[string]string{"TAILOR_MODELS_DIR": garbage}, "cf.onnx"},
		{"features without co-purchase neighbours", map[string]string{"TAILOR_FEATURES_DIR": oldFeatures},
			"reads the copurchase feature, but " + filepath.Join(oldFeatures, features.ItemsFile) + " has no co-purchase neighbours"},
		{"empty models dir", map[string]string{"TAILOR_MODELS_DIR": t.TempDir()}, "no"},
		{"missing features", map[string]string{"TAILOR_FEATURES_DIR": t.TempDir()}, "catalog.jsonl"},
		{"store under a file", map[string]string{"TAILOR_STORE_PATH": filepath.Join(garbage, "cf.onnx", "profiles.db")}, "profiles.db"},
		{"bad duration", map[string]string{"TAILOR_MODEL_TIMEOUT": "soon"}, "TAILOR_MODEL_TIMEOUT"},
		{"no read timeout", map[string]string{"TAILOR_READ_TIMEOUT": "0s"}, "TAILOR_READ_TIMEOUT"},
		{"negative drain delay", map[string]string{"TAILOR_DRAIN_DELAY": "-1s"}, "TAILOR_DRAIN_DELAY"},
		{"bad reference time", map[string]string{"TAILOR_REFERENCE_TIME": "yesterday"}, "TAILOR_REFERENCE_TIME"},
		// Values that would otherwise be replaced by a default without a word,
		// or (shutdown) cut every request in flight.
		{"no intra-op threads", map[string]string{"TAILOR_INTRA_OP_THREADS": "0"}, "TAILOR_INTRA_OP_THREADS"},
		{"no CF batch", map[string]string{"TAILOR_CF_MAX_BATCH": "0"}, "TAILOR_CF_MAX_BATCH"},
		{"no model timeout", map[string]string{"TAILOR_MODEL_TIMEOUT": "0s"}, "TAILOR_MODEL_TIMEOUT"},
		{"negative model timeout", map[string]string{"TAILOR_MODEL_TIMEOUT": "-1s"}, "TAILOR_MODEL_TIMEOUT"},
		{"no breaker failures", map[string]string{"TAILOR_BREAKER_FAILURES": "0"}, "TAILOR_BREAKER_FAILURES"},
		{"breaker never open", map[string]string{"TAILOR_BREAKER_OPEN_FOR": "0s"}, "TAILOR_BREAKER_OPEN_FOR"},
		{"zero min history", map[string]string{"TAILOR_MIN_HISTORY": "0"}, "TAILOR_MIN_HISTORY"},
		{"zero min spread", map[string]string{"TAILOR_MIN_SPREAD": "0"}, "TAILOR_MIN_SPREAD"},
		{"NaN min spread", map[string]string{"TAILOR_MIN_SPREAD": "NaN"}, "TAILOR_MIN_SPREAD"},
		{"zero own-order weight", map[string]string{"TAILOR_OWN_ORDER_WEIGHT": "0"}, "TAILOR_OWN_ORDER_WEIGHT"},
		{"infinite own-order weight", map[string]string{"TAILOR_OWN_ORDER_WEIGHT": "+Inf"}, "TAILOR_OWN_ORDER_WEIGHT"},
		{"bad own-order weight", map[string]string{"TAILOR_OWN_ORDER_WEIGHT": "half"}, "TAILOR_OWN_ORDER_WEIGHT"},
		{"negative cache cost", map[string]string{"TAILOR_CACHE_MAX_COST": "-1"}, "TAILOR_CACHE_MAX_COST"},
		{"negative cache TTL", map[string]string{"TAILOR_CACHE_TTL": "-1s"}, "TAILOR_CACHE_TTL"},
		{"negative answer TTL", map[string]string{"TAILOR_ANSWER_CACHE_TTL": "-1s"}, "TAILOR_ANSWER_CACHE_TTL"},
		{"no body limit", map[string]string{"TAILOR_BODY_LIMIT": "0"}, "TAILOR_BODY_LIMIT"},
		{"no shutdown timeout", map[string]string{"TAILOR_SHUTDOWN_TIMEOUT": "0s"}, "TAILOR_SHUTDOWN_TIMEOUT"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// A server that starts after all serves until the deadline.
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			err := run(ctx, []string{"serve"}, testEnv(t, tc.env), io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("run = %v; want an error mentioning %q", err, tc.want)
			}
		})
	}
}

func TestRunRefusesArguments(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	err := run(ctx, []string{"serve", "models"}, testEnv(t, nil), io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), `"models"`) {
		t.Fatalf("run with an argument = %v; want an error naming it", err)
	}
}
