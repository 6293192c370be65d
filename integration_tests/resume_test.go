package integration_tests

// Interrupted and resumed syncs (SIGTERM, SIGKILL at several moments), and
// the incremental state shapes the connector reads.
//
//	go test ./integration_tests -run TestResume -v

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/source-zoom/source-zoom/connector"
	"github.com/source-zoom/source-zoom/integration_tests/fakezoom"
	"github.com/source-zoom/source-zoom/integration_tests/harness"
	"github.com/source-zoom/source-zoom/protocol"
)

// resumeLookback is the connector's default lookback_window_days (1).
const resumeLookback = 24 * time.Hour

// resumeOptions is a fake account whose sync lasts a few seconds.
var resumeOptions = fakezoom.Options{Seed: 91, Users: 3, Latency: 20 * time.Millisecond}

// partitionField names the record field holding the partition key of an
// incremental stream's state.
func partitionField(stream string) string {
	switch {
	case stream == "past_meeting_instances":
		return "meeting_id"
	case stream == "report_user_meetings" || stream == "recordings":
		return "user_id"
	case strings.HasPrefix(stream, "webinar_") || strings.HasPrefix(stream, "report_webinar"):
		return "webinar_uuid"
	}
	return "meeting_uuid"
}

// fieldText is a record field as text (strings unquoted, numbers as written).
func fieldText(rec json.RawMessage, field string) string {
	var m map[string]json.RawMessage
	if json.Unmarshal(rec, &m) != nil {
		return ""
	}
	v := m[field]
	var s string
	if json.Unmarshal(v, &s) == nil {
		return s
	}
	return string(v)
}

// savedState is the cursor and finished partitions of a stream state.
type savedState struct {
	Cursor     time.Time
	Partitions map[string]time.Time
}

// recordCursorStreams filter records by their own cursor: a resumed sync
// reads their finished partitions again for what they gained meanwhile,
// emitting only records after the partition's saved cursor less the
// lookback. The other incremental streams never re-read a finished
// partition (a past session).
var recordCursorStreams = map[string]bool{"past_meeting_instances": true, "recordings": true, "report_user_meetings": true}

func parseSaved(blob json.RawMessage, field string) (savedState, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(blob, &m); err != nil {
		return savedState{}, err
	}
	out := savedState{Partitions: map[string]time.Time{}}
	if v, ok := m[field]; ok {
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return out, err
		}
		t, err := connector.ParseTime(s)
		if err != nil {
			return out, err
		}
		out.Cursor = t
	}
	if v, ok := m["partitions"]; ok {
		var ps map[string]string
		if err := json.Unmarshal(v, &ps); err != nil {
			return out, err
		}
		for k, v := range ps {
			t, err := connector.ParseTime(v)
			if err != nil {
				return out, err
			}
			out.Partitions[k] = t
		}
	}
	return out, nil
}

// checkResumed checks an interrupted sync r1 and its resumption r2 (run
// with r1's last states): together they hold every incremental record;
// r2 alone holds every full-refresh record; a record read by both belongs
// to a partition r1's last state did not mark finished, or lies within the
// lookback of r1's cursor. It returns the number of such duplicates.
func checkResumed(t *testing.T, cat *protocol.Catalog, want map[string][]json.RawMessage, r1, r2 *harness.Result) int {
	t.Helper()
	inc := harness.Incremental(cat)
	got1, got2 := r1.Records(), r2.Records()
	states := r1.States()
	dups := 0
	for _, s := range relNames(cat) {
		field, ok := inc[s]
		if !ok {
			harness.SameRecords(t, relOnly(want, s), relOnly(got2, s))
			continue
		}
		harness.SameRecords(t, relOnly(relDedup(want), s), relOnly(relDedup(got1, got2), s))
		var saved savedState
		if st := states[s]; len(st) > 0 {
			var err error
			if saved, err = parseSaved(st[len(st)-1].Blob, field); err != nil {
				t.Errorf("stream %s: last state %s: %v", s, st[len(st)-1].Blob, err)
				continue
			}
		}
		in1 := harness.Count(got1[s])
		bad := 0
		for _, rec := range got2[s] {
			c, _ := harness.Canonical(rec)
			if in1[c] == 0 {
				continue
			}
			dups++
			key := fieldText(rec, partitionField(s))
			if p, done := saved.Partitions[key]; done {
				if ct, err := connector.ParseTime(fieldText(rec, field)); err == nil && recordCursorStreams[s] && ct.After(p.Add(-resumeLookback)) {
					continue // within the lookback of its partition's saved cursor
				}
				bad++
				if bad <= 3 {
					t.Errorf("stream %s: sync 2 re-read partition %s that sync 1's last state marks finished: %s", s, key, relClip(rec))
				}
				continue
			}
			if !saved.Cursor.IsZero() {
				ct, err := connector.ParseTime(fieldText(rec, field))
				if err != nil || ct.Before(saved.Cursor.Add(-resumeLookback)) {
					bad++
					if bad <= 3 {
						t.Errorf("stream %s: sync 2 re-read a record older than sync 1's cursor %s less the lookback: %s", s, saved.Cursor.Format(time.RFC3339), relClip(rec))
					}
				}
			}
		}
	}
	return dups
}

// TestResumeSIGTERM stops a sync with SIGTERM mid-way: the process exits
// non-zero within 5 s, every line is valid, the last STATE of every stream
// follows its records, unfinished streams end INCOMPLETE; a sync resumed
// from those states completes the data.
func TestResumeSIGTERM(t *testing.T) {
	t.Parallel()
	cat := relCatalog(t)
	f := relStart(t, resumeOptions, nil)
	cfg := f.config(t, map[string]any{"concurrency": 4})
	catalog := harness.WriteCatalog(t, cat, nil, true)
	want := harness.Expected(f.Server)
	const after = 150
	p := relStartProc(t, "read", "--config", cfg, "--catalog", catalog)
	if !p.readLines(after) {
		t.Fatalf("the sync ended after %d lines, before the signal", p.lines)
	}
	sent := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	r1, _ := p.finish(10 * time.Second)
	exited := time.Since(sent)
	if exited > 5*time.Second {
		t.Errorf("exited %v after SIGTERM, want within 5 s", exited)
	}
	if r1.Code <= 0 {
		t.Errorf("exit code %d after SIGTERM, want non-zero (not killed)", r1.Code)
	}
	if len(r1.Stderr) != 0 {
		t.Errorf("stderr: %s", r1.Stderr)
	}
	names := relNames(cat)
	relLastStateAfterRecords(t, r1, names)
	incomplete := 0
	for _, s := range names {
		st := r1.Statuses(s)
		if len(st) == 0 {
			t.Errorf("stream %s: no status", s)
			continue
		}
		switch st[len(st)-1] {
		case "INCOMPLETE":
			incomplete++
		case "COMPLETE":
		default:
			t.Errorf("stream %s ends with status %s", s, st[len(st)-1])
		}
	}
	if incomplete == 0 {
		t.Errorf("no stream INCOMPLETE after SIGTERM mid-sync")
	}
	errs := r1.Errors()
	if len(errs) == 0 || errs[len(errs)-1].FailureType() != "transient_error" {
		t.Errorf("no transient_error trace after SIGTERM")
	}
	r2, d2 := relRead(t, cfg, catalog, r1.LastStates())
	relOK(t, "sync 2", r2)
	dups := checkResumed(t, cat, want, r1, r2)
	relFigures(t, "SIGTERM after %d lines read: exit %d %v after the signal, %d lines, %d records, %d of %d streams INCOMPLETE; resumed sync: exit %d in %v, %d records, %d read twice (in-flight partitions and lookback); union = expected %d records",
		after, r1.Code, exited.Round(time.Millisecond), len(r1.Msgs), relCount(r1.Records()), incomplete, len(names), r2.Code, d2.Round(time.Millisecond), relCount(r2.Records()), dups, relCount(want))
}

// TestResumeSIGKILL kills a sync at several moments (after N lines of
// stdout, read as they come) and resumes it from the last STATE printed per
// stream: the union of both syncs covers every incremental record, the
// second alone every full-refresh record, and records are read twice only
// for partitions in flight at the kill or within the lookback.
func TestResumeSIGKILL(t *testing.T) {
	t.Parallel()
	cat := relCatalog(t)
	catalog := harness.WriteCatalog(t, cat, nil, true)
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 1))
	total := relCount(harness.Expected(relStart(t, resumeOptions, nil).Server))
	moments := []int{1, 40, 300, 1 + rng.IntN(total/2), total/2 + rng.IntN(total/2)}
	t.Logf("kill moments (lines) %v; random seed %d", moments, seed)
	for _, n := range moments {
		t.Run(fmt.Sprintf("after_%d_lines", n), func(t *testing.T) {
			t.Parallel()
			f := relStart(t, resumeOptions, nil)
			cfg := f.config(t, map[string]any{"concurrency": 4})
			want := harness.Expected(f.Server)
			p := relStartProc(t, "read", "--config", cfg, "--catalog", catalog)
			finished := !p.readLines(n)
			if !finished {
				_ = p.cmd.Process.Signal(syscall.SIGKILL)
			}
			r1, d1 := p.finish(30 * time.Second)
			if finished {
				t.Logf("the sync ended (exit %d) before line %d", r1.Code, n)
			} else if r1.Code != -int(syscall.SIGKILL) && r1.Code != 0 {
				t.Errorf("exit %d, want killed", r1.Code)
			}
			r2, d2 := relRead(t, cfg, catalog, r1.LastStates())
			relOK(t, "sync 2", r2)
			dups := checkResumed(t, cat, want, r1, r2)
			withState := 0
			for _, st := range r1.States() {
				if len(st) > 0 {
					withState++
				}
			}
			relFigures(t, "killed after %d lines read (%v): %d lines kept, %d records, %d streams with a STATE; resumed: exit %d in %v, %d records, %d read twice; union = expected %d records",
				n, d1.Round(time.Millisecond), len(r1.Msgs), relCount(r1.Records()), withState, r2.Code, d2.Round(time.Millisecond), relCount(r2.Records()), dups, relCount(want))
		})
	}
}

// stateMsg is a STREAM state message.
func stateMsg(stream string, blob any) map[string]any {
	return map[string]any{"type": "STREAM", "stream": map[string]any{"stream_descriptor": map[string]any{"name": stream}, "stream_state": blob}}
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestResumeFutureState: cursors far in the future (per-stream, GLOBAL and
// legacy shapes) give no incremental record, full-refresh streams in full,
// exit 0, and the cursors are kept.
func TestResumeFutureState(t *testing.T) {
	t.Parallel()
	cat := relCatalog(t)
	f := relStart(t, fakezoom.Options{Seed: 92, Users: 2}, nil)
	cfg := f.config(t, nil)
	catalog := harness.WriteCatalog(t, cat, nil, true)
	inc := harness.Incremental(cat)
	const future = "2099-01-01T00:00:00Z"
	var stream []any
	var global []any
	legacy := map[string]any{}
	for s, field := range inc {
		blob := map[string]any{field: future}
		stream = append(stream, stateMsg(s, blob))
		global = append(global, map[string]any{"stream_descriptor": map[string]any{"name": s}, "stream_state": blob})
		legacy[s] = blob
	}
	want := harness.Expected(f.Server)
	for _, tc := range []struct {
		name  string
		state any
	}{
		{"STREAM", stream},
		{"GLOBAL", []any{map[string]any{"type": "GLOBAL", "global": map[string]any{"shared_state": map[string]any{}, "stream_states": global}}}},
		{"legacy", legacy},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, d := relRead(t, cfg, catalog, mustMarshal(t, tc.state))
			relOK(t, "read", r)
			got := r.Records()
			n := 0
			for _, s := range relNames(cat) {
				field, ok := inc[s]
				if !ok {
					harness.SameRecords(t, relOnly(want, s), relOnly(got, s))
					n += len(got[s])
					continue
				}
				if len(got[s]) > 0 {
					t.Errorf("stream %s: %d records with a cursor in 2099: %s", s, len(got[s]), relClip(got[s][0]))
				}
				st := r.States()[s]
				if len(st) == 0 {
					t.Errorf("stream %s: no STATE", s)
					continue
				}
				if c, err := parseSaved(st[len(st)-1].Blob, field); err != nil || c.Cursor.Format(time.RFC3339) != future {
					t.Errorf("stream %s: last state %s, want the cursor %s kept", s, st[len(st)-1].Blob, future)
				}
				if sts := r.Statuses(s); len(sts) == 0 || sts[len(sts)-1] != "COMPLETE" {
					t.Errorf("stream %s: statuses %v", s, sts)
				}
			}
			relFigures(t, "exit %d in %v; incremental records 0, full-refresh records %d/%d", r.Code, d.Round(time.Millisecond), n, n)
		})
	}
}

// TestResumeStateShapes: a state of unknown shape or another stream's
// state is a config_error naming the stream; the legacy single-object
// shape and a GLOBAL state are read and filter as their cursors say.
func TestResumeStateShapes(t *testing.T) {
	t.Parallel()
	cat := relCatalog(t)
	f := relStart(t, fakezoom.Options{Seed: 93, Users: 2}, nil)
	cfg := f.config(t, nil)

	t.Run("refused", func(t *testing.T) {
		for _, tc := range []struct {
			name   string
			stream string
			state  string
			want   []string
		}{
			{"unknown shape", "report_meetings", `[{"type":"STREAM","stream":{"stream_descriptor":{"name":"report_meetings"},"stream_state":{"foo":1}}}]`, []string{`"report_meetings"`, "foo"}},
			{"another stream's state", "report_meeting_participants", `[{"type":"STREAM","stream":{"stream_descriptor":{"name":"report_meeting_participants"},"stream_state":{"start_time":"2026-10-01T00:00:00Z"}}}]`, []string{`"report_meeting_participants"`, "start_time", "meeting_start_time"}},
			{"legacy unknown shape", "report_meetings", `{"report_meetings":{"foo":1}}`, []string{`"report_meetings"`, "foo"}},
			{"GLOBAL unknown shape", "report_meetings", `{"type":"GLOBAL","global":{"stream_states":[{"stream_descriptor":{"name":"report_meetings"},"stream_state":{"cursor":"x"}}]}}`, []string{`"report_meetings"`, "cursor"}},
			{"state not an object", "report_meetings", `{"report_meetings":"2026-10-01T00:00:00Z"}`, []string{`"report_meetings"`}},
			{"another connector's state", "recordings", `{"recordings":{"start_time":"2026-10-01T00:00:00Z","next_page_token":"abc"}}`, []string{`"recordings"`, "next_page_token"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r, _ := relRead(t, cfg, harness.WriteCatalog(t, cat, []string{tc.stream}, true), []byte(tc.state))
				relConfigError(t, r, tc.want...)
			})
		}
	})

	// A cursor two months before the fake's clock.
	cursor := f.Now().AddDate(0, -2, 0).UTC().Truncate(time.Second)
	cs := cursor.Format(time.RFC3339)
	streams := []string{"past_meeting_instances", "report_meetings", "recordings"}
	catalog := harness.WriteCatalog(t, cat, streams, true)
	inc := harness.Incremental(cat)
	all := harness.Expected(f.Server)
	want := map[string][]json.RawMessage{}
	older := 0
	for _, s := range streams {
		want[s] = []json.RawMessage{}
		for _, rec := range all[s] {
			ct, err := connector.ParseTime(fieldText(rec, inc[s]))
			if err != nil {
				t.Fatalf("stream %s: record without cursor: %s", s, rec)
			}
			if ct.After(cursor.Add(-resumeLookback)) {
				want[s] = append(want[s], rec)
			} else {
				older++
			}
		}
	}
	if older == 0 {
		t.Fatalf("no record before the cursor %s: the test proves nothing", cs)
	}
	legacy := map[string]any{}
	var global []any
	for _, s := range streams {
		legacy[s] = map[string]any{inc[s]: cs}
		global = append(global, map[string]any{"stream_descriptor": map[string]any{"name": s}, "stream_state": map[string]any{inc[s]: cs}})
	}
	for _, tc := range []struct {
		name  string
		state any
	}{
		{"legacy object", legacy},
		{"legacy message", map[string]any{"type": "LEGACY", "data": legacy}},
		{"GLOBAL message", map[string]any{"type": "GLOBAL", "global": map[string]any{"shared_state": map[string]any{"x": 1}, "stream_states": global}}},
		{"GLOBAL in an array", []any{map[string]any{"type": "GLOBAL", "global": map[string]any{"stream_states": global}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, d := relRead(t, cfg, catalog, mustMarshal(t, tc.state))
			relOK(t, "read", r)
			harness.SameRecords(t, want, r.Records())
			for _, s := range streams {
				st := r.States()[s]
				if len(st) == 0 || r.Statuses(s)[len(r.Statuses(s))-1] != "COMPLETE" {
					t.Errorf("stream %s: no STATE or not COMPLETE", s)
				}
			}
			relFigures(t, "cursor %s less 1 day lookback: records %d/%d (of %d without state), exit %d in %v",
				cs, relCount(r.Records()), relCount(want), relCount(relOnly(all, streams...)), r.Code, d.Round(time.Millisecond))
		})
	}
}

// TestResumeNewDataBetweenRuns: a sync interrupted mid-way, then new
// sessions (AddSessions: spread over the last days, like a resume several
// days later), then the resumed sync and one more: the three together must
// hold every record.
//
// Partitions of a record-cursor stream (past_meeting_instances per
// meeting, recordings and report_user_meetings per user) that the
// interrupted sync finished are read again by the resumed one, which emits
// only their records after the saved partition cursor less the lookback:
// what they gained in between is not lost.
func TestResumeNewDataBetweenRuns(t *testing.T) {
	t.Parallel()
	cat := relCatalog(t)
	streams := []string{"past_meeting_instances", "recordings", "report_user_meetings", "report_meetings"}
	catalog := harness.WriteCatalog(t, cat, streams, true)
	f := relStart(t, fakezoom.Options{Seed: 94, Users: 6, Latency: 30 * time.Millisecond}, nil)
	cfg := f.config(t, map[string]any{"concurrency": 2})
	p := relStartProc(t, "read", "--config", cfg, "--catalog", catalog)
	if !p.readLines(40) {
		t.Fatal("the sync ended before the signal")
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	r1, _ := p.finish(10 * time.Second)
	f.AddSessions(12) // sessions over the last ~2 days before the fake's clock
	want := harness.Expected(f.Server)
	r2, _ := relRead(t, cfg, catalog, r1.LastStates())
	relOK(t, "resumed sync", r2)
	r3, _ := relRead(t, cfg, catalog, r2.LastStates())
	relOK(t, "next sync", r3)
	union := relDedup(r1.Records(), r2.Records(), r3.Records())
	for _, s := range streams {
		harness.SameRecords(t, relOnly(relDedup(want), s), relOnly(union, s))
	}
}
