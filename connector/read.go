package connector

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/source-zoom/source-zoom/protocol"
)

// readStats counts what a read did; the counters are shared by workers.
type readStats struct {
	requests, retries, throttled atomic.Int64
}

// run is the state of one stream during a read.
type run struct {
	st       *Stream
	selected bool // in the configured catalog (else read only as a parent)
	incr     bool // configured incremental
	parent   *run
	children []*run
	depth    int
	prefix   []byte

	// lower bound of cursors read in incremental mode (zero: none);
	// lowerExcl makes it exclusive (it came from saved state).
	lower     time.Time
	lowerExcl bool
	// windowStart is where windowed listings begin.
	windowStart time.Time

	mu          sync.Mutex
	state       cursorState
	maxSeen     time.Time
	sinceState  int
	total       int64
	pending     int
	parentDone  bool
	finished    bool
	failed      error
	running     bool
	lastState   time.Time
	estimateSet bool
	// skips counts skipped partitions by reason; only the first few of
	// each reason are logged one by one, the rest in a summary at the end.
	skips map[string]int

	// paramPaths and paramKeys are, per Param, its Field split at dots and
	// its encoded `,"name":` prefix: computed once (paramsOnce), used per
	// parent record.
	paramsOnce sync.Once
	paramPaths [][]string
	paramKeys  [][]byte
}

// task is one partition of one stream: the values its parent record gave.
type task struct {
	r      *run
	key    string            // partition key ("" for a root stream)
	vals   map[string][]byte // param name → raw JSON value
	extra  []byte            // encoded fields added to each record
	cursor time.Time         // partition cursor, if the stream has one
	u      *url.URL
	// replay re-reads a partition that saved state marks done, only to
	// give the stream's children their partitions: its records are not
	// emitted again and its state is left as saved.
	replay bool
	// resumed marks a partition of a record-cursor stream that saved state
	// marks done (the sync was interrupted after it): it is read again, but
	// only its records after since (its saved cursor less the lookback) are
	// emitted, so records it gained meanwhile are not lost.
	resumed bool
	since   time.Time
	saved   time.Time
}

// admits reports whether a record with cursor ct of t's stream is emitted.
func (t *task) admits(ct time.Time) bool {
	if t.resumed && !ct.After(t.since) {
		return false
	}
	return t.r.after(ct)
}

// resume marks t as the re-read of a partition finished before an
// interruption with cursor saved (see task.resumed).
func (t *task) resume(saved time.Time, lookback time.Duration) {
	t.resumed, t.saved, t.since = true, saved, saved.Add(-lookback)
}

// reader runs one read.
type reader struct {
	src    *Source
	out    *protocol.Writer
	log    *slog.Logger
	req    *requester
	now    func() time.Time
	runs   []*run // every run, parents before children
	stats  readStats
	cancel context.CancelFunc

	qmu      sync.Mutex
	qcond    *sync.Cond
	queues   [][]*task // by depth; deeper first
	inflight int
	closed   bool
}

func (rd *reader) push(t *task) {
	rd.qmu.Lock()
	for len(rd.queues) <= t.r.depth {
		rd.queues = append(rd.queues, nil)
	}
	rd.queues[t.r.depth] = append(rd.queues[t.r.depth], t)
	rd.qmu.Unlock()
	rd.qcond.Signal()
}

// pop returns the next task, deepest first, or nil when the read is over.
func (rd *reader) pop() *task {
	rd.qmu.Lock()
	defer rd.qmu.Unlock()
	for {
		for d := len(rd.queues) - 1; d >= 0; d-- {
			if q := rd.queues[d]; len(q) > 0 {
				t := q[0]
				q[0] = nil
				rd.queues[d] = q[1:]
				rd.inflight++
				return t
			}
		}
		if rd.inflight == 0 || rd.closed {
			rd.closed = true
			rd.qcond.Broadcast()
			return nil
		}
		rd.qcond.Wait()
	}
}

func (rd *reader) taskDone() {
	rd.qmu.Lock()
	rd.inflight--
	rd.qmu.Unlock()
	rd.qcond.Broadcast()
}

// execute reads one partition completely and settles it.
func (rd *reader) execute(ctx context.Context, t *task) {
	r := t.r
	r.mu.Lock()
	failed := r.failed != nil
	r.mu.Unlock()
	if failed || ctx.Err() != nil {
		if !failed {
			rd.fail(r, interruptedError(r))
		}
		rd.settle(t, false, time.Time{})
		return
	}
	maxCursor, err := rd.readPartition(ctx, t)
	if err == nil {
		rd.settle(t, true, maxCursor)
		return
	}
	var re *ruleError
	if errors.As(err, &re) && re.Action == ActionSkip {
		reason := re.Reason
		if reason == "" {
			reason = "skipped by error rule"
		}
		stream := r.st.Name
		if r.st.Hidden {
			stream += " (parent of " + strings.Join(r.descendants(), ", ") + ")"
		}
		r.mu.Lock()
		if r.skips == nil {
			r.skips = map[string]int{}
		}
		r.skips[reason]++
		n := r.skips[reason]
		r.mu.Unlock()
		if n <= skipsLogged {
			rd.log.Info("skipping partition: "+reason, "stream", stream, "partition", t.key, "status", re.Status, "code", re.Code, "message", re.Message)
		}
		rd.settle(t, true, maxCursor)
		return
	}
	if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		// The stream is not complete: it must neither report COMPLETE nor
		// fold its finished partitions into its cursor.
		rd.fail(r, interruptedError(r))
		rd.settle(t, false, time.Time{})
		return
	}
	// Fail before cancelling, so that the cause, not the interruption it
	// causes, is the error of the stream.
	rd.fail(r, fmt.Errorf("stream %q: %w", r.st.Name, err))
	if errors.As(err, &re) && re.Action == ActionFailSync {
		rd.cancel()
	}
	rd.settle(t, false, time.Time{})
}

func interruptedError(r *run) error {
	return &TransientError{Err: fmt.Errorf("stream %q: the sync was interrupted before it finished", r.st.Name)}
}

// skipsLogged is how many skipped partitions of one stream and reason are
// logged one by one; a large account may skip thousands (every meeting
// without registration), which would drown the log.
const skipsLogged = 5

// fail marks r and its descendants failed (the first error wins).
func (rd *reader) fail(r *run, err error) {
	r.mu.Lock()
	first := r.failed == nil
	if first {
		r.failed = err
	}
	r.mu.Unlock()
	if !first {
		return
	}
	for _, c := range r.children {
		rd.fail(c, fmt.Errorf("stream %q: its parent stream %q failed: %w", c.st.Name, r.st.Name, unwrapStream(err)))
	}
}

func unwrapStream(err error) error {
	if u := errors.Unwrap(err); u != nil {
		return u
	}
	return err
}

// settle records the end of a partition: its state when it succeeded, and
// the stream's completion when it was the last one.
func (rd *reader) settle(t *task, ok bool, maxCursor time.Time) {
	r := t.r
	r.mu.Lock()
	r.pending--
	if ok && r.incr && !t.replay {
		v := maxCursor
		if r.st.Incremental.PartitionCursor != "" {
			v = t.cursor
		}
		if t.resumed && t.saved.After(v) {
			v = t.saved
		}
		if v.IsZero() {
			v = r.state.Cursor
		}
		r.state.Partitions[t.key] = v
		if v.After(r.maxSeen) {
			r.maxSeen = v
		}
		if r.selected && rd.now().Sub(r.lastState) >= time.Second {
			rd.emitStateLocked(r)
		}
	}
	r.mu.Unlock()
	rd.maybeFinish(r)
}

// emitStateLocked prints r's STATE with the records counted since the last.
func (rd *reader) emitStateLocked(r *run) {
	var blob json.RawMessage
	if r.incr {
		blob = r.state.marshal(r.st.Incremental.CursorField)
	} else {
		blob = json.RawMessage(`{}`)
	}
	_ = rd.out.Send(&protocol.Message{Type: protocol.TypeState, State: &protocol.State{
		Type:        protocol.StateStream,
		Stream:      &protocol.StreamState{StreamDescriptor: protocol.StreamDescriptor{Name: r.st.Name}, StreamState: blob},
		SourceStats: &protocol.StateStats{RecordCount: float64(r.sinceState)},
	}})
	r.sinceState = 0
	r.lastState = rd.now()
}

// maybeFinish completes r when its parent is complete and no partition is
// pending, then lets its children know.
func (rd *reader) maybeFinish(r *run) {
	r.mu.Lock()
	if r.finished || r.pending > 0 || !r.parentDone {
		r.mu.Unlock()
		return
	}
	r.finished = true
	for reason, n := range r.skips {
		if n > skipsLogged {
			rd.log.Info(fmt.Sprintf("skipped %d partitions in all (%d more than logged above): %s", n, n-skipsLogged, reason), "stream", r.st.Name)
		}
	}
	if r.failed == nil && r.incr {
		// Fold the finished partitions, those of saved state included,
		// into the cursor.
		for _, v := range r.state.Partitions {
			if v.After(r.maxSeen) {
				r.maxSeen = v
			}
		}
		if r.maxSeen.After(r.state.Cursor) {
			r.state.Cursor = r.maxSeen
		}
		r.state.Partitions = map[string]time.Time{}
	}
	if r.selected {
		rd.emitStateLocked(r)
		status := protocol.StatusComplete
		if r.failed != nil {
			status = protocol.StatusIncomplete
		}
		rd.streamStatus(r.st.Name, status)
	}
	r.mu.Unlock()
	for _, c := range r.children {
		c.mu.Lock()
		c.parentDone = true
		c.mu.Unlock()
		rd.maybeFinish(c)
	}
}

func (rd *reader) streamStatus(name, status string) {
	_ = rd.out.Send(&protocol.Message{Type: protocol.TypeTrace, Trace: &protocol.Trace{
		Type: protocol.TraceStreamStatus, EmittedAt: float64(rd.now().UnixMilli()),
		StreamStatus: &protocol.StreamStatus{StreamDescriptor: protocol.StreamDescriptor{Name: name}, Status: status},
	}})
}

// readPartition fetches every page (and window) of one partition, emits its
// records and queues its children's partitions. It returns the highest
// record cursor it saw.
func (rd *reader) readPartition(ctx context.Context, t *task) (time.Time, error) {
	r := t.r
	inc := r.st.Incremental
	if inc == nil || inc.Window <= 0 {
		return rd.listing(ctx, t, t.u)
	}
	var maxCursor time.Time
	for _, w := range windows(rd.windowFrom(t), rd.now(), inc) {
		u := *t.u
		q := u.Query()
		q.Set(inc.FromParam, w[0])
		q.Set(inc.ToParam, w[1])
		u.RawQuery = q.Encode()
		m, err := rd.listing(ctx, t, &u)
		if m.After(maxCursor) {
			maxCursor = m
		}
		if err != nil {
			return maxCursor, err
		}
	}
	return maxCursor, nil
}

func (rd *reader) windowFrom(t *task) time.Time {
	r := t.r
	from := r.windowStart
	if r.incr && !r.lower.IsZero() && r.lower.After(from) {
		from = r.lower
	}
	if t.resumed && t.since.After(from) {
		from = t.since
	}
	return from
}

// windows splits [from, now] into windows of inc.Window, formatted in
// inc.WindowLayout. A date-only layout gives inclusive days.
func windows(from, now time.Time, inc *Incremental) [][2]string {
	layout := inc.WindowLayout
	if layout == "" {
		layout = time.RFC3339
	}
	var out [][2]string
	dateOnly := !strings.Contains(layout, ":") // no time of day in the layout
	if dateOnly {
		day := func(t time.Time) time.Time {
			y, m, d := t.UTC().Date()
			return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
		}
		end := day(now)
		days := int(inc.Window / (24 * time.Hour))
		if days < 1 {
			days = 1
		}
		for s := day(from); !s.After(end); {
			e := s.AddDate(0, 0, days-1)
			if e.After(end) {
				e = end
			}
			out = append(out, [2]string{s.Format(layout), e.Format(layout)})
			s = e.AddDate(0, 0, 1)
		}
		return out
	}
	for s := from.UTC(); s.Before(now); s = s.Add(inc.Window) {
		e := s.Add(inc.Window)
		if e.After(now) {
			e = now
		}
		out = append(out, [2]string{s.Format(layout), e.Format(layout)})
	}
	return out
}

// listing pages through one listing. On an ActionRestart error it starts
// again from the first page, skipping the records it already handled.
func (rd *reader) listing(ctx context.Context, t *task, base *url.URL) (time.Time, error) {
	r := t.r
	pag := r.st.Paginator
	if pag == nil {
		if r.st.recordsAt() == WholeBody || rd.src.Paginator == nil {
			pag = SinglePage{}
		} else {
			pag = rd.src.Paginator
		}
	}
	size := rd.src.PageSize
	if size <= 0 {
		size = 100
	}
	var maxCursor time.Time
	handled := 0 // records handled in this listing, kept across restarts
	restarts := 0
restart:
	pager := pag.Begin(size)
	seen := 0
	for page := 0; ; page++ {
		u := *base
		pager.Apply(&u)
		pg, err := rd.req.get(ctx, r.st, &u)
		if err != nil {
			var re *ruleError
			if errors.As(err, &re) && re.Action == ActionRestart && restarts < 3 {
				restarts++
				rd.log.Info("restarting listing: "+re.Message, "stream", r.st.Name, "partition", t.key, "already_emitted", handled)
				goto restart
			}
			return maxCursor, err
		}
		if page == 0 && r.parent == nil && r.st.Estimate != "" && r.selected && !t.replay {
			rd.estimate(r, pg.Body)
		}
		n, m, err := rd.handlePage(t, pg, seen, handled)
		if m.After(maxCursor) {
			maxCursor = m
		}
		pg.Records = n
		seen += n
		if seen > handled {
			handled = seen
		}
		if err != nil {
			return maxCursor, err
		}
		more, err := pager.Advance(pg)
		if err != nil {
			return maxCursor, err
		}
		if !more {
			return maxCursor, nil
		}
		if ctx.Err() != nil {
			return maxCursor, ctx.Err()
		}
	}
}

func (rd *reader) estimate(r *run, body []byte) {
	v, ok := path(body, strings.Split(r.st.Estimate, "."))
	if !ok {
		return
	}
	var n int64
	if json.Unmarshal(v, &n) != nil || n <= 0 {
		return
	}
	_ = rd.out.Send(&protocol.Message{Type: protocol.TypeTrace, Trace: &protocol.Trace{
		Type: protocol.TraceEstimate, EmittedAt: float64(rd.now().UnixMilli()),
		Estimate: &protocol.Estimate{Name: r.st.Name, Type: "STREAM", RowEstimate: n},
	}})
}

// handlePage selects the records of a page, emits those the stream wants
// and queues child partitions. Records whose index in the listing is below
// skip were handled before a restart and are passed over. It returns the
// number of records on the page and the highest cursor emitted.
func (rd *reader) handlePage(t *task, pg *Page, first, skip int) (int, time.Time, error) {
	r := t.r
	var maxCursor time.Time
	var buf []byte
	if r.selected {
		buf = rd.out.Buffer()
	}
	emitted := 0
	now := rd.now().UnixMilli()
	idx := first
	var children []*task
	each := func(rec []byte) error {
		i := idx
		idx++
		if len(rec) == 0 || rec[0] != '{' {
			return fmt.Errorf("record %d of %s is %s, not a JSON object", i, sanitizeURL(pg.URL), describe(rec))
		}
		if i < skip {
			return nil
		}
		for _, c := range r.children {
			if ct := rd.childTask(c, t, rec); ct != nil {
				children = append(children, ct)
			}
		}
		if !r.selected || t.replay {
			return nil
		}
		if r.incr && r.st.Incremental.PartitionCursor == "" {
			if v, ok := member(rec, r.st.Incremental.CursorField); ok {
				if ct, err := parseTime(scalarString(v)); err == nil {
					if !t.admits(ct) {
						return nil
					}
					if ct.After(maxCursor) {
						maxCursor = ct
					}
				}
			}
		}
		buf = protocol.AppendRecord(buf, r.prefix, now, rec, t.extra)
		emitted++
		return nil
	}
	var err error
	body := bytes.TrimSpace(pg.Body)
	if at := r.st.recordsAt(); at == WholeBody {
		if len(body) > 0 && body[0] == '[' {
			err = eachElement(body, each)
		} else {
			err = each(body)
		}
	} else if len(body) == 0 || body[0] != '{' {
		err = fmt.Errorf("%s: the response is %s, not an object with the records under %q", sanitizeURL(pg.URL), describe(body), at)
	} else if arr, ok := pathHead(body, strings.Split(at, ".")); ok && !bytes.HasPrefix(arr, []byte("null")) {
		// arr runs to the end of the body: eachElement stops at its closing
		// bracket, which saves a pass over the records to find it.
		if len(arr) == 0 || arr[0] != '[' {
			err = fmt.Errorf("%s: %q is %s, not an array of records", sanitizeURL(pg.URL), at, describe(arr))
		} else {
			err = eachElement(arr, each)
		}
	}
	if emitted > 0 {
		r.mu.Lock()
		if !r.running {
			r.running = true
			rd.streamStatus(r.st.Name, protocol.StatusRunning)
		}
		werr := rd.out.WriteLines(buf)
		r.sinceState += emitted
		r.total += int64(emitted)
		r.mu.Unlock()
		if werr != nil {
			return idx - first, maxCursor, werr
		}
	}
	for _, c := range children {
		rd.push(c)
	}
	return idx - first, maxCursor, err
}

func isNull(v []byte) bool { return len(v) == 4 && string(v) == "null" }

func describe(v []byte) string {
	if len(v) == 0 {
		return "empty"
	}
	switch v[0] {
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 'n':
		return "null"
	case 't', 'f':
		return "a boolean"
	case '{':
		return "an object"
	}
	return "a number"
}

// descendants names the selected streams that depend on r.
func (r *run) descendants() []string {
	var out []string
	for _, c := range r.children {
		if c.selected {
			out = append(out, c.st.Name)
		}
		out = append(out, c.descendants()...)
	}
	return out
}

// after reports whether cursor t is past r's lower bound.
func (r *run) after(t time.Time) bool {
	if r.lower.IsZero() {
		return true
	}
	if r.lowerExcl {
		return t.After(r.lower)
	}
	return !t.Before(r.lower)
}

// childTask builds the partition of child stream c for parent record rec,
// or nil when incremental state says it is already read.
func (rd *reader) childTask(c *run, parent *task, rec []byte) *task {
	c.paramsOnce.Do(func() {
		for _, p := range c.st.Params {
			name, _ := json.Marshal(p.Name)
			c.paramPaths = append(c.paramPaths, strings.Split(p.Field, "."))
			c.paramKeys = append(c.paramKeys, append(append([]byte{','}, name...), ':'))
		}
	})
	vals := make(map[string][]byte, len(c.st.Params))
	var extra []byte
	for i, p := range c.st.Params {
		v, ok := path(rec, c.paramPaths[i])
		if !ok {
			v, ok = parent.vals[p.Field]
		}
		if !ok || isNull(v) {
			v = []byte("null")
		}
		vals[p.Name] = v
		if p.Add {
			extra = append(extra, c.paramKeys[i]...)
			if p.AsString && len(v) > 0 && v[0] != '"' && !isNull(v) {
				s, _ := json.Marshal(string(v))
				extra = append(extra, s...)
			} else {
				extra = append(extra, v...)
			}
		}
	}
	t := &task{r: c, vals: vals, extra: extra}
	t.key = partitionKey(c.st, vals)
	if inc := c.st.Incremental; inc != nil && inc.PartitionCursor != "" {
		if ct, err := parseTime(scalarString(vals[inc.PartitionCursor])); err == nil {
			t.cursor = ct
		}
	}
	c.mu.Lock()
	if c.failed != nil {
		c.mu.Unlock()
		return nil
	}
	if c.incr {
		if saved, done := c.state.Partitions[t.key]; done && c.st.Incremental.PartitionCursor == "" {
			t.resume(saved, rd.src.Lookback)
		} else if done {
			if len(c.children) == 0 {
				c.mu.Unlock()
				return nil
			}
			t.replay = true // its children may not be done
		} else if c.st.Incremental.PartitionCursor != "" && !t.cursor.IsZero() && !c.after(t.cursor) {
			c.mu.Unlock()
			return nil
		}
	}
	u, err := rd.resolve(c.st, vals)
	if err != nil {
		c.mu.Unlock()
		// fail marks c's own children failed too.
		rd.fail(c, fmt.Errorf("stream %q: %w", c.st.Name, err))
		return nil
	}
	t.u = u
	c.pending++
	c.mu.Unlock()
	return t
}

// partitionKey is the key of a partition in state: the values of the
// params used in the stream's path and query, joined by "|".
func partitionKey(st *Stream, vals map[string][]byte) string {
	var b strings.Builder
	for _, p := range st.Params {
		if !st.usesPlaceholder(p.Name) {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('|')
		}
		b.WriteString(scalarString(vals[p.Name]))
	}
	return b.String()
}

// resolve builds the URL of a partition from the stream's path and query.
func (rd *reader) resolve(st *Stream, vals map[string][]byte) (*url.URL, error) {
	enc := map[string]func(string) string{}
	for _, p := range st.Params {
		if p.Encode != nil {
			enc[p.Name] = p.Encode
		}
	}
	fill := func(s string, path bool) (string, error) {
		for _, ph := range placeholders(s) {
			raw, ok := vals[ph]
			v := scalarString(raw)
			if !ok || v == "" {
				return "", fmt.Errorf("parent record has no value for {%s}", ph)
			}
			if path {
				if e := enc[ph]; e != nil {
					v = e(v)
				} else {
					v = url.PathEscape(v)
				}
			}
			s = strings.Replace(s, "{"+ph+"}", v, 1)
		}
		return s, nil
	}
	p, err := fill(st.path(), true)
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(strings.TrimRight(rd.src.BaseURL, "/") + p)
	if err != nil {
		return nil, fmt.Errorf("build URL: %w", err)
	}
	if len(st.Query) > 0 {
		q := u.Query()
		for k, vs := range st.Query {
			for _, v := range vs {
				fv, err := fill(v, false)
				if err != nil {
					return nil, err
				}
				q.Add(k, fv)
			}
		}
		u.RawQuery = q.Encode()
	}
	return u, nil
}
