package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// debugServer serves Go's profiles (/debug/pprof/) on their own listener,
// apart from the API, so that an SRE can take a CPU or heap profile of a
// server under load. It is off unless TAILOR_DEBUG_ADDR is set.
type debugServer struct {
	srv  *http.Server
	addr net.Addr
	done chan error
}

// startDebug listens on addr and serves the profiles until stop.
func startDebug(addr string, log *slog.Logger) (*debugServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("debug listener on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	d := &debugServer{
		srv:  &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)},
		addr: ln.Addr(),
		done: make(chan error, 1),
	}
	go func() { d.done <- d.srv.Serve(ln) }()
	return d, nil
}

// stop closes the listener and any profile in progress, and waits for the
// serving goroutine.
func (d *debugServer) stop(context.Context) error {
	err := d.srv.Close()
	<-d.done
	return err
}
