package protocol

// Benchmarks of the output half of the hot path: 300 raw Zoom-like user
// objects (one page, rendered by the fake Zoom server) turned into RECORD
// lines and written. Each reports records/s. Run:
//
//	go test -run '^$' -bench . -benchmem ./protocol/

import (
	"bufio"
	"encoding/json"
	"io"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/source-zoom/source-zoom/integration_tests/fakezoom"
)

var benchUsers struct {
	once  sync.Once
	recs  [][]byte
	bytes int
	err   error
}

// users returns the 300 user objects of one GET /users?page_size=300 page
// of the fake Zoom server, as raw JSON.
func users(b *testing.B) [][]byte {
	b.Helper()
	benchUsers.once.Do(func() {
		body, err := fakezoom.New(fakezoom.Options{Seed: 1, Users: 300}).Get("/users?page_size=300")
		if benchUsers.err = err; err != nil {
			return
		}
		var page struct {
			Users []json.RawMessage `json:"users"`
		}
		if benchUsers.err = json.Unmarshal(body, &page); benchUsers.err != nil {
			return
		}
		for _, u := range page.Users {
			benchUsers.recs = append(benchUsers.recs, u)
			benchUsers.bytes += len(u)
		}
	})
	if benchUsers.err != nil || len(benchUsers.recs) != 300 {
		b.Fatalf("users page: %v (%d users)", benchUsers.err, len(benchUsers.recs))
	}
	return benchUsers.recs
}

// extra are the fields a child of a past meeting gets from its parent.
var extra = []byte(`,"meeting_id":85746065432,"meeting_uuid":"4444AAAiAAAAAiAiAiiAii==","meeting_start_time":"2026-11-02T15:00:00Z"`)

func perRecord(b *testing.B, n int) {
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkAppendRecord builds the 300 RECORD lines of a page into one
// buffer, without (plain) and with (spliced) parent fields.
func BenchmarkAppendRecord(b *testing.B) {
	recs := users(b)
	prefix := RecordPrefix("users")
	for _, v := range []struct {
		name  string
		extra []byte
	}{{"plain", nil}, {"spliced", extra}} {
		b.Run(v.name, func(b *testing.B) {
			buf := make([]byte, 0, 512<<10)
			now := time.Now().UnixMilli()
			b.SetBytes(int64(benchUsers.bytes))
			b.ReportAllocs()
			for b.Loop() {
				buf = buf[:0]
				for _, r := range recs {
					buf = AppendRecord(buf, prefix, now, r, v.extra)
				}
			}
			perRecord(b, len(recs))
		})
	}
}

// BenchmarkWriter is what the connector does per page: take a buffer from
// the Writer, append the page's RECORD lines, hand it to WriteLines; the
// Writer's goroutine copies it into its 1 MiB buffer and writes to the
// output (io.Discard, or /dev/null to include the write system calls).
func BenchmarkWriter(b *testing.B) {
	recs := users(b)
	prefix := RecordPrefix("users")
	for _, out := range []string{"discard", "devnull"} {
		b.Run(out, func(b *testing.B) {
			var dst io.Writer = io.Discard
			if out == "devnull" {
				f, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
				if err != nil {
					b.Skip(err)
				}
				defer f.Close()
				dst = f
			}
			w := NewWriter(dst, nil)
			now := time.Now().UnixMilli()
			b.SetBytes(int64(benchUsers.bytes))
			b.ReportAllocs()
			for b.Loop() {
				buf := w.Buffer()
				for _, r := range recs {
					buf = AppendRecord(buf, prefix, now, r, extra)
				}
				if err := w.WriteLines(buf); err != nil {
					b.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				b.Fatal(err)
			}
			perRecord(b, len(recs))
		})
	}
}

// BenchmarkUnbufferedLines is the way the Writer avoids: one write system
// call per RECORD line (to /dev/null).
func BenchmarkUnbufferedLines(b *testing.B) {
	recs := users(b)
	prefix := RecordPrefix("users")
	f, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		b.Skip(err)
	}
	defer f.Close()
	now := time.Now().UnixMilli()
	line := make([]byte, 0, 4096)
	b.SetBytes(int64(benchUsers.bytes))
	b.ReportAllocs()
	for b.Loop() {
		for _, r := range recs {
			line = AppendRecord(line[:0], prefix, now, r, extra)
			if _, err := f.Write(line); err != nil {
				b.Fatal(err)
			}
		}
	}
	perRecord(b, len(recs))
}

// BenchmarkNaiveRecord encodes each RECORD as a Message with encoding/json
// (which re-validates and compacts the raw data) through a 1 MiB buffer:
// the comparison for AppendRecord.
func BenchmarkNaiveRecord(b *testing.B) {
	recs := users(b)
	bw := bufio.NewWriterSize(io.Discard, BufferSize)
	enc := json.NewEncoder(bw)
	now := time.Now().UnixMilli()
	b.SetBytes(int64(benchUsers.bytes))
	b.ReportAllocs()
	for b.Loop() {
		for _, r := range recs {
			if err := enc.Encode(&Message{Type: TypeRecord, Record: &Record{Stream: "users", Data: r, EmittedAt: now}}); err != nil {
				b.Fatal(err)
			}
		}
	}
	_ = bw.Flush()
	perRecord(b, len(recs))
}
