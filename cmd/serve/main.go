// Command serve is Tailor's HTTP server.
//
// For now it is the foundation stub: it loads ONNX Runtime, checks every
// model in the models directory against the contract, and serves liveness,
// readiness and the list of models. Recommendations arrive with the serving
// issue.
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
	if err := run(ctx, os.Args, os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "serve:", err)
		os.Exit(1)
	}
}
