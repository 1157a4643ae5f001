// Command serve is Tailor's HTTP server: recommendations, re-ranking and
// similar items over the ONNX models in the models directory, with the
// feature store, the fallback rules, Prometheus metrics and OpenTelemetry
// traces. Every setting is a flag or a TAILOR_* variable (-h lists them).
//
//	go run ./cmd/serve -addr :8080 -models models
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// The first SIGINT or SIGTERM starts the graceful shutdown; once it has,
	// the signals' default action is back, so a second one stops at once.
	context.AfterFunc(ctx, stop)
	if err := run(ctx, os.Args, os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "serve:", err)
		os.Exit(1)
	}
}
