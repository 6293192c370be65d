package connector_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/source-zoom/source-zoom/connector"
	"github.com/source-zoom/source-zoom/protocol"
	"github.com/source-zoom/source-zoom/protocol/protocoltest"
	"github.com/source-zoom/source-zoom/streams"
)

// The inputs a user or the platform controls — state, config and catalog —
// must never crash the connector; bad ones are config errors.

func FuzzParseState(f *testing.F) {
	for _, s := range []string{
		``, `null`, `[]`, `{}`, `42`, `"x"`, `[null]`, `[1]`,
		`[{"type":"STREAM","stream":{"stream_descriptor":{"name":"meetings"},"stream_state":{"start_time":"2024-05-01T15:00:00Z"}}}]`,
		`{"type":"STREAM","stream":{"stream_descriptor":{"name":"a","namespace":"n"},"stream_state":null}}`,
		`[{"type":"GLOBAL","global":{"shared_state":{},"stream_states":[{"stream_descriptor":{"name":"m"},"stream_state":{"x":1}}]}}]`,
		`[{"type":"LEGACY","data":{"a":{"x":1}}}]`,
		`{"a":{"start_time":"2024-05-01"},"b":null}`,
		`{"global":{"stream_states":[{}]}}`,
		`{"stream":{}}`, `{"type":"PER_STREAM"}`, `[{"type":"GLOBAL"}]`, `{"data":[1]}`,
		"[\n{\"type\": \"STREAM\",,}]",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := connector.ParseState(data)
		if err != nil {
			if got != nil {
				t.Fatalf("error %v with a result %v", err, got)
			}
			return
		}
		if got == nil {
			t.Fatal("nil map without error")
		}
		// What was parsed survives a round trip through STREAM messages.
		var msgs []protocol.State
		for name, st := range got {
			if name == "" {
				return
			}
			msgs = append(msgs, protocol.State{Type: protocol.StateStream, Stream: &protocol.StreamState{
				StreamDescriptor: protocol.StreamDescriptor{Name: name}, StreamState: st,
			}})
		}
		b, err := json.Marshal(msgs)
		if err != nil {
			t.Fatalf("state blobs are not JSON: %v", err)
		}
		back, err := connector.ParseState(b)
		if err != nil {
			t.Fatalf("round trip %s: %v", b, err)
		}
		if len(back) != len(got) {
			t.Fatalf("round trip lost streams: %v -> %v", got, back)
		}
		for name, st := range got {
			if !fzSameJSON(st, back[name]) {
				t.Fatalf("stream %q: %s -> %s", name, st, back[name])
			}
		}
	})
}

func fzSameJSON(a, b []byte) bool {
	if len(a) == 0 || len(b) == 0 {
		return len(a) == len(b)
	}
	decode := func(b []byte) (any, error) {
		d := json.NewDecoder(bytes.NewReader(b))
		d.UseNumber()
		var v any
		err := d.Decode(&v)
		return v, err
	}
	x, err1 := decode(a)
	y, err2 := decode(b)
	return err1 == nil && err2 == nil && reflect.DeepEqual(x, y)
}

var fzSpec = sync.OnceValues(func() ([]byte, error) { return os.ReadFile("../spec.json") })

// fzClosedURL is a loopback URL nobody listens on.
var fzClosedURL = sync.OnceValue(func() string {
	srv := httptest.NewServer(http.NotFoundHandler())
	u := srv.URL
	srv.Close()
	return u
})

// fzTokens never touches the network.
type fzTokens struct{}

func (fzTokens) Token() (*oauth2.Token, error) { return &oauth2.Token{AccessToken: "fuzz-token"}, nil }

var fzRetry = connector.RetryPolicy{MaxTries: 2, Initial: time.Millisecond, Max: time.Millisecond, MaxWait: time.Millisecond}

// fzConnector is the Zoom connector with the network cut off: whatever the
// config says, tokens are static and the API is a closed local port.
func fzConnector(t *testing.T) *connector.Connector {
	spec, err := fzSpec()
	if err != nil {
		t.Fatal(err)
	}
	c := streams.Connector(spec, "fuzz")
	open := c.Open
	c.Open = func(ctx context.Context, raw json.RawMessage, env connector.Env) (*connector.Source, error) {
		src, err := open(ctx, raw, env)
		if err != nil {
			return nil, err
		}
		src.BaseURL = fzClosedURL() + "/v2"
		src.Auth = fzTokens{}
		src.Retry = fzRetry
		src.Timeout = 2 * time.Second
		return src, nil
	}
	return c
}

func fzEnv(w *protocol.Writer) connector.Env {
	return connector.Env{Log: slog.New(protocol.NewLogHandler(w, nil)), Redact: &protocol.Redactor{}}
}

func FuzzConfigValidation(f *testing.F) {
	for _, s := range []string{
		`{"account_id":"a","client_id":"b","client_secret":"c"}`,
		`{"account_id":"a","client_id":"b","client_secret":"c","api_base_url":"http://127.0.0.1:1/v2","authorization_endpoint":"http://[::1]:1/t"}`,
		`{"account_id":"a","client_id":"b","client_secret":"c","start_date":"2026-01-01T00:00:00Z","lookback_window_days":0,"concurrency":1,"request_timeout_seconds":1}`,
		`{"account_id":"a","client_id":"b","client_secret":"c","rate_limits":{"light_per_second":0.1,"heavy_per_day":1}}`,
		`{"account_id":"a","client_id":"b","client_secret":"c","start_date":"2026-02-30"}`,
		`{"account_id":"a","client_id":"b","client_secret":"c","api_base_url":"http://example.com"}`,
		`{"account_id":"a","client_id":"b","client_secret":"c","api_base_url":"https://u:p@x"}`,
		`{"account_id":"a","client_id":"b","client_secret":"c","api_base_url":"https://%zz"}`,
		`{"account_id":"","client_id":1,"client_secret":null}`,
		`{"account_id":"a","client_id":"b","client_secret":" \t"}`,
		`{"account_id":"a","client_id":"b","client_secret":"c","lookback_window_days":1e300}`,
		`{"account_id":"a","client_id":"b","client_secret":"c","concurrency":64.0}`,
		`{"account_id":"a","account_id":"b","client_id":"b","client_secret":"c"}`,
		`[]`, `null`, `"x"`, `{`, ``, "\xff",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, config []byte) {
		c := fzConnector(t)
		var out bytes.Buffer
		w := protocol.NewWriter(&out, nil)
		err := c.RunCheck(context.Background(), w, fzEnv(w), config)
		if cerr := w.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			t.Fatalf("RunCheck returned %v (only write errors may be returned)", err)
		}
		msgs := protocoltest.CheckOutput(t, out.Bytes())
		st := protocoltest.OfType(msgs, protocol.TypeConnectionStatus)
		if len(st) != 1 {
			t.Fatalf("%d CONNECTION_STATUS messages:\n%s", len(st), out.Bytes())
		}
		if s, m := st[0].ConnStatus(); s == "FAILED" && strings.TrimSpace(m) == "" {
			t.Fatalf("FAILED without a message")
		}
	})
}

func FuzzCatalog(f *testing.F) {
	entry := func(name, mode string) string {
		return `{"stream":{"name":"` + name + `","json_schema":{},"supported_sync_modes":["full_refresh","incremental"]},"sync_mode":"` + mode + `","destination_sync_mode":"append"}`
	}
	for _, s := range []struct{ cat, state string }{
		{`{"streams":[` + entry("users", "full_refresh") + `]}`, ``},
		{`{"streams":[` + entry("users", "incremental") + `]}`, ``},
		{`{"streams":[` + entry("past_meeting_instances", "incremental") + `,` + entry("meetings", "full_refresh") + `]}`, `{"past_meeting_instances":{"start_time":"2026-01-01"}}`},
		{`{"streams":[` + entry("report_meetings", "incremental") + `]}`, `[{"type":"STREAM","stream":{"stream_descriptor":{"name":"report_meetings"},"stream_state":{"start_time":"2026-01-01T00:00:00Z","partitions":{"x":"2026-01-01"}}}}]`},
		{`{"streams":[` + entry("recordings", "incremental") + `]}`, `{"recordings":{"bogus":1}}`},
		{`{"streams":[` + entry("users", "full_refresh") + `,` + entry("users", "full_refresh") + `]}`, ``},
		{`{"streams":[` + entry("user_meetings", "full_refresh") + `]}`, ``},
		{`{"streams":[{"stream":{"name":"users","namespace":"n"},"sync_mode":"full_refresh"}]}`, ``},
		{`{"streams":[{"stream":{"name":"recordings"},"sync_mode":"incremental","cursor_field":["x","y"]}]}`, ``},
		{`{"streams":[]}`, ``}, {`{"streams":null}`, ``}, {`null`, ``}, {`[]`, ``}, {`{"streams":[1]}`, ``}, {`{`, ``}, {``, ``},
	} {
		f.Add([]byte(s.cat), []byte(s.state))
	}
	f.Fuzz(func(t *testing.T, catalog, state []byte) {
		c := fzConnector(t)
		var out bytes.Buffer
		w := protocol.NewWriter(&out, nil)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		cfg := []byte(`{"account_id":"a","client_id":"b","client_secret":"c","concurrency":2}`)
		err := c.RunRead(ctx, w, fzEnv(w), cfg, catalog, state)
		if cerr := w.Close(); cerr != nil {
			t.Fatal(cerr)
		}
		if ctx.Err() != nil {
			t.Fatalf("read did not end within 20 s")
		}
		msgs := protocoltest.CheckOutput(t, out.Bytes())
		if err == nil {
			// Only possible if every selected stream read without a request
			// succeeding — impossible against a closed port.
			t.Fatalf("read against a closed port succeeded:\n%s", out.Bytes())
		}
		var ce *connector.ConfigError
		var re *connector.ReportedError
		switch {
		case errors.As(err, &re):
			// The catalog was fine: streams ran and failed on the network,
			// each reported as a TRACE error.
			if len(protocoltest.Errors(msgs)) == 0 {
				t.Fatalf("reported error %v without error traces:\n%s", err, out.Bytes())
			}
		case errors.As(err, &ce):
			if len(protocoltest.Records(msgs, "")) != 0 {
				t.Fatalf("records emitted before a config error")
			}
		default:
			t.Fatalf("bad input gave %T %v, want a ConfigError", err, err)
		}
	})
}
