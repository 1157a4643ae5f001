package main

import (
	"log/slog"
	"path/filepath"

	"github.com/tailorhq/tailor/trainer"
)

// cardFile is the card's name beside model file name.
func cardFile(name string) string { return trimExt(name) + ".card.json" }

// keepValidation gives every artifact's card the validation block of the
// card it replaces in dir when the model file is unchanged, or marks it
// stale (trainer.Card.KeepValidation). An unreadable old card counts as
// none.
func keepValidation(dir string, arts []*trainer.Artifact, log *slog.Logger) {
	for _, a := range arts {
		path := filepath.Join(dir, cardFile(a.File))
		prev, err := trainer.ReadCard(path)
		if err != nil {
			log.Warn("the card being replaced is unreadable; its validation is dropped", "err", err)
		}
		a.Card.KeepValidation(prev)
		if a.Card.Validation == nil {
			log.Info("no validation figures for this model file: run `make evaluate` to record them", "card", path)
		}
	}
}
