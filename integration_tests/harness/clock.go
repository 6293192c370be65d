package harness

import (
	"encoding/json"
	"time"

	"github.com/source-zoom/source-zoom/integration_tests/fakezoom"
)

// windowedMaxAge is how far back, from the wall clock, the connector reads
// its date-window streams (streams/table.go: reportMaxAge and the engine's
// default of 180 days).
var windowedMaxAge = map[string]time.Duration{
	"report_user_meetings": 181 * 24 * time.Hour,
	"recordings":           180 * 24 * time.Hour,
}

// Readable reports whether a complete sync started at now can return rec
// of stream: the fake's data is dated by its own fixed clock, while the
// date-window streams only look back a fixed time from the wall clock, so
// their oldest sessions fall out of reach as real time passes.
func Readable(stream string, rec json.RawMessage, now time.Time) bool {
	maxAge, ok := windowedMaxAge[stream]
	if !ok {
		return true
	}
	var r struct {
		StartTime time.Time `json:"start_time"`
	}
	if json.Unmarshal(rec, &r) != nil || r.StartTime.IsZero() {
		return true
	}
	y, m, d := now.Add(-maxAge).UTC().Date()
	return !r.StartTime.Before(time.Date(y, m, d, 0, 0, 0, 0, time.UTC))
}

// Expected is s.Expected() less the records a sync starting now cannot
// reach (see Readable).
func Expected(s *fakezoom.Server) map[string][]json.RawMessage {
	now := time.Now()
	out := s.Expected()
	for stream, recs := range out {
		kept := recs[:0:0]
		for _, r := range recs {
			if Readable(stream, r, now) {
				kept = append(kept, r)
			}
		}
		out[stream] = kept
	}
	return out
}
