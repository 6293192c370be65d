package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/source-zoom/source-zoom/integration_tests/fakezoom"
	"github.com/source-zoom/source-zoom/protocol"
	"github.com/source-zoom/source-zoom/streams"
)

// config is what the flags set.
type config struct {
	bin         string // connector binary; "" = build one
	json        bool   // raw Airbyte lines on stdout, summary on stderr
	incremental bool   // incremental catalog, two syncs
	addSessions int    // sessions added between the two syncs
	concurrency int    // connector concurrency (0 = its default)
	fake        fakezoom.Options
	progress    bool // live progress line on stderr
	stdout      io.Writer
	stderr      io.Writer
}

// run is the whole demo: fake server, discover, one or two reads, summaries.
// It returns an error when the connector failed.
func run(ctx context.Context, c config) error {
	tmp, err := os.MkdirTemp("", "source-zoom-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	bin := c.bin
	if bin == "" {
		if bin, err = build(ctx, tmp); err != nil {
			return err
		}
	}

	fake := fakezoom.New(c.fake)
	if _, err := fake.Start(); err != nil {
		return fmt.Errorf("fake zoom: %w", err)
	}
	defer fake.Close()
	o := fake.Options()
	summary := c.stdout
	if c.json {
		summary = c.stderr
	}
	fmt.Fprintf(summary, "fake Zoom at %s: seed %d, %d users, %d meetings and %d webinars per user, %d past occurrences per recurring session, latency %v\n",
		fake.BaseURL(), o.Seed, o.Users, o.MeetingsPerUser, o.WebinarsPerUser, o.InstancesPerMeeting, o.Latency)

	cfg := map[string]any{
		"account_id": o.AccountID, "client_id": o.ClientID, "client_secret": o.ClientSecret,
		"authorization_endpoint": fake.TokenURL(), "api_base_url": fake.APIBaseURL(),
	}
	if c.concurrency > 0 {
		cfg["concurrency"] = c.concurrency
	}
	cfgPath := filepath.Join(tmp, "config.json")
	if err := writeJSON(cfgPath, cfg); err != nil {
		return err
	}
	cat, err := discover(ctx, bin, cfgPath, tmp)
	if err != nil {
		return err
	}
	catPath := filepath.Join(tmp, "catalog.json")
	if err := writeJSON(catPath, configure(cat, c.incremental)); err != nil {
		return err
	}

	syncs := 1
	if c.incremental {
		syncs = 2
	}
	var state []byte
	for i := 1; i <= syncs; i++ {
		mode := "full_refresh"
		if c.incremental {
			mode = "incremental"
		}
		label := fmt.Sprintf("sync %d of %d (%s", i, syncs, mode)
		if i == 2 {
			fake.AddSessions(c.addSessions)
			label += fmt.Sprintf(", from sync 1's state, after adding %d past session(s) to every meeting and webinar", c.addSessions)
		}
		label += ")"
		args := []string{"read", "--config", cfgPath, "--catalog", catPath}
		if state != nil {
			statePath := filepath.Join(tmp, "state.json")
			if err := os.WriteFile(statePath, state, 0o600); err != nil {
				return err
			}
			args = append(args, "--state", statePath)
		}
		fake.ResetStats()
		sum, err := read(ctx, c, bin, tmp, args)
		if err != nil {
			return err
		}
		sum.requests = fake.Stats()
		sum.print(summary, label, cat)
		if f := sum.failure(); f != "" {
			return fmt.Errorf("%s: the connector failed: %s", label, f)
		}
		state = sum.stateFile()
	}
	return nil
}

// build compiles the connector from the module containing the working
// directory.
func build(ctx context.Context, dir string) (string, error) {
	root, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
			break
		}
		up := filepath.Dir(root)
		if up == root {
			return "", errors.New("no go.mod here or above: run the demo inside the repository or pass -bin")
		}
		root = up
	}
	bin := filepath.Join(dir, "source-zoom")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, ".")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o600)
}

// discover runs the connector's discover and returns its catalog.
func discover(ctx context.Context, bin, cfg, dir string) (*protocol.Catalog, error) {
	cmd := exec.CommandContext(ctx, bin, "discover", "--config", cfg)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	for _, line := range bytes.Split(out, []byte("\n")) {
		var m protocol.Message
		if json.Unmarshal(line, &m) == nil && m.Type == protocol.TypeCatalog && m.Catalog != nil {
			return m.Catalog, nil
		}
	}
	return nil, fmt.Errorf("discover gave no catalog (%v): %s%s", err, stderr.Bytes(), out)
}

// configure selects every stream, incrementally where supported when
// incremental is set.
func configure(cat *protocol.Catalog, incremental bool) *protocol.ConfiguredCatalog {
	cc := &protocol.ConfiguredCatalog{}
	for _, s := range cat.Streams {
		cs := protocol.ConfiguredStream{Stream: s, SyncMode: protocol.FullRefresh, DestinationSyncMode: "overwrite", PrimaryKey: s.SourceDefinedPrimaryKey}
		if incremental && slices.Contains(s.SupportedSyncModes, protocol.Incremental) {
			cs.SyncMode, cs.DestinationSyncMode, cs.CursorField = protocol.Incremental, "append", s.DefaultCursorField
		}
		cc.Streams = append(cc.Streams, cs)
	}
	return cc
}

// streamSum is what one stream did in a sync.
type streamSum struct {
	records   int
	states    int
	lastState json.RawMessage // the last AirbyteStateMessage
	cursor    json.RawMessage // its stream_state
	status    string
	done      time.Duration // from the start of the read to COMPLETE/INCOMPLETE
}

// syncSum is what one read did.
type syncSum struct {
	elapsed  time.Duration
	code     int
	stderr   []byte
	streams  map[string]*streamSum
	logs     map[string]int // by level
	notable  []string       // WARN, ERROR and FATAL log lines
	errors   []string       // error traces
	bad      int            // stdout lines that are not Airbyte messages
	requests fakezoom.Stats
}

func (s *syncSum) stream(name string) *streamSum {
	if s.streams[name] == nil {
		s.streams[name] = &streamSum{}
	}
	return s.streams[name]
}

// read runs one read, piping its stdout through the summary (and to
// c.stdout with -json).
func read(ctx context.Context, c config, bin, dir string, args []string) (*syncSum, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	sum := &syncSum{streams: map[string]*streamSum{}, logs: map[string]int{}}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	var records atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	if c.progress {
		wg.Add(1)
		go func() {
			defer wg.Done()
			progress(c.stderr, &records, start, stop)
		}()
	}
	br := bufio.NewReaderSize(out, 1<<20)
	for {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 {
			if c.json {
				c.stdout.Write(line)
			}
			sum.add(bytes.TrimSuffix(line, []byte("\n")), time.Since(start), &records)
		}
		if err != nil {
			break
		}
	}
	werr := cmd.Wait()
	close(stop)
	wg.Wait()
	sum.elapsed = time.Since(start)
	sum.stderr = stderr.Bytes()
	var exit *exec.ExitError
	switch {
	case errors.As(werr, &exit):
		sum.code = exit.ExitCode()
	case werr != nil:
		return nil, werr
	}
	return sum, nil
}

// progress redraws one status line every 200 ms until stop closes.
func progress(w io.Writer, records *atomic.Int64, start time.Time, stop <-chan struct{}) {
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-stop:
			fmt.Fprint(w, "\r\033[K")
			return
		case <-t.C:
			el := time.Since(start)
			n := records.Load()
			fmt.Fprintf(w, "\r\033[K  %d records  %.1fs  %.0f records/s", n, el.Seconds(), float64(n)/el.Seconds())
		}
	}
}

// add accounts for one stdout line.
func (s *syncSum) add(line []byte, at time.Duration, records *atomic.Int64) {
	var m protocol.Message
	if err := json.Unmarshal(line, &m); err != nil {
		s.bad++
		return
	}
	switch {
	case m.Type == protocol.TypeRecord && m.Record != nil:
		s.stream(m.Record.Stream).records++
		records.Add(1)
	case m.Type == protocol.TypeState && m.State != nil && m.State.Stream != nil:
		st := s.stream(m.State.Stream.StreamDescriptor.Name)
		st.states++
		raw := *m.State
		raw.SourceStats = nil
		st.lastState, _ = json.Marshal(raw)
		st.cursor = m.State.Stream.StreamState
	case m.Type == protocol.TypeLog && m.Log != nil:
		s.logs[m.Log.Level]++
		switch m.Log.Level {
		case protocol.LevelWarn, protocol.LevelError, protocol.LevelFatal:
			s.notable = append(s.notable, m.Log.Level+" "+m.Log.Message)
		}
	case m.Type == protocol.TypeTrace && m.Trace != nil:
		switch {
		case m.Trace.StreamStatus != nil:
			st := s.stream(m.Trace.StreamStatus.StreamDescriptor.Name)
			st.status = m.Trace.StreamStatus.Status
			if st.status == protocol.StatusComplete || st.status == protocol.StatusIncomplete {
				st.done = at
			}
		case m.Trace.Error != nil:
			e := m.Trace.Error
			where := ""
			if e.StreamDescriptor != nil {
				where = e.StreamDescriptor.Name + ": "
			}
			s.errors = append(s.errors, fmt.Sprintf("%s%s (%s)", where, e.Message, e.FailureType))
		}
	}
}

// failure says why the read failed, "" if it did not.
func (s *syncSum) failure() string {
	var why []string
	if s.code != 0 {
		why = append(why, fmt.Sprintf("exit code %d", s.code))
	}
	if len(s.errors) > 0 {
		why = append(why, fmt.Sprintf("%d error traces", len(s.errors)))
	}
	var incomplete []string
	for name, st := range s.streams {
		if st.status != "" && st.status != protocol.StatusComplete {
			incomplete = append(incomplete, name)
		}
	}
	if len(incomplete) > 0 {
		sort.Strings(incomplete)
		why = append(why, "streams not COMPLETE: "+strings.Join(incomplete, ", "))
	}
	if s.bad > 0 {
		why = append(why, fmt.Sprintf("%d stdout lines that are not JSON", s.bad))
	}
	return strings.Join(why, "; ")
}

// stateFile is the --state file for the next sync: the last STATE of each
// stream.
func (s *syncSum) stateFile() []byte {
	names := make([]string, 0, len(s.streams))
	for n, st := range s.streams {
		if st.lastState != nil {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	states := make([]json.RawMessage, len(names))
	for i, n := range names {
		states[i] = s.streams[n].lastState
	}
	b, _ := json.Marshal(states)
	return b
}

var placeholder = regexp.MustCompile(`\{[^}]*\}`)

// endpoint normalises a path template: "/users/{user_id}/meetings" and the
// fake's "GET /users/{userId}/meetings" both become "/users/{}/meetings".
func endpoint(tmpl string) string {
	return placeholder.ReplaceAllString(strings.TrimPrefix(tmpl, "GET "), "{}")
}

// print writes the summary table.
func (s *syncSum) print(w io.Writer, label string, cat *protocol.Catalog) {
	byEndpoint := map[string]int64{}
	for k, n := range s.requests.ByEndpoint {
		if strings.HasPrefix(k, "GET ") {
			byEndpoint[endpoint(k)] += n
		}
	}
	paths := map[string]string{}
	var hidden []string
	for _, st := range streams.Table() {
		paths[st.Name] = endpoint(st.Path)
		if st.Hidden {
			hidden = append(hidden, st.Name)
		}
	}
	if paths["users"] == "" {
		paths["users"] = "/users"
	}
	type row struct{ name, records, requests, time, states, status, cursor string }
	var rows []row
	var records int
	var requests int64
	for _, cs := range cat.Streams {
		st := s.stream(cs.Name)
		req := byEndpoint[paths[cs.Name]]
		records += st.records
		requests += req
		rows = append(rows, row{cs.Name, fmt.Sprint(st.records), fmt.Sprint(req), seconds(st.done), fmt.Sprint(st.states), orDash(st.status), cursor(st.cursor)})
	}
	for _, h := range hidden {
		req := byEndpoint[paths[h]]
		requests += req
		rows = append(rows, row{"(" + h + ", parent)", "-", fmt.Sprint(req), "-", "-", "-", "-"})
	}
	token := s.requests.ByEndpoint["POST /oauth/token"]
	rows = append(rows, row{"(token)", "-", fmt.Sprint(token), "-", "-", "-", "-"})
	rows = append(rows, row{"TOTAL", fmt.Sprint(records), fmt.Sprint(s.requests.Requests), seconds(s.elapsed), "", "", ""})
	width := len("STREAM")
	for _, r := range rows {
		width = max(width, len(r.name))
	}
	fmt.Fprintf(w, "\n%s: exit %d in %s\n", label, s.code, s.elapsed.Round(time.Millisecond))
	line := func(r row) {
		fmt.Fprintf(w, "%-*s %8s %9s %7s %6s %-10s %s\n", width, r.name, r.records, r.requests, r.time, r.states, r.status, r.cursor)
	}
	line(row{"STREAM", "RECORDS", "REQUESTS", "TIME", "STATES", "STATUS", "CURSOR"})
	for _, r := range rows {
		line(r)
	}
	if other := s.requests.Requests - requests - token; other != 0 {
		fmt.Fprintf(w, "(%d requests to endpoints no stream maps to)\n", other)
	}
	fmt.Fprintf(w, "%.0f records/s; fake server: %d API requests, %d token requests, %d rate-limited, at most %d in flight\n",
		float64(records)/s.elapsed.Seconds(), s.requests.APIRequests, s.requests.TokenRequests, s.requests.RateLimited, s.requests.MaxConcurrent)

	levels := make([]string, 0, len(s.logs))
	total := 0
	for l, n := range s.logs {
		levels = append(levels, fmt.Sprintf("%s %d", l, n))
		total += n
	}
	sort.Strings(levels)
	fmt.Fprintf(w, "log lines: %d", total)
	if total > 0 {
		fmt.Fprintf(w, " (%s)", strings.Join(levels, ", "))
	}
	fmt.Fprintln(w)
	const maxShown = 20
	for i, l := range s.notable {
		if i == maxShown {
			fmt.Fprintf(w, "  ... and %d more\n", len(s.notable)-maxShown)
			break
		}
		fmt.Fprintf(w, "  %s\n", l)
	}
	for _, e := range s.errors {
		fmt.Fprintf(w, "ERROR TRACE %s\n", e)
	}
	if len(s.stderr) > 0 {
		fmt.Fprintf(w, "connector stderr:\n%s\n", s.stderr)
	}
}

func seconds(d time.Duration) string {
	if d == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2fs", d.Seconds())
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// cursor shows a final stream state compactly: "start_time=2026-10-23T23:52:27Z",
// "-" for an empty state, else the JSON.
func cursor(state json.RawMessage) string {
	var m map[string]json.RawMessage
	if json.Unmarshal(state, &m) != nil || len(m) == 0 {
		return "-"
	}
	if len(m) == 1 {
		for k, v := range m {
			var s string
			if json.Unmarshal(v, &s) == nil {
				return k + "=" + s
			}
		}
	}
	b := string(state)
	if len(b) > 60 {
		b = b[:60] + "…"
	}
	return b
}
