package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"testing"
	"time"

	"github.com/source-zoom/source-zoom/connector"
	"github.com/source-zoom/source-zoom/integration_tests/fakezoom"
	"github.com/source-zoom/source-zoom/protocol"
	"github.com/source-zoom/source-zoom/streams"
)

func TestNormPathCoversTheFakeRoutes(t *testing.T) {
	for in, want := range map[string]string{
		"/users":                                   "/users",
		"/users/u-1/meetings":                      "/users/{}/meetings",
		"/report/users/abc%40x.com/meetings":       "/report/users/{}/meetings",
		"/past_meetings/%252Fab%252F%253D%253D/qa": "/past_meetings/{}/qa",
		"/webinars/123/registrants/questions":      "/webinars/{}/registrants/questions",
	} {
		if got := normPath(in); got != want {
			t.Errorf("normPath(%q) = %q, want %q", in, got, want)
		}
	}
	for tmpl := range endpointCategory {
		if normPath(tmpl) != tmpl {
			t.Errorf("endpointCategory key %q is not normalised", tmpl)
		}
	}
}

func TestMinTime(t *testing.T) {
	acc := map[string]int64{catLight: 100, catMedium: 300, catHeavy: 90}
	got, bind := MinTime(acc, map[string]int{catLight: 20, catMedium: 20, catHeavy: 10})
	if got != 15*time.Second || bind != catMedium {
		t.Errorf("MinTime = %v by %s, want 15s by Medium", got, bind)
	}
	got, bind = MinTime(acc, map[string]int{catHeavy: 3}) // unlimited categories do not bind
	if got != 30*time.Second || bind != catHeavy {
		t.Errorf("MinTime = %v by %s, want 30s by Heavy", got, bind)
	}
	if got, _ := MinTime(acc, nil); got != 0 {
		t.Errorf("MinTime without limits = %v", got)
	}
	r := &Result{Wall: 20 * time.Second, Audit: auditSnapshot{Accepted: acc}}
	if ratio := r.RateRatio(map[string]int{catMedium: 20}); ratio != 0.75 {
		t.Errorf("RateRatio = %v, want 0.75", ratio)
	}
}

func TestSelect(t *testing.T) {
	names := func(spec string) string {
		scs, err := Select(spec)
		if err != nil {
			return "error: " + err.Error()
		}
		var out []string
		for _, s := range scs {
			out = append(out, s.Name)
		}
		return strings.Join(out, ",")
	}
	for spec, want := range map[string]string{
		"rate":           "rate-known,rate-discover",
		"memory":         "memory-small,memory-large",
		"cpu,rate-known": "cpu,rate-known",
		"latency":        "latency",
	} {
		if got := names(spec); got != want {
			t.Errorf("Select(%q) = %s, want %s", spec, got, want)
		}
	}
	if got := names("all"); strings.Count(got, ",") != len(Scenarios())-1 {
		t.Errorf("Select(all) = %s", got)
	}
	if got := names("nope"); !strings.HasPrefix(got, "error") {
		t.Errorf("Select(nope) = %s", got)
	}
}

func TestParseRate(t *testing.T) {
	saved := RateLimits
	t.Cleanup(func() { RateLimits = saved })
	RateLimits = map[string]int{catLight: 20, catMedium: 20, catHeavy: 20}
	if err := parseRate("Light=30,Heavy=10"); err != nil {
		t.Fatal(err)
	}
	if RateLimits[catLight] != 30 || RateLimits[catMedium] != 20 || RateLimits[catHeavy] != 10 {
		t.Errorf("RateLimits = %v", RateLimits)
	}
	if err := parseRate("40"); err != nil || RateLimits[catMedium] != 40 {
		t.Errorf("parseRate(40): %v, %v", err, RateLimits)
	}
	for _, bad := range []string{"Huge=3", "Light=0", "x"} {
		if parseRate(bad) == nil {
			t.Errorf("parseRate(%q) accepted", bad)
		}
	}
}

// buildConnector builds the connector binary once per test binary.
func buildConnector(t testing.TB) string {
	t.Helper()
	bin, err := Build(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// TestSmallestScenario runs memory-small end to end (the real binary
// against the fake server; about 11 thousand records in well under a
// second plus the build) and checks every target and the per-stream counts
// against the fake's Expected().
func TestSmallestScenario(t *testing.T) {
	bin := buildConnector(t)
	scs, err := Select("memory-small")
	if err != nil {
		t.Fatal(err)
	}
	sc := scs[0]
	if !sc.Expected {
		t.Fatal("memory-small should compare counts with Expected()")
	}
	r, err := Run(context.Background(), sc, RunOptions{Bin: bin, Timeout: 2 * time.Minute})
	if err != nil {
		if r != nil {
			t.Logf("connector stderr:\n%s", r.StderrTail)
		}
		t.Fatal(err)
	}
	var out bytes.Buffer
	PrintResult(&out, sc, r, true)
	PrintTable(&out, []*Result{r})
	t.Log(out.String())
	if !r.Passed() {
		t.Errorf("targets failed:\n%s", out.String())
	}
	if r.Records < 10_000 || r.Sampled == 0 || len(r.ByStream) != len(fakezoom.Streams()) {
		t.Errorf("records %d, sampled %d, streams %d", r.Records, r.Sampled, len(r.ByStream))
	}
	if r.CPU <= 0 || r.MaxRSSKiB <= 0 || r.Wall <= 0 {
		t.Errorf("no process figures: cpu %v rss %d wall %v", r.CPU, r.MaxRSSKiB, r.Wall)
	}
	if !strings.Contains(out.String(), "| memory-small |") {
		t.Errorf("table missing the scenario:\n%s", out.String())
	}
}

// TestDrainRejectsBadOutput: the drain refuses records of unknown streams
// and lines that are not Airbyte messages, and counts per stream.
func TestDrainRejectsBadOutput(t *testing.T) {
	streams := map[string]bool{"users": true}
	good := `{"type":"RECORD","record":{"stream":"users","emitted_at":1,"data":{"id":"a"}}}` + "\n" +
		`{"type":"STATE","state":{"type":"STREAM"}}` + "\n"
	var r Result
	if err := drain(strings.NewReader(good+good), streams, &r); err != nil {
		t.Fatal(err)
	}
	if r.Records != 2 || r.ByStream["users"] != 2 || r.States != 2 || r.Sampled != 1 {
		t.Errorf("result %+v", r)
	}
	for _, bad := range []string{
		`{"type":"RECORD","record":{"stream":"other","emitted_at":1,"data":{"id":"a"}}}` + "\n",
		"not json\n",
		`{"type":"RECORD","record":{"stream":"users","emitted_at":1,"data":{"id":"a"}}}`, // no newline
	} {
		if err := drain(strings.NewReader(bad), streams, &Result{}); err == nil {
			t.Errorf("drain accepted %q", bad)
		}
	}
}

// BenchmarkConnectorRead runs a whole read in this process (connector.Run
// as main does, output to io.Discard) against the fake server, so that
// -cpuprofile shows where the connector's CPU goes. The connector's
// goroutines carry the pprof label side=connector; the fake server's do
// not:
//
//	go test -run '^$' -bench ConnectorRead -benchtime 5x -cpuprofile /tmp/read.pprof ./integration_tests/cmd/bench/
//	go tool pprof -tagfocus side=connector -top /tmp/read.pprof
func BenchmarkConnectorRead(b *testing.B) {
	spec, err := os.ReadFile(filepath.Join("..", "..", "..", "spec.json"))
	if err != nil {
		b.Fatal(err)
	}
	conn := streams.Connector(spec, "bench")
	fake := fakezoom.New(fakezoom.Options{Seed: 3, Users: 20, MeetingsPerUser: 4, WebinarsPerUser: 2, InstancesPerMeeting: 3, ParticipantsPerSession: 300})
	if _, err := fake.Start(); err != nil {
		b.Fatal(err)
	}
	defer fake.Close()
	dir := b.TempDir()
	cfg := filepath.Join(dir, "config.json")
	if err := writeJSON(cfg, map[string]any{"account_id": "fake-account", "client_id": "fake-client", "client_secret": "fake-secret",
		"authorization_endpoint": fake.TokenURL(), "api_base_url": fake.APIBaseURL()}); err != nil {
		b.Fatal(err)
	}
	var disc bytes.Buffer
	if code := connector.Run(context.Background(), []string{"discover", "--config", cfg}, &disc, io.Discard, conn); code != 0 {
		b.Fatalf("discover exited %d", code)
	}
	var m protocol.Message
	if err := json.Unmarshal(disc.Bytes(), &m); err != nil || m.Catalog == nil {
		b.Fatalf("discover: %v", err)
	}
	cat := filepath.Join(dir, "catalog.json")
	if err := writeJSON(cat, fullRefresh(m.Catalog)); err != nil {
		b.Fatal(err)
	}
	args := []string{"read", "--config", cfg, "--catalog", cat}
	// Count the records once, outside the timed loop.
	var count lineCounter
	if code := connector.Run(context.Background(), args, &count, io.Discard, conn); code != 0 {
		b.Fatalf("read exited %d", code)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		pprof.Do(context.Background(), pprof.Labels("side", "connector"), func(ctx context.Context) {
			if code := connector.Run(ctx, args, io.Discard, io.Discard, conn); code != 0 {
				b.Fatalf("read exited %d", code)
			}
		})
	}
	b.ReportMetric(float64(count.records)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(count.records), "records/op")
}

type lineCounter struct{ records int64 }

func (c *lineCounter) Write(p []byte) (int, error) {
	c.records += int64(bytes.Count(p, []byte(`{"type":"RECORD"`)))
	return len(p), nil
}
