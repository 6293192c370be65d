package connector

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/source-zoom/source-zoom/protocol"
)

// ReportedError wraps errors already printed as TRACE messages, so callers
// only set the exit code.
type ReportedError struct{ Err error }

func (e *ReportedError) Error() string { return e.Err.Error() }
func (e *ReportedError) Unwrap() error { return e.Err }

// Read reads the configured streams and writes their records, states and
// traces to out. state maps stream names to saved stream states (from
// ParseState). Streams fail independently; the returned error says which
// failed and is a *ReportedError once they were printed as TRACE errors.
func (s *Source) Read(ctx context.Context, out *protocol.Writer, log *slog.Logger, cat *protocol.ConfiguredCatalog, state map[string]json.RawMessage) error {
	if err := s.Validate(); err != nil {
		return fmt.Errorf("stream table: %w", err)
	}
	parent := ctx // rd.cancel (ActionFailSync) is not an interruption
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	rd := &reader{src: s, out: out, log: log, now: s.Now, cancel: cancel}
	if rd.now == nil {
		rd.now = time.Now
	}
	rd.qcond = sync.NewCond(&rd.qmu)
	if err := rd.plan(cat, state); err != nil {
		return err
	}
	rd.req = newRequester(s, log, &rd.stats)
	rd.req.onRateLimited = rd.rateLimited()

	for _, r := range rd.runs {
		if r.selected {
			rd.streamStatus(r.st.Name, protocol.StatusStarted)
		}
	}
	for _, r := range rd.runs {
		if r.parent != nil {
			continue
		}
		r.parentDone = true
		t := &task{r: r}
		if r.incr {
			if saved, done := r.state.Partitions[""]; done && r.st.Incremental.PartitionCursor == "" {
				t.resume(saved, s.Lookback)
			} else if done {
				if len(r.children) == 0 {
					rd.maybeFinish(r)
					continue
				}
				t.replay = true // read again for its children only
			}
		}
		u, err := rd.resolve(r.st, nil)
		if err != nil {
			return fmt.Errorf("stream %q: %w", r.st.Name, err)
		}
		t.u = u
		r.pending = 1
		rd.push(t)
	}
	workers := s.Concurrency
	if workers <= 0 {
		workers = 8
	}
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for t := rd.pop(); t != nil; t = rd.pop() {
				rd.safeExecute(ctx, t)
				rd.taskDone()
			}
		}()
	}
	wg.Wait()

	interrupted := parent.Err() != nil
	var failed []string
	var firstErr error
	for _, r := range rd.runs {
		r.mu.Lock()
		if !r.finished {
			if r.failed == nil {
				r.failed = interruptedError(r)
			}
			r.finished = true
			if r.selected {
				rd.emitStateLocked(r)
				rd.streamStatus(r.st.Name, protocol.StatusIncomplete)
			}
		}
		err := r.failed
		r.mu.Unlock()
		if err == nil || !r.selected {
			continue
		}
		failed = append(failed, r.st.Name)
		if firstErr == nil {
			firstErr = err
		}
		if interrupted {
			continue
		}
		rd.traceError(r.st.Name, err)
	}
	if interrupted {
		err := &TransientError{Err: errors.New("the sync was interrupted (signal or cancellation); the last STATE of each stream marks where a new sync resumes")}
		return err
	}
	if len(failed) > 0 {
		return &ReportedError{Err: fmt.Errorf("%d of the selected streams failed (%s); first error: %w", len(failed), strings.Join(failed, ", "), firstErr)}
	}
	return nil
}

// safeExecute runs one task; a panic fails the task's stream (reported as
// a system_error) instead of crashing the process.
func (rd *reader) safeExecute(ctx context.Context, t *task) {
	defer func() {
		if p := recover(); p != nil {
			rd.log.Error("internal error", "stream", t.r.st.Name, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			rd.fail(t.r, fmt.Errorf("stream %q: internal error: %v", t.r.st.Name, p))
			rd.settle(t, false, time.Time{})
		}
	}()
	rd.execute(ctx, t)
}

func (rd *reader) traceError(stream string, err error) {
	msg := err.Error()
	var rl *RateLimitError
	if errors.As(err, &rl) {
		msg = fmt.Sprintf("stream %q stopped: %s; run the sync again after %s to continue from the saved state", stream, rl.Error(), rl.Reset.UTC().Format(time.RFC3339))
	}
	ft := FailureType(err)
	if rl != nil {
		ft = protocol.TransientError
	}
	_ = rd.out.Send(&protocol.Message{Type: protocol.TypeTrace, Trace: &protocol.Trace{
		Type: protocol.TraceError, EmittedAt: float64(rd.now().UnixMilli()),
		Error: &protocol.TraceErr{Message: msg, InternalMessage: msg, FailureType: ft,
			StreamDescriptor: &protocol.StreamDescriptor{Name: stream}},
	}})
}

// rateLimited returns the callback that reports waits on 429s as RUNNING
// stream statuses with a RATE_LIMITED reason, at most every 10 s a stream.
func (rd *reader) rateLimited() func(string, time.Time) {
	var mu sync.Mutex
	last := map[string]time.Time{}
	selected := map[string]bool{}
	for _, r := range rd.runs {
		selected[r.st.Name] = r.selected
	}
	return func(stream string, until time.Time) {
		if !selected[stream] {
			return
		}
		mu.Lock()
		if rd.now().Sub(last[stream]) < 10*time.Second {
			mu.Unlock()
			return
		}
		last[stream] = rd.now()
		mu.Unlock()
		_ = rd.out.Send(&protocol.Message{Type: protocol.TypeTrace, Trace: &protocol.Trace{
			Type: protocol.TraceStreamStatus, EmittedAt: float64(rd.now().UnixMilli()),
			StreamStatus: &protocol.StreamStatus{
				StreamDescriptor: protocol.StreamDescriptor{Name: stream}, Status: protocol.StatusRunning,
				Reasons: []protocol.StreamStatusReason{{Type: "RATE_LIMITED", RateLimited: &protocol.RateLimitedReason{QuotaReset: until.UnixMilli()}}},
			},
		}})
	}
}

// plan checks the catalog against the table and builds the runs: the
// selected streams and every ancestor they need.
func (rd *reader) plan(cat *protocol.ConfiguredCatalog, state map[string]json.RawMessage) error {
	s := rd.src
	if cat == nil || len(cat.Streams) == 0 {
		return Configf("catalog: no streams selected")
	}
	byName := map[string]*run{}
	var mk func(st *Stream) *run
	mk = func(st *Stream) *run {
		if r, ok := byName[st.Name]; ok {
			return r
		}
		r := &run{st: st, state: cursorState{Partitions: map[string]time.Time{}}, prefix: protocol.RecordPrefix(st.Name)}
		byName[st.Name] = r
		if st.Parent != "" {
			r.parent = mk(s.stream(st.Parent))
			r.parent.children = append(r.parent.children, r)
			r.depth = r.parent.depth + 1
		}
		return r
	}
	now := rd.now()
	for i, cs := range cat.Streams {
		name := cs.Stream.Name
		st := s.stream(name)
		if st == nil || st.Hidden {
			return Configf("catalog: streams[%d]: unknown stream %q (run discover for the list of streams)", i, name)
		}
		if cs.Stream.Namespace != "" {
			return Configf("catalog: stream %q: this source has no namespaces, got %q", name, cs.Stream.Namespace)
		}
		if r, ok := byName[name]; ok && r.selected {
			return Configf("catalog: stream %q is selected twice", name)
		}
		r := mk(st)
		r.selected = true
		switch cs.SyncMode {
		case protocol.FullRefresh:
		case protocol.Incremental:
			if st.Incremental == nil {
				return Configf("catalog: stream %q does not support incremental sync; select full_refresh", name)
			}
			r.incr = true
			if len(cs.CursorField) > 0 && !slices.Equal(cs.CursorField, []string{st.Incremental.CursorField}) {
				return Configf("catalog: stream %q: the cursor is source-defined (%q); cursor_field %q does not exist for it", name, st.Incremental.CursorField, strings.Join(cs.CursorField, "."))
			}
		default:
			return Configf("catalog: stream %q: unknown sync_mode %q (want full_refresh or incremental)", name, cs.SyncMode)
		}
	}
	var ignored []string
	for name := range state {
		if r, ok := byName[name]; !ok || !r.selected {
			ignored = append(ignored, name)
		}
	}
	if len(ignored) > 0 {
		sort.Strings(ignored)
		rd.log.Info("ignoring saved state of streams not selected in the catalog", "streams", strings.Join(ignored, ","))
	}
	// Order: parents before children, in table order.
	for i := range s.Streams {
		if r, ok := byName[s.Streams[i].Name]; ok {
			rd.runs = append(rd.runs, r)
		}
	}
	sort.SliceStable(rd.runs, func(i, j int) bool { return rd.runs[i].depth < rd.runs[j].depth })
	for _, r := range rd.runs {
		inc := r.st.Incremental
		if inc == nil {
			continue
		}
		maxAge := inc.MaxAge
		if maxAge <= 0 && inc.Window > 0 {
			maxAge = 180 * 24 * time.Hour
		}
		if maxAge > 0 {
			r.windowStart = now.Add(-maxAge)
		}
		if !r.incr {
			continue
		}
		cs, err := parseCursorState(r.st.Name, inc.CursorField, state[r.st.Name])
		if err != nil {
			return err
		}
		r.state = cs
		fromStart := false
		switch {
		case !cs.Cursor.IsZero():
			r.lower, r.lowerExcl = cs.Cursor.Add(-s.Lookback), true
			if s.StartDate.After(r.lower) {
				r.lower, r.lowerExcl = s.StartDate, false
			}
		case !s.StartDate.IsZero():
			r.lower, fromStart = s.StartDate, true
		}
		if maxAge > 0 && !r.lower.IsZero() && r.lower.Before(r.windowStart) {
			if fromStart {
				rd.log.Warn(fmt.Sprintf("start_date %s is older than the API serves for stream %q; starting at %s instead", s.StartDate.Format(time.RFC3339), r.st.Name, r.windowStart.Format("2006-01-02")))
			}
			r.lower, r.lowerExcl = r.windowStart, false
		}
	}
	return nil
}
