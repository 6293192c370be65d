// Command source-zoom is an Airbyte source for Zoom: spec, check, discover
// and read, with Airbyte messages as JSON lines on stdout.
package main

import (
	"context"
	_ "embed"
	"os"
	"os/signal"
	"syscall"

	"github.com/source-zoom/source-zoom/connector"
	"github.com/source-zoom/source-zoom/streams"
)

//go:embed spec.json
var spec []byte

// version is stamped at build time: -ldflags "-X main.version=1.2.3".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := connector.Run(ctx, os.Args[1:], os.Stdout, os.Stderr, streams.Connector(spec, version))
	stop()
	os.Exit(code)
}
