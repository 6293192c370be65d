// Command fakezoom runs the fake Zoom API server of package fakezoom.
//
//	fakezoom -seed 1 -users 2000 -meetings 20 -latency 50ms -rate Medium=60,Heavy=40
//
// It prints "listening on http://127.0.0.1:PORT" and serves until SIGINT or
// SIGTERM. With -expected DIR it writes DIR/<stream>.jsonl and exits.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/source-zoom/source-zoom/integration_tests/fakezoom"
)

type rateFlag map[string]int

func (r rateFlag) String() string {
	var parts []string
	for k, v := range r {
		parts = append(parts, k+"="+strconv.Itoa(v))
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

func (r rateFlag) Set(v string) error {
	for _, part := range strings.Split(v, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, n, ok := strings.Cut(part, "=")
		if !ok {
			return fmt.Errorf("want Category=N, got %q", part)
		}
		i, err := strconv.Atoi(n)
		if err != nil {
			return fmt.Errorf("bad rate %q: %v", part, err)
		}
		r[strings.TrimSpace(k)] = i
	}
	return nil
}

func main() {
	var o fakezoom.Options
	rates := rateFlag{}
	var now string
	fs := flag.CommandLine
	fs.Int64Var(&o.Seed, "seed", 1, "data seed")
	fs.IntVar(&o.Users, "users", 0, "number of users (0 = default, <0 = none)")
	fs.IntVar(&o.MeetingsPerUser, "meetings", 0, "meetings per user")
	fs.IntVar(&o.WebinarsPerUser, "webinars", 0, "webinars per user")
	fs.IntVar(&o.InstancesPerMeeting, "instances", 0, "past occurrences per recurring meeting/webinar")
	fs.IntVar(&o.ParticipantsPerSession, "participants", 0, "participants per session")
	fs.IntVar(&o.RegistrantsPerMeeting, "registrants", 0, "registrants per meeting/webinar")
	fs.IntVar(&o.PollsPerMeeting, "polls", 0, "polls per meeting/webinar")
	fs.StringVar(&o.AccountID, "account-id", "", `account id (default "fake-account")`)
	fs.StringVar(&o.ClientID, "client-id", "", `client id (default "fake-client")`)
	fs.StringVar(&o.ClientSecret, "client-secret", "", `client secret (default "fake-secret")`)
	fs.DurationVar(&o.TokenLifetime, "token-lifetime", 0, "access token lifetime (default 1h)")
	fs.DurationVar(&o.PageTokenTTL, "page-token-ttl", 0, "next_page_token lifetime (default 15m)")
	fs.DurationVar(&o.Latency, "latency", 0, "latency added to every request")
	fs.Var(rates, "rate", "per-second limits, e.g. Light=80,Medium=60,Heavy=40,Resource-intensive=20")
	fs.IntVar(&o.DailyHeavyCap, "daily-heavy", 0, "daily cap of Heavy requests (0 = none)")
	fs.Float64Var(&o.ErrorRate, "error-rate", 0, "fraction of API requests answered 5xx")
	fs.Float64Var(&o.TruncateRate, "truncate-rate", 0, "fraction of API responses cut in the middle")
	fs.Float64Var(&o.ResetRate, "reset-rate", 0, "fraction of API connections reset")
	fs.IntVar(&o.HangFirst, "hang-first", 0, "the first N API requests hang")
	fs.IntVar(&o.RevokeTokenAfter, "revoke-token-after", 0, "revoke the current token once after N API requests")
	fs.StringVar(&o.MissingScope, "missing-scope", "", `API path prefix answered 400 code 4711 (e.g. "/report/")`)
	fs.StringVar(&now, "now", "", "data clock, RFC3339 (default 2026-11-30T12:00:00Z)")
	addr := fs.String("addr", "127.0.0.1:0", "listen address")
	expected := fs.String("expected", "", "write DIR/<stream>.jsonl with the expected records and exit")
	addSessions := fs.Int("add-sessions", 0, "call AddSessions(N) before serving or writing expected records")
	flag.Parse()
	if len(rates) > 0 {
		o.RateLimits = rates
	}
	if now != "" {
		t, err := time.Parse(time.RFC3339, now)
		if err != nil {
			fmt.Fprintln(os.Stderr, "fakezoom: -now:", err)
			os.Exit(2)
		}
		o.Now = t
	}
	s := fakezoom.New(o)
	s.AddSessions(*addSessions)

	if *expected != "" {
		if err := writeExpected(s, *expected); err != nil {
			fmt.Fprintln(os.Stderr, "fakezoom:", err)
			os.Exit(1)
		}
		return
	}

	base, err := s.StartAddr(*addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fakezoom:", err)
		os.Exit(1)
	}
	fmt.Printf("listening on %s\n", base)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		s.Close()
	}
}

func writeExpected(s *fakezoom.Server, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for stream, recs := range s.Expected() {
		f, err := os.Create(filepath.Join(dir, stream+".jsonl"))
		if err != nil {
			return err
		}
		w := bufio.NewWriter(f)
		for _, r := range recs {
			w.Write(r)
			w.WriteByte('\n')
		}
		if err := w.Flush(); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	return nil
}
