package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/source-zoom/source-zoom/integration_tests/fakezoom"
	"github.com/source-zoom/source-zoom/protocol"
)

// Limits is the connector's "rate_limits" config object.
type Limits struct {
	Light  float64 `json:"light_per_second,omitempty"`
	Medium float64 `json:"medium_per_second,omitempty"`
	Heavy  float64 `json:"heavy_per_second,omitempty"`
}

// Result is what one run of the connector measured.
type Result struct {
	Scenario string `json:"scenario"`
	About    string `json:"about"`

	Wall time.Duration `json:"wall_ns"` // read process, start to exit
	// HarnessCPU is the CPU time of this process (fake server and output
	// drain) during the read: when it and CPU fill the cores, the fake
	// server shares the bound on records/s.
	HarnessCPU time.Duration    `json:"harness_cpu_ns"`
	CPU        time.Duration    `json:"cpu_ns"`       // user + system time of the read process
	UserCPU    time.Duration    `json:"user_cpu_ns"`  //
	SysCPU     time.Duration    `json:"sys_cpu_ns"`   //
	MaxRSSKiB  int64            `json:"max_rss_kib"`  // peak resident set of the read process
	ExitCode   int              `json:"exit_code"`    //
	OutBytes   int64            `json:"stdout_bytes"` //
	Records    int64            `json:"records"`      // RECORD lines
	ByStream   map[string]int64 `json:"records_by_stream"`
	States     int64            `json:"states"`           // STATE lines
	Complete   int              `json:"streams_complete"` // STREAM_STATUS COMPLETE
	Selected   int              `json:"streams_selected"`
	Sampled    int64            `json:"records_validated"`  // records decoded and checked in full
	Problems   []string         `json:"problems,omitempty"` // invalid output, failed streams, ...
	StderrTail string           `json:"stderr_tail,omitempty"`

	Fake  fakezoom.Stats `json:"fake_stats"`
	Audit auditSnapshot  `json:"audit"`
	Users int            `json:"users"`

	Checks []CheckResult `json:"checks"`
}

// Requests is the number of API requests the fake server answered.
func (r *Result) Requests() int64 { return r.Fake.APIRequests }

// RecordsPerSecond over the wall time of the read.
func (r *Result) RecordsPerSecond() float64 { return float64(r.Records) / r.Wall.Seconds() }

// RequestsPerSecond over the wall time of the read.
func (r *Result) RequestsPerSecond() float64 { return float64(r.Requests()) / r.Wall.Seconds() }

// CPUPerMillion is CPU-seconds of the read process per million records.
func (r *Result) CPUPerMillion() float64 {
	if r.Records == 0 {
		return 0
	}
	return r.CPU.Seconds() / float64(r.Records) * 1e6
}

// ThrottledShare is the fraction of API requests answered 429.
func (r *Result) ThrottledShare() float64 {
	if r.Requests() == 0 {
		return 0
	}
	return float64(r.Fake.RateLimited) / float64(r.Requests())
}

// MinTime is the shortest time the limits allow for the requests that
// counted against them: max over categories of requests_c / limit_c, and
// the category that binds. Zero without limits.
func MinTime(accepted map[string]int64, limits map[string]int) (time.Duration, string) {
	var best float64
	bind := ""
	for _, c := range categories {
		l := limits[c]
		if l <= 0 {
			continue
		}
		t := float64(accepted[c]) / float64(l)
		if t > best {
			best, bind = t, c
		}
	}
	return time.Duration(best * float64(time.Second)), bind
}

// RateRatio is the achieved share of the request rate the limits allow:
// MinTime / wall (1 = as fast as the limits permit).
func (r *Result) RateRatio(limits map[string]int) float64 {
	t, _ := MinTime(r.Audit.Accepted, limits)
	return t.Seconds() / r.Wall.Seconds()
}

// Options of a run besides the scenario.
type RunOptions struct {
	Bin     string    // connector binary
	Log     io.Writer // progress; nil = none
	Stderr  io.Writer // the connector's stderr as it comes; nil = keep a tail only
	Timeout time.Duration
}

// Run starts the fake server with the scenario's knobs, runs the connector's
// discover and then read with every stream selected, drains and checks its
// output, and returns the measurements with the scenario's checks done.
func Run(ctx context.Context, sc Scenario, o RunOptions) (*Result, error) {
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	logf := func(format string, a ...any) {
		if o.Log != nil {
			fmt.Fprintf(o.Log, format+"\n", a...)
		}
	}

	fake := fakezoom.New(sc.Fake)
	aud := newAudit(fake.Handler())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	hs := &http.Server{Handler: aud, ReadHeaderTimeout: 30 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	defer func() {
		fake.Close() // releases sleeping handlers
		_ = hs.Close()
	}()
	base := "http://" + ln.Addr().String()

	dir, err := os.MkdirTemp("", "sz-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	cfg := map[string]any{
		"account_id": "fake-account", "client_id": "fake-client", "client_secret": "fake-secret",
		"authorization_endpoint": base + "/oauth/token", "api_base_url": base + "/v2",
	}
	if sc.Concurrency > 0 {
		cfg["concurrency"] = sc.Concurrency
	}
	if sc.ConfigLimits != nil {
		cfg["rate_limits"] = sc.ConfigLimits
	}
	cfgPath := filepath.Join(dir, "config.json")
	if err := writeJSON(cfgPath, cfg); err != nil {
		return nil, err
	}
	cat, err := discover(ctx, o.Bin, cfgPath)
	if err != nil {
		return nil, err
	}
	catPath := filepath.Join(dir, "catalog.json")
	if err := writeJSON(catPath, fullRefresh(cat)); err != nil {
		return nil, err
	}

	fake.ResetStats()
	aud.reset()
	logf("%s: reading %d streams (%s)", sc.Name, len(cat.Streams), sc.About)
	res := &Result{Scenario: sc.Name, About: sc.About, Selected: len(cat.Streams), Users: fake.Options().Users}
	cmd := exec.CommandContext(ctx, o.Bin, "read", "--config", cfgPath, "--catalog", catPath)
	cmd.WaitDelay = 5 * time.Second
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	tail := &tailBuffer{max: 16 << 10}
	if o.Stderr != nil {
		cmd.Stderr = io.MultiWriter(tail, o.Stderr)
	} else {
		cmd.Stderr = tail
	}
	streams := map[string]bool{}
	for _, s := range cat.Streams {
		streams[s.Name] = true
	}
	selfBefore := selfCPU()
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", o.Bin, err)
	}
	derr := drain(stdout, streams, res)
	if derr != nil {
		// Stop reading: let the process die of a broken pipe or the kill.
		_ = cmd.Process.Kill()
	}
	werr := cmd.Wait()
	res.Wall = time.Since(start)
	res.HarnessCPU = selfCPU() - selfBefore
	res.StderrTail = tail.String()
	if ps := cmd.ProcessState; ps != nil {
		res.ExitCode = ps.ExitCode()
		res.UserCPU, res.SysCPU = ps.UserTime(), ps.SystemTime()
		res.CPU = res.UserCPU + res.SysCPU
		if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
			res.MaxRSSKiB = int64(ru.Maxrss) // KiB on Linux
		}
	}
	res.Fake = fake.Stats()
	res.Audit = aud.snapshot()
	if derr != nil {
		return res, fmt.Errorf("reading the connector's output: %w", derr)
	}
	if werr != nil {
		var ee *exec.ExitError
		if !errors.As(werr, &ee) {
			return res, werr
		}
		res.Problems = append(res.Problems, fmt.Sprintf("read exited with %v", werr))
	}
	if ctx.Err() != nil {
		return res, fmt.Errorf("run stopped after %s: %w", o.Timeout, ctx.Err())
	}
	if res.Complete != res.Selected {
		res.Problems = append(res.Problems, fmt.Sprintf("%d of %d streams reported COMPLETE", res.Complete, res.Selected))
	}
	for tmpl, n := range res.Audit.Unknown {
		res.Problems = append(res.Problems, fmt.Sprintf("%d requests to %s, an endpoint the benchmark does not know", n, tmpl))
	}
	if sc.Expected {
		res.Problems = append(res.Problems, compareCounts(res.ByStream, fake)...)
	}
	res.Checks = evaluate(sc, res)
	return res, nil
}

// selfCPU is the user + system CPU time this process has used.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// discover runs the connector's discover and returns its catalog.
func discover(ctx context.Context, bin, cfg string) (*protocol.Catalog, error) {
	cmd := exec.CommandContext(ctx, bin, "discover", "--config", cfg)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("discover: %w: %s", err, truncate(stderr.String(), 500))
	}
	for _, line := range bytes.Split(out, []byte("\n")) {
		var m protocol.Message
		if json.Unmarshal(line, &m) == nil && m.Type == protocol.TypeCatalog && m.Catalog != nil {
			return m.Catalog, nil
		}
	}
	return nil, fmt.Errorf("discover printed no CATALOG: %s", truncate(string(out), 500))
}

// fullRefresh selects every stream of cat in full_refresh/overwrite.
func fullRefresh(cat *protocol.Catalog) map[string]any {
	var streams []map[string]any
	for _, s := range cat.Streams {
		streams = append(streams, map[string]any{
			"stream":                s,
			"sync_mode":             protocol.FullRefresh,
			"destination_sync_mode": "overwrite",
		})
	}
	return map[string]any{"streams": streams}
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o600)
}

var recordPrefix = []byte(`{"type":"RECORD","record":{"stream":"`)

// sampleEvery is how often a RECORD line is decoded and checked in full
// (besides the first of each stream); the others are only counted.
const sampleEvery = 509

// drain reads the connector's stdout to the end, counting RECORD lines per
// stream, decoding a sample of them and every other message.
func drain(r io.Reader, streams map[string]bool, res *Result) error {
	br := bufio.NewReaderSize(r, 1<<20)
	counts := map[string]*int64{}
	var long []byte
	var n int64
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			long = append(long, line...)
			continue
		}
		if long != nil {
			line = append(long, line...)
			long = nil
		}
		res.OutBytes += int64(len(line))
		if len(line) > 0 {
			if perr := checkLine(line, streams, counts, &n, res); perr != nil {
				return perr
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
	}
	res.ByStream = map[string]int64{}
	for k, v := range counts {
		res.ByStream[k] = *v
	}
	return nil
}

func checkLine(line []byte, streams map[string]bool, counts map[string]*int64, n *int64, res *Result) error {
	if line[len(line)-1] != '\n' {
		return fmt.Errorf("last line has no newline: %s", truncate(string(line), 200))
	}
	if rest, ok := bytes.CutPrefix(line, recordPrefix); ok {
		end := bytes.IndexByte(rest, '"')
		if end < 0 {
			return fmt.Errorf("bad RECORD line: %s", truncate(string(line), 200))
		}
		c := counts[string(rest[:end])] // no allocation for the lookup
		first := c == nil
		if first {
			if !streams[string(rest[:end])] {
				return fmt.Errorf("RECORD of stream %q, not in the catalog", rest[:end])
			}
			c = new(int64)
			counts[string(rest[:end])] = c
		}
		*c++
		res.Records++
		*n++
		if !first && *n%sampleEvery != 0 {
			return nil
		}
	}
	var m protocol.Message
	if err := json.Unmarshal(line, &m); err != nil {
		return fmt.Errorf("line is not an Airbyte message: %v: %s", err, truncate(string(line), 200))
	}
	switch m.Type {
	case protocol.TypeRecord:
		if m.Record == nil || !streams[m.Record.Stream] || len(m.Record.Data) == 0 || m.Record.Data[0] != '{' || m.Record.EmittedAt <= 0 {
			return fmt.Errorf("invalid RECORD: %s", truncate(string(line), 300))
		}
		if !bytes.HasPrefix(line, recordPrefix) {
			return fmt.Errorf("RECORD not in the writer's layout (not counted): %s", truncate(string(line), 200))
		}
		var data map[string]any
		if err := json.Unmarshal(m.Record.Data, &data); err != nil || len(data) == 0 {
			return fmt.Errorf("RECORD data is not a non-empty object: %s", truncate(string(line), 300))
		}
		res.Sampled++
	case protocol.TypeState:
		res.States++
	case protocol.TypeTrace:
		if t := m.Trace; t != nil {
			if t.StreamStatus != nil && t.StreamStatus.Status == protocol.StatusComplete {
				res.Complete++
			}
			if t.Error != nil {
				res.Problems = append(res.Problems, "TRACE error: "+truncate(t.Error.Message, 300))
			}
		}
	case protocol.TypeLog:
		if m.Log != nil && (m.Log.Level == protocol.LevelError || m.Log.Level == protocol.LevelFatal) {
			res.Problems = append(res.Problems, "LOG "+m.Log.Level+": "+truncate(m.Log.Message, 300))
		}
	}
	return nil
}

// compareCounts checks the records per stream against what the fake server
// says a complete sync emits (small sizes only: Expected materialises all).
func compareCounts(got map[string]int64, fake *fakezoom.Server) []string {
	var out []string
	for stream, recs := range fake.Expected() {
		if got[stream] != int64(len(recs)) {
			out = append(out, fmt.Sprintf("stream %s: %d records, the fake server expects %d", stream, got[stream], len(recs)))
		}
	}
	return out
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = append(t.b[:0], t.b[len(t.b)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.TrimSpace(string(t.b))
}
