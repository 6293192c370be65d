package protocol

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"
)

// BufferSize is the size of the buffer between the Writer and its output.
const BufferSize = 1 << 20

// queueDepth is how many chunks (a page of records each, up to a few
// hundred KB) may wait for the writer goroutine. It bounds the memory held
// when the output is slower than the API: 64 held about 15 MB more at peak
// (RSS 47 → 32 MiB on a 2-million-record sync) for no gain in throughput.
const queueDepth = 16

// flushEvery bounds how long records may wait in the buffer.
const flushEvery = time.Second

type chunk struct {
	data  []byte
	flush bool
	pool  bool          // data came from the buffer pool
	done  chan struct{} // closed once written (and flushed if flush)
}

// Writer writes Airbyte messages as JSON lines. The zero value is not usable;
// call NewWriter. All methods are safe for concurrent use.
type Writer struct {
	ch      chan chunk
	stopped chan struct{}
	redact  *Redactor

	// sendMu is held shared while a chunk is queued and exclusively by
	// Close while it closes ch, so a Send racing Close never sends on a
	// closed channel.
	sendMu sync.RWMutex

	mu     sync.Mutex
	err    error // first write error
	closed bool
	pool   sync.Pool
}

// NewWriter starts the goroutine that owns out. redact may be nil.
func NewWriter(out io.Writer, redact *Redactor) *Writer {
	w := &Writer{
		ch:      make(chan chunk, queueDepth),
		stopped: make(chan struct{}),
		redact:  redact,
	}
	w.pool.New = func() any { b := make([]byte, 0, 64<<10); return &b }
	go w.loop(out)
	return w
}

func (w *Writer) loop(out io.Writer) {
	defer close(w.stopped)
	bw := bufio.NewWriterSize(out, BufferSize)
	tick := time.NewTicker(flushEvery)
	defer tick.Stop()
	var werr error
	for {
		select {
		case c, ok := <-w.ch:
			if !ok {
				if werr == nil {
					werr = bw.Flush()
				}
				w.setErr(werr)
				return
			}
			if werr == nil {
				_, werr = bw.Write(c.data)
				if werr == nil && c.flush {
					werr = bw.Flush()
				}
				w.setErr(werr)
			}
			if c.pool {
				b := c.data[:0]
				w.pool.Put(&b)
			}
			if c.done != nil {
				close(c.done)
			}
		case <-tick.C:
			if werr == nil && bw.Buffered() > 0 {
				werr = bw.Flush()
				w.setErr(werr)
			}
		}
	}
}

func (w *Writer) setErr(err error) {
	if err == nil {
		return
	}
	w.mu.Lock()
	if w.err == nil {
		w.err = fmt.Errorf("write output: %w", err)
	}
	w.mu.Unlock()
}

// Err reports the first error met writing the output, if any.
func (w *Writer) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

var errClosed = errors.New("write output: writer closed")

func (w *Writer) send(c chunk) error {
	w.sendMu.RLock()
	defer w.sendMu.RUnlock()
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return errClosed
	}
	err := w.err
	w.mu.Unlock()
	if err != nil {
		return err
	}
	w.ch <- c
	return nil
}

// Buffer returns an empty buffer from the Writer's pool for WriteLines.
func (w *Writer) Buffer() []byte {
	return (*w.pool.Get().(*[]byte))[:0]
}

// WriteLines queues complete JSON lines (usually records built with
// AppendRecord into a buffer from Buffer). The Writer owns buf afterwards.
func (w *Writer) WriteLines(buf []byte) error {
	if len(buf) == 0 {
		return nil
	}
	return w.send(chunk{data: buf, pool: true})
}

// Send encodes m as one line. STATE, TRACE and CONNECTION_STATUS messages are
// flushed to the output before Send returns.
func (w *Writer) Send(m *Message) error {
	w.scrub(m)
	b, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode %s message: %w", m.Type, err)
	}
	b = append(b, '\n')
	switch m.Type {
	case TypeState, TypeTrace, TypeConnectionStatus:
		done := make(chan struct{})
		if err := w.send(chunk{data: b, flush: true, done: done}); err != nil {
			return err
		}
		<-done
		return w.Err()
	}
	return w.send(chunk{data: b})
}

func (w *Writer) scrub(m *Message) {
	if w.redact == nil {
		return
	}
	if m.Log != nil {
		m.Log.Message = w.redact.Redact(m.Log.Message)
	}
	if m.ConnectionStatus != nil {
		m.ConnectionStatus.Message = w.redact.Redact(m.ConnectionStatus.Message)
	}
	if m.Trace != nil && m.Trace.Error != nil {
		e := m.Trace.Error
		e.Message = w.redact.Redact(e.Message)
		e.InternalMessage = w.redact.Redact(e.InternalMessage)
		e.StackTrace = w.redact.Redact(e.StackTrace)
	}
}

// Close flushes everything queued and stops the writer goroutine. It returns
// the first write error. Calls after the first are no-ops.
func (w *Writer) Close() error {
	w.sendMu.Lock()
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		w.sendMu.Unlock()
		<-w.stopped
		return w.Err()
	}
	w.closed = true
	w.mu.Unlock()
	close(w.ch)
	w.sendMu.Unlock()
	<-w.stopped
	return w.Err()
}

// RecordPrefix returns the bytes that open a RECORD line of stream, up to the
// data value. It is computed once per stream and reused.
func RecordPrefix(stream string) []byte {
	name, _ := json.Marshal(stream)
	b := append([]byte(`{"type":"RECORD","record":{"stream":`), name...)
	return append(b, `,"emitted_at":`...)
}

// AppendRecord appends one RECORD line to dst: prefix (from RecordPrefix),
// the emission time in epoch milliseconds, the raw JSON object data and the
// fields extra (already-encoded `"name":value` members, each preceded by a
// comma), without decoding data. Line breaks in data and extra can only be
// white space between JSON tokens (JSON strings escape them); they become
// spaces so that the message stays on one line.
func AppendRecord(dst, prefix []byte, emittedAt int64, data []byte, extra []byte) []byte {
	dst = append(dst, prefix...)
	dst = strconv.AppendInt(dst, emittedAt, 10)
	dst = append(dst, `,"data":`...)
	start := len(dst)
	if len(extra) == 0 {
		dst = append(dst, data...)
	} else {
		dst = appendSpliced(dst, data, extra)
	}
	oneLine(dst[start:])
	return append(dst, "}}\n"...)
}

// oneLine replaces CR and LF in b with spaces. Compact JSON has neither,
// and IndexByte finds that out quickly.
func oneLine(b []byte) {
	for _, c := range []byte{'\n', '\r'} {
		for s := b; ; {
			i := bytes.IndexByte(s, c)
			if i < 0 {
				break
			}
			s[i] = ' '
			s = s[i+1:]
		}
	}
}

// appendSpliced appends the object data with extra members inserted before
// its closing brace. data must be a valid JSON object.
func appendSpliced(dst, data, extra []byte) []byte {
	end := len(data) - 1
	for end > 0 && data[end] != '}' {
		end--
	}
	body := data[:end]
	// Is the object empty? Look back over white space for '{'.
	i := len(body) - 1
	for i >= 0 && isSpace(body[i]) {
		i--
	}
	dst = append(dst, body...)
	if i >= 0 && body[i] == '{' {
		extra = extra[1:] // drop the leading comma
	}
	dst = append(dst, extra...)
	return append(dst, '}')
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
