package protocol

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/source-zoom/source-zoom/protocol/protocoltest"
)

// recorder is an io.Writer that keeps everything written to it.
type recorder struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	writes int
}

func (r *recorder) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.writes++
	return r.buf.Write(p)
}

func (r *recorder) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.buf.String()
}

func (r *recorder) Bytes() []byte { return []byte(r.String()) }

func logMsg(s string) *Message {
	return &Message{Type: TypeLog, Log: &Log{Level: LevelInfo, Message: s}}
}

func stateMsg(stream string, n int) *Message {
	return &Message{Type: TypeState, State: &State{
		Type:        StateStream,
		Stream:      &StreamState{StreamDescriptor: StreamDescriptor{Name: stream}, StreamState: json.RawMessage(`{}`)},
		SourceStats: &StateStats{RecordCount: float64(n)},
	}}
}

func traceMsg(msg string) *Message {
	return &Message{Type: TypeTrace, Trace: &Trace{Type: TraceError, EmittedAt: 1, Error: &TraceErr{Message: msg, FailureType: SystemError}}}
}

func statusMsg(msg string) *Message {
	return &Message{Type: TypeConnectionStatus, ConnectionStatus: &ConnectionStatus{Status: "FAILED", Message: msg}}
}

func record(stream string, data string) []byte {
	return AppendRecord(nil, RecordPrefix(stream), 1714575600000, []byte(data), nil)
}

func TestWriterConcurrent(t *testing.T) {
	rec := &recorder{}
	w := NewWriter(rec, nil)
	const goroutines, rounds, perChunk = 16, 150, 5
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			prefix := RecordPrefix(fmt.Sprintf("s%d", g))
			for i := range rounds {
				buf := w.Buffer()
				for k := range perChunk {
					data := fmt.Sprintf(`{"g":%d,"i":%d,"k":%d,"pad":%q}`, g, i, k, strings.Repeat("x", (g*i+k)%300))
					buf = AppendRecord(buf, prefix, int64(i), []byte(data), []byte(fmt.Sprintf(`,"extra":%d`, k)))
				}
				if err := w.WriteLines(buf); err != nil {
					t.Error(err)
					return
				}
				var err error
				switch {
				case i%25 == 0:
					err = w.Send(stateMsg(fmt.Sprintf("s%d", g), perChunk))
				case i%10 == 0:
					err = w.Send(logMsg(fmt.Sprintf("g%d i%d", g, i)))
				case i%37 == 0:
					err = w.Send(&Message{Type: TypeTrace, Trace: &Trace{Type: TraceStreamStatus, EmittedAt: 1,
						StreamStatus: &StreamStatus{StreamDescriptor: StreamDescriptor{Name: fmt.Sprintf("s%d", g)}, Status: StatusRunning}}})
				}
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	msgs := protocoltest.CheckOutput(t, rec.Bytes())
	next := make([]int, goroutines) // next expected i*perChunk+k per goroutine
	states := 0
	for _, m := range msgs {
		switch m.Type {
		case TypeRecord:
			var d struct{ G, I, K, Extra int }
			if err := json.Unmarshal(m.RecordData(), &d); err != nil {
				t.Fatalf("line %d: %v", m.Line, err)
			}
			if m.RecordStream() != fmt.Sprintf("s%d", d.G) || d.Extra != d.K {
				t.Fatalf("line %d: record of another stream or lost extra: %s", m.Line, m.Raw)
			}
			if got := d.I*perChunk + d.K; got != next[d.G] {
				t.Fatalf("line %d: goroutine %d: record %d, want %d (lost or reordered)", m.Line, d.G, got, next[d.G])
			}
			next[d.G]++
		case TypeState:
			states++
		}
	}
	for g, n := range next {
		if n != rounds*perChunk {
			t.Errorf("goroutine %d: %d records, want %d", g, n, rounds*perChunk)
		}
	}
	if want := goroutines * ((rounds + 24) / 25); states != want {
		t.Errorf("%d states, want %d", states, want)
	}
}

// TestSendFlushes: STATE, TRACE and CONNECTION_STATUS reach the output,
// with everything queued before them, by the time Send returns; LOG does not
// force a flush.
func TestSendFlushes(t *testing.T) {
	for _, tc := range []struct {
		name string
		m    *Message
	}{
		{"STATE", stateMsg("users", 1)},
		{"TRACE", traceMsg("boom")},
		{"CONNECTION_STATUS", statusMsg("nope")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{}
			start := time.Now()
			w := NewWriter(rec, nil)
			defer w.Close()
			if err := w.WriteLines(record("users", `{"id":1}`)); err != nil {
				t.Fatal(err)
			}
			if err := w.Send(logMsg("before")); err != nil {
				t.Fatal(err)
			}
			time.Sleep(50 * time.Millisecond)
			if got := rec.String(); got != "" && time.Since(start) < flushEvery {
				t.Fatalf("LOG forced a flush: %q", got)
			}
			if err := w.Send(tc.m); err != nil {
				t.Fatal(err)
			}
			got := rec.String() // no waiting: Send has returned
			lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
			if len(lines) != 3 || !strings.Contains(lines[0], `"RECORD"`) || !strings.Contains(lines[1], `"before"`) || !strings.Contains(lines[2], `"`+tc.name+`"`) {
				t.Fatalf("after Send(%s) returned the output is:\n%s", tc.name, got)
			}
			protocoltest.CheckOutput(t, []byte(got))
		})
	}
}

func TestPeriodicFlush(t *testing.T) {
	rec := &recorder{}
	start := time.Now()
	w := NewWriter(rec, nil)
	defer w.Close()
	line := record("users", `{"id":1}`)
	if err := w.WriteLines(append([]byte(nil), line...)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	if rec.String() != "" && time.Since(start) < flushEvery-100*time.Millisecond {
		t.Fatalf("records flushed at once, not buffered")
	}
	deadline := time.Now().Add(3 * flushEvery)
	for rec.String() == "" {
		if time.Now().After(deadline) {
			t.Fatalf("records not flushed within %s", 3*flushEvery)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if rec.String() != string(line) {
		t.Fatalf("flushed %q, want %q", rec.String(), line)
	}
	// And again while records keep flowing.
	first := time.Now()
	for i := 0; rec.String() == string(line); i++ {
		if time.Since(first) > 3*flushEvery {
			t.Fatalf("second batch not flushed within %s", 3*flushEvery)
		}
		if err := w.WriteLines(record("users", fmt.Sprintf(`{"id":%d}`, i+2))); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("second flush %s after the first", time.Since(first).Round(10*time.Millisecond))
}

func TestCloseFlushes(t *testing.T) {
	rec := &recorder{}
	w := NewWriter(rec, nil)
	var want bytes.Buffer
	for i := range 1000 {
		l := record("users", fmt.Sprintf(`{"id":%d}`, i))
		want.Write(l)
		if err := w.WriteLines(l); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Send(logMsg("last")); err != nil {
		t.Fatal(err)
	}
	want.WriteString(`{"type":"LOG","log":{"level":"INFO","message":"last"}}` + "\n")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if rec.String() != want.String() {
		t.Fatalf("output after Close differs: got %d bytes, want %d", len(rec.String()), want.Len())
	}
	protocoltest.CheckOutput(t, rec.Bytes())
	// Close is idempotent; sending afterwards fails.
	if err := w.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := w.Send(logMsg("late")); err == nil {
		t.Fatal("Send after Close: no error")
	}
	if err := w.WriteLines(record("users", `{"id":1}`)); err == nil {
		t.Fatal("WriteLines after Close: no error")
	}
	if err := w.WriteLines(nil); err != nil {
		t.Fatalf("WriteLines(nil): %v", err)
	}
}

// TestCloseRacesSend: senders that race Close get nil or an error, never a
// panic (send on closed channel).
func TestCloseRacesSend(t *testing.T) {
	for range 100 {
		w := NewWriter(io.Discard, nil)
		var wg sync.WaitGroup
		for g := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					var err error
					switch (g + i) % 3 {
					case 0:
						err = w.Send(logMsg("x"))
					case 1:
						err = w.Send(stateMsg("users", 0))
					default:
						err = w.WriteLines(record("users", `{"id":1}`))
					}
					if err != nil {
						return
					}
				}
			}()
		}
		time.Sleep(time.Millisecond)
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		wg.Wait()
	}
}

type failWriter struct{ n atomic.Int32 }

func (f *failWriter) Write(p []byte) (int, error) {
	f.n.Add(1)
	return 0, errors.New("broken pipe")
}

func TestWriteError(t *testing.T) {
	w := NewWriter(&failWriter{}, nil)
	err := w.Send(stateMsg("users", 0))
	if err == nil || !strings.Contains(err.Error(), "broken pipe") {
		t.Fatalf("Send(STATE) to a broken output: %v", err)
	}
	if w.Err() == nil {
		t.Fatal("Err() = nil after a write error")
	}
	if err := w.WriteLines(record("users", `{"id":1}`)); err == nil {
		t.Fatal("WriteLines after a write error: no error")
	}
	if err := w.Close(); err == nil || !strings.Contains(err.Error(), "broken pipe") {
		t.Fatalf("Close = %v, want the write error", err)
	}
}

func TestSendUnencodable(t *testing.T) {
	w := NewWriter(io.Discard, nil)
	defer w.Close()
	err := w.Send(&Message{Type: TypeSpec, Spec: json.RawMessage(`{bad`)})
	if err == nil {
		t.Fatal("Send of invalid raw JSON: no error")
	}
}

// TestBackpressure: with an output nobody reads, senders block after a
// bounded number of chunks (the queue plus what the buffer holds) instead
// of queueing everything in memory; once the output drains, every line
// arrives intact.
func TestBackpressure(t *testing.T) {
	pr, pw := io.Pipe()
	w := NewWriter(pw, nil)
	const chunkSize = 256 << 10
	const total = 400
	pad := `"` + strings.Repeat("x", chunkSize-100) + `"`
	var sent atomic.Int64
	senderDone := make(chan error, 1)
	go func() {
		prefix := RecordPrefix("users")
		for i := range total {
			buf := AppendRecord(w.Buffer(), prefix, 1, []byte(fmt.Sprintf(`{"i":%d,"pad":%s}`, i, pad)), nil)
			if err := w.WriteLines(buf); err != nil {
				senderDone <- err
				return
			}
			sent.Add(1)
		}
		senderDone <- nil
	}()

	// Wait until the sender stalls with the queue full.
	last, stable := int64(-1), time.Now()
	deadline := time.Now().Add(20 * time.Second)
	for time.Since(stable) < 300*time.Millisecond || len(w.ch) < cap(w.ch) {
		if n := sent.Load(); n != last {
			last, stable = n, time.Now()
		}
		if last == total {
			t.Fatalf("all %d chunks (%d MiB) were accepted with no reader: no backpressure", total, total*chunkSize>>20)
		}
		if time.Now().After(deadline) {
			t.Fatalf("sender neither finished nor stalled with a full queue: %d chunks sent, %d queued", last, len(w.ch))
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Chunks held at most: the queue, one in the writer goroutine, those
	// the output buffer holds, and one being sent.
	bound := int64(cap(w.ch) + 1 + BufferSize/chunkSize + 1)
	if last > bound {
		t.Fatalf("%d chunks accepted with a blocked output, want at most %d", last, bound)
	}
	t.Logf("blocked after %d chunks (%d MiB in memory at most)", last, last*chunkSize>>20)

	// Drain: every line arrives, in order, valid.
	readDone := make(chan error, 1)
	var lines int
	go func() {
		v, err := protocoltest.NewValidator()
		if err != nil {
			readDone <- err
			return
		}
		sc := bufio.NewScanner(pr)
		sc.Buffer(nil, 2*chunkSize)
		for sc.Scan() {
			if lines%50 == 0 { // the schema check of a 256 KiB line is slow under -race
				if err := v.Line(sc.Bytes()); err != nil {
					readDone <- fmt.Errorf("line %d: %v", lines+1, err)
					return
				}
			}
			want := fmt.Sprintf(`,"data":{"i":%d,"pad":"`, lines)
			if !bytes.Contains(sc.Bytes()[:min(200, len(sc.Bytes()))], []byte(want)) || !bytes.HasSuffix(sc.Bytes(), []byte(`"}}}`)) {
				readDone <- fmt.Errorf("line %d: not record %d or cut: %.200s", lines+1, lines, sc.Bytes())
				return
			}
			lines++
		}
		readDone <- sc.Err()
	}()
	select {
	case err := <-senderDone:
		if err != nil {
			t.Fatal(err)
		}
	case err := <-readDone:
		t.Fatalf("reader stopped early after %d lines: %v", lines, err)
	case <-time.After(30 * time.Second):
		t.Fatal("sender still blocked after the output drained")
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	if err := <-readDone; err != nil {
		t.Fatal(err)
	}
	if lines != total {
		t.Fatalf("%d lines read, want %d", lines, total)
	}
}

// TestBlockedStateSend: a flushing Send waits for the output too, and
// returns once it drains.
func TestBlockedStateSend(t *testing.T) {
	pr, pw := io.Pipe()
	w := NewWriter(pw, nil)
	done := make(chan error, 1)
	go func() { done <- w.Send(stateMsg("users", 0)) }()
	select {
	case err := <-done:
		t.Fatalf("Send(STATE) returned (%v) before the output took the line", err)
	case <-time.After(100 * time.Millisecond):
	}
	got := make(chan []byte, 1)
	go func() {
		b, _ := bufio.NewReader(pr).ReadBytes('\n')
		got <- b
	}()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	protocoltest.CheckOutput(t, <-got)
	go io.Copy(io.Discard, pr)
	w.Close()
	pw.Close()
}

func TestRedactedMessages(t *testing.T) {
	const secret, token = "s3cr3t-client-secret", "tok-123456"
	red := &Redactor{}
	red.Add(secret)
	red.Add(token)
	rec := &recorder{}
	w := NewWriter(rec, red)
	msgs := []*Message{
		logMsg("token " + token + " and secret " + secret),
		{Type: TypeTrace, Trace: &Trace{Type: TraceError, EmittedAt: 1, Error: &TraceErr{
			Message: "failed with " + secret, InternalMessage: "Authorization: Bearer " + token,
			StackTrace: "at " + secret, FailureType: ConfigError,
		}}},
		statusMsg("Zoom refused " + secret + "/" + token),
	}
	for _, m := range msgs {
		if err := w.Send(m); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	out := rec.String()
	if strings.Contains(out, secret) || strings.Contains(out, token) {
		t.Fatalf("secret in output:\n%s", out)
	}
	if n := strings.Count(out, "****"); n != 7 {
		t.Errorf("%d redactions, want 7:\n%s", n, out)
	}
	got := protocoltest.CheckOutput(t, []byte(out))
	if len(got) != 3 || got[0].LogMessage() != "token **** and secret ****" || got[1].ErrorInternal() != "Authorization: Bearer ****" {
		t.Errorf("messages: %s", out)
	}
	if _, m := got[2].ConnStatus(); m != "Zoom refused ****/****" {
		t.Errorf("connection status message %q", m)
	}
}
