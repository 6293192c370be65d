package integration_tests

// Secrets: the client secret and every access token the fake issued never
// appear in any output (stdout and stderr, every message, --debug
// included), in a representative set of scenarios; URLs in messages carry
// no query string.
//
//	go test ./integration_tests -run TestSecret -v

import (
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/source-zoom/source-zoom/integration_tests/fakezoom"
	"github.com/source-zoom/source-zoom/integration_tests/harness"
)

const (
	secretTail   = "7c1e5a9d0b3f4e2a"
	clientSecret = "SECRET-" + secretTail
	wrongSecret  = "SECRET-wrong-" + secretTail + "x"
	secretClient = "client-7c1e"
)

// urlWithQuery finds URLs with a query string in message text.
var urlWithQuery = regexp.MustCompile(`https?://[^\s"']*\?[^\s"']*`)

// leakScanner collects the secrets of a test and scans outputs for them.
type leakScanner struct {
	mu      sync.Mutex
	secrets []string // whole secrets
	pieces  []string // fragments that must not appear either
	scanned int      // bytes
	runs    int
}

func (l *leakScanner) add(secret string, fragment int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.secrets = append(l.secrets, secret)
	if fragment > 0 {
		for i := 0; i+fragment <= len(secret); i++ {
			l.pieces = append(l.pieces, secret[i:i+fragment])
		}
	}
}

// addTokens registers every access token s issued: whole, and every 16
// characters of its random part (the fake's tokens share a fixed header).
func (l *leakScanner) addTokens(s *fakezoom.Server) int {
	toks := s.IssuedTokens()
	for _, tok := range toks {
		l.add(tok, 0)
		if i := strings.LastIndexByte(tok, '.'); i >= 0 {
			l.add(tok[i+1:], 16)
		}
	}
	return len(toks)
}

func (l *leakScanner) scan(t *testing.T, what string, r *harness.Result) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.runs++
	for name, out := range map[string][]byte{"stdout": r.Stdout, "stderr": r.Stderr} {
		l.scanned += len(out)
		text := string(out)
		for _, s := range l.secrets {
			if strings.Contains(text, s) {
				t.Errorf("%s: %s contains the secret %q", what, name, s)
			}
		}
		for _, p := range l.pieces {
			if strings.Contains(text, p) {
				t.Errorf("%s: %s contains %q, a piece of a secret", what, name, p)
				break
			}
		}
	}
	for _, m := range r.Msgs {
		var text string
		switch m.Type {
		case "LOG":
			text = m.LogMessage()
		case "TRACE":
			text = string(m.Trace)
		case "CONNECTION_STATUS":
			_, text = m.ConnStatus()
		default:
			continue
		}
		for _, u := range urlWithQuery.FindAllString(text, -1) {
			t.Errorf("%s: a message carries a URL with a query string %q: %s", what, u, relClip(m.Raw))
		}
		if strings.Contains(text, "next_page_token=") || strings.Contains(strings.ToLower(text), "bearer ") {
			t.Errorf("%s: a message carries a page token or an Authorization header: %s", what, relClip(m.Raw))
		}
	}
}

// basicAuth is the Authorization header value of a token request.
func basicAuth(id, secret string) string {
	return base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id) + ":" + url.QueryEscape(secret)))
}

// TestSecretsNeverLeak runs read (and check, discover) in the scenarios of
// the reliability tests with a recognisable client secret, and scans all
// output for it and for every access token the fake issued.
func TestSecretsNeverLeak(t *testing.T) {
	t.Parallel()
	cat := relCatalog(t)
	all := harness.WriteCatalog(t, cat, nil, false)
	incremental := harness.WriteCatalog(t, cat, nil, true)
	scanner := &leakScanner{}
	scanner.add(clientSecret, 0)
	scanner.add(secretTail, 0)
	scanner.add(wrongSecret, 0)
	scanner.add(basicAuth(secretClient, clientSecret), 0)
	scanner.add(basicAuth(secretClient, wrongSecret), 0)
	opts := func(o fakezoom.Options) fakezoom.Options {
		o.ClientID, o.ClientSecret = secretClient, clientSecret
		if o.Users == 0 {
			o.Users = 2
		}
		return o
	}
	issued := 0
	var imu sync.Mutex
	for _, tc := range []struct {
		name    string
		o       fakezoom.Options
		wrap    func(http.Handler) http.Handler
		extra   map[string]any
		catalog string
		state   bool // a second, incremental read from the first one's state
		code    int  // exit code of read
	}{
		{name: "normal read", o: fakezoom.Options{Seed: 111}, catalog: incremental, state: true},
		{name: "token refused", o: fakezoom.Options{Seed: 112}, extra: map[string]any{"client_secret": wrongSecret}, code: 1},
		{name: "token endpoint echoes the secret", o: fakezoom.Options{Seed: 113}, code: 1, wrap: func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/oauth/token" {
					h.ServeHTTP(w, r)
					return
				}
				id, secret, _ := r.BasicAuth()
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusBadRequest)
				fmt.Fprintf(w, `{"reason":"Invalid client_secret %s for client %s (Authorization: %s)","error":"invalid_client"}`, secret, id, r.Header.Get("Authorization"))
			})
		}},
		{name: "token endpoint fails once, echoing the request", o: fakezoom.Options{Seed: 114}, wrap: func(h http.Handler) http.Handler {
			var once sync.Once
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				first := false
				if r.URL.Path == "/oauth/token" {
					once.Do(func() { first = true })
				}
				if first {
					w.WriteHeader(http.StatusServiceUnavailable)
					io.WriteString(w, "<html>503 "+r.Header.Get("Authorization")+"</html>")
					return
				}
				h.ServeHTTP(w, r)
			})
		}},
		{name: "5xx storm", o: fakezoom.Options{Seed: 115, ErrorRate: 0.2, ResetRate: 0.03, TruncateRate: 0.03}, extra: map[string]any{"concurrency": 8}},
		{name: "hanging request", o: fakezoom.Options{Seed: 116, HangFirst: 1}, extra: map[string]any{"request_timeout_seconds": 1}},
		{name: "missing scope 4711", o: fakezoom.Options{Seed: 117, MissingScope: "/report/"}, code: 1},
		{name: "revoked token", o: fakezoom.Options{Seed: 118, RevokeTokenAfter: 20}},
		{name: "short-lived tokens", o: fakezoom.Options{Seed: 119, TokenLifetime: 2 * time.Second, Latency: 20 * time.Millisecond}, extra: map[string]any{"concurrency": 2}},
		{name: "429 storm", o: fakezoom.Options{Seed: 120, Users: 1, RateLimits: map[string]int{"Light": 20, "Medium": 20, "Heavy": 10}}},
		{name: "daily cap", o: fakezoom.Options{Seed: 121, DailyHeavyCap: 5}, code: 1},
		{name: "expired page token", o: fakezoom.Options{Seed: 122, Users: 1, ParticipantsPerSession: 310, PageTokenTTL: time.Nanosecond}, code: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := relStart(t, opts(tc.o), tc.wrap)
			cfg := f.config(t, tc.extra)
			catalog := tc.catalog
			if catalog == "" {
				catalog = all
			}
			bin := harness.Binary(t)
			results := map[string]*harness.Result{}
			results["check"] = harness.Run(t, bin, "check", "--config", cfg)
			results["discover"] = harness.Run(t, bin, "discover", "--config", cfg)
			r, _ := relRead(t, cfg, catalog, nil, "--debug")
			results["read"] = r
			if r.Code != tc.code {
				t.Errorf("read: exit %d, want %d\n%s", r.Code, tc.code, relClip(r.Stdout))
			}
			if tc.code == 0 {
				harness.SameRecords(t, harness.Expected(f.Server), r.Records())
			} else if len(r.Errors()) == 0 {
				t.Errorf("read failed without an error trace")
			}
			if tc.state {
				r2, _ := relRead(t, cfg, catalog, r.LastStates(), "--debug")
				relOK(t, "read 2", r2)
				results["read 2"] = r2
			}
			// Every token the fake issued is known now.
			n := scanner.addTokens(f.Server)
			imu.Lock()
			issued += n
			imu.Unlock()
			for what, res := range results {
				scanner.scan(t, what, res)
			}
			if errs := r.Errors(); len(errs) > 0 {
				t.Logf("first error: %s", errs[0].ErrorMessage())
			}
			if _, msg := relConnStatus(results["check"]); msg != "" {
				t.Logf("check: %s", msg)
			}
		})
	}
	t.Cleanup(func() {
		relFigures(t, "%d runs scanned, %d bytes of stdout and stderr, %d access tokens issued by the fakes plus the client secret (and its Basic header form): no secret, no piece of one, no URL with a query string",
			scanner.runs, scanner.scanned, issued)
	})
}

func relConnStatus(r *harness.Result) (status, message string) {
	for _, m := range r.Msgs {
		if m.Type == "CONNECTION_STATUS" {
			return m.ConnStatus()
		}
	}
	return "", ""
}
