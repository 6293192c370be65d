// Command demo shows the connector at work: it starts the fake Zoom server
// in-process on 127.0.0.1, discovers the catalog, runs a read of every
// stream with the real connector binary and prints a per-stream summary
// (records, requests the fake served, time, state, status).
//
//	go run ./integration_tests/cmd/demo                   # 20 users, full refresh
//	go run ./integration_tests/cmd/demo -incremental      # two syncs, the second from the first's state
//	go run ./integration_tests/cmd/demo -json | head      # the raw Airbyte messages on stdout
//	go run ./integration_tests/cmd/demo -bin /tmp/sz -users 200 -latency 20ms
//
// Without -bin it builds the connector with `go build` into a temporary
// directory (run it from inside the repository). The exit status is 1 when
// the connector failed.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	var c config
	fs := flag.CommandLine
	fs.StringVar(&c.bin, "bin", "", "connector binary (default: go build one into a temporary directory)")
	fs.BoolVar(&c.json, "json", false, "print the connector's raw Airbyte messages on stdout (the summary goes to stderr)")
	fs.BoolVar(&c.incremental, "incremental", false, "incremental catalog, two syncs: the second starts from the first's state")
	fs.IntVar(&c.addSessions, "add-sessions", 1, "with -incremental: past sessions added to every meeting and webinar between the syncs")
	fs.IntVar(&c.concurrency, "concurrency", 0, "connector's concurrency setting (0 = its default)")
	fs.Int64Var(&c.fake.Seed, "seed", 1, "data seed of the fake server")
	fs.IntVar(&c.fake.Users, "users", 20, "users")
	fs.IntVar(&c.fake.MeetingsPerUser, "meetings", 0, "meetings per user (0 = fakezoom default)")
	fs.IntVar(&c.fake.WebinarsPerUser, "webinars", 0, "webinars per user (0 = fakezoom default)")
	fs.IntVar(&c.fake.InstancesPerMeeting, "instances", 0, "past occurrences per recurring meeting or webinar (0 = default)")
	fs.IntVar(&c.fake.ParticipantsPerSession, "participants", 0, "participants per session (0 = default)")
	fs.DurationVar(&c.fake.Latency, "latency", 0, "latency the fake adds to every request, e.g. 20ms")
	flag.Parse()

	st, err := os.Stderr.Stat()
	c.progress = err == nil && st.Mode()&os.ModeCharDevice != 0
	c.stdout, c.stderr = os.Stdout, os.Stderr

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err = run(ctx, c)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}
