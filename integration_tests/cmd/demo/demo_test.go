package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/source-zoom/source-zoom/integration_tests/fakezoom"
	"github.com/source-zoom/source-zoom/integration_tests/harness"
	"github.com/source-zoom/source-zoom/protocol/protocoltest"
)

func TestMain(m *testing.M) { os.Exit(harness.Main(m)) }

var small = fakezoom.Options{Seed: 3, Users: 2}

func runDemo(t *testing.T, c config) (stdout, stderr string, err error) {
	t.Helper()
	var out, errb bytes.Buffer
	c.bin, c.fake, c.stdout, c.stderr = harness.Binary(t), small, &out, &errb
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	err = run(ctx, c)
	return out.String(), errb.String(), err
}

// section returns the lines of the summary titled prefix, up to the next
// blank line.
func section(t *testing.T, out, prefix string) []string {
	t.Helper()
	i := strings.Index(out, "\n"+prefix)
	if i < 0 {
		t.Fatalf("no %q summary in:\n%s", prefix, out)
	}
	rest := out[i+1:]
	if j := strings.Index(rest, "\n\n"); j >= 0 {
		rest = rest[:j]
	}
	return strings.Split(rest, "\n")
}

// rows maps the first column of the table to its fields.
func rows(lines []string) map[string][]string {
	out := map[string][]string{}
	for _, l := range lines {
		if f := strings.Fields(l); len(f) > 0 {
			out[f[0]] = f
		}
	}
	return out
}

func TestRunSummary(t *testing.T) {
	out, stderr, err := runDemo(t, config{})
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out)
	}
	if stderr != "" {
		t.Errorf("stderr without a terminal should be empty, got %q", stderr)
	}
	table := rows(section(t, out, "sync 1 of 1 (full_refresh): exit 0"))
	want := harness.Expected(fakezoom.New(small))
	total := 0
	for _, stream := range fakezoom.Streams() {
		r := table[stream]
		if len(r) < 6 {
			t.Errorf("no row for %s", stream)
			continue
		}
		total += len(want[stream])
		if r[1] != fmt.Sprint(len(want[stream])) || r[5] != "COMPLETE" || r[2] == "0" {
			t.Errorf("row %v: want %d records, some requests, COMPLETE", r, len(want[stream]))
		}
	}
	if r := table["TOTAL"]; len(r) < 2 || r[1] != fmt.Sprint(total) {
		t.Errorf("TOTAL row %v, want %d records", r, total)
	}
	if r := table["(token)"]; len(r) < 3 || r[2] != "1" {
		t.Errorf("token row %v, want 1 request", r)
	}
	if !strings.Contains(out, "log lines: ") || !strings.Contains(out, "fake Zoom at http://127.0.0.1:") {
		t.Errorf("summary lacks the log count or the server line:\n%s", out)
	}
	if strings.Contains(out, `{"type"`) {
		t.Error("Airbyte JSON on stdout without -json")
	}
}

func TestRunIncremental(t *testing.T) {
	out, _, err := runDemo(t, config{incremental: true, addSessions: 1})
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out)
	}
	s1 := rows(section(t, out, "sync 1 of 2 (incremental)"))
	s2 := rows(section(t, out, "sync 2 of 2 (incremental, from sync 1's state"))
	for _, stream := range []string{"past_meeting_instances", "report_meeting_participants", "recordings"} {
		a, b := s1[stream], s2[stream]
		if len(a) < 7 || len(b) < 7 {
			t.Fatalf("rows %v / %v", a, b)
		}
		if a[5] != "COMPLETE" || b[5] != "COMPLETE" || !strings.Contains(a[6], "=") || a[6] == b[6] {
			t.Errorf("%s: sync 1 %v, sync 2 %v: want COMPLETE, and a cursor that moved", stream, a, b)
		}
		n1, _ := strconv.Atoi(a[1])
		n2, _ := strconv.Atoi(b[1])
		if n2 == 0 || n2 >= n1 {
			t.Errorf("%s: sync 2 read %s records, sync 1 %s: want fewer, but some", stream, b[1], a[1])
		}
	}
	if s2["users"][1] != s1["users"][1] {
		t.Errorf("users (full refresh) %v then %v", s1["users"], s2["users"])
	}
}

func TestRunJSON(t *testing.T) {
	out, stderr, err := runDemo(t, config{json: true})
	if err != nil {
		t.Fatalf("run: %v\n%s", err, stderr)
	}
	msgs := protocoltest.CheckOutput(t, []byte(out))
	if n := len(protocoltest.Records(msgs, "")); n == 0 {
		t.Error("no RECORD on stdout with -json")
	}
	if !strings.Contains(stderr, "TOTAL") {
		t.Errorf("with -json the summary goes to stderr, got %q", stderr)
	}
}

func TestRunFailure(t *testing.T) {
	var out, errb bytes.Buffer
	o := small
	o.MissingScope = "/report/"
	err := run(context.Background(), config{bin: harness.Binary(t), fake: o, stdout: &out, stderr: &errb})
	if err == nil || !strings.Contains(err.Error(), "the connector failed") {
		t.Fatalf("run = %v, want the connector's failure\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "ERROR TRACE report_meetings") || !strings.Contains(out.String(), "INCOMPLETE") {
		t.Errorf("summary does not show the failed stream:\n%s", out.String())
	}
}

func TestProgress(t *testing.T) {
	var w bytes.Buffer
	var n atomic.Int64
	n.Store(42)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { progress(&w, &n, time.Now(), stop); close(done) }()
	time.Sleep(450 * time.Millisecond)
	close(stop)
	<-done
	if s := w.String(); !strings.Contains(s, "42 records") || !strings.HasSuffix(s, "\r\033[K") {
		t.Errorf("progress wrote %q", s)
	}
}

func TestHelpers(t *testing.T) {
	if a, b := endpoint("/users/{user_id}/meetings"), endpoint("GET /users/{userId}/meetings"); a != b || a != "/users/{}/meetings" {
		t.Errorf("endpoint: %q vs %q", a, b)
	}
	for in, want := range map[string]string{
		`{}`:                                    "-",
		`{"start_time":"2026-01-02T00:00:00Z"}`: "start_time=2026-01-02T00:00:00Z",
		`{"partitions":{"a":"b"}}`:              `{"partitions":{"a":"b"}}`,
	} {
		if got := cursor([]byte(in)); got != want {
			t.Errorf("cursor(%s) = %q, want %q", in, got, want)
		}
	}
}
