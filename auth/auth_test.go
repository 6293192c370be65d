package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/source-zoom/source-zoom/connector"
	"github.com/source-zoom/source-zoom/protocol"
)

const secret = "s3cr3t-client-secret"

// tokenServer answers like Zoom's token endpoint. lifetime is expires_in;
// it counts tokens issued and records the last request.
type tokenServer struct {
	*httptest.Server
	issued   atomic.Int64
	lifetime int
	fail     string // body of a 400 answer, if set
	mu       sync.Mutex
	last     *http.Request
	form     map[string]string
}

func newTokenServer(t *testing.T, lifetime int) *tokenServer {
	ts := &tokenServer{lifetime: lifetime}
	ts.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		ts.mu.Lock()
		ts.last = r
		ts.form = map[string]string{"grant_type": r.Form.Get("grant_type"), "account_id": r.Form.Get("account_id")}
		ts.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if ts.fail != "" {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, ts.fail)
			return
		}
		id, sec, ok := r.BasicAuth()
		if !ok || id != "client" || sec != secret || r.Form.Get("grant_type") != "account_credentials" || r.Form.Get("account_id") != "acct" {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"reason":"Invalid client_id or client_secret","error":"invalid_client"}`)
			return
		}
		n := ts.issued.Add(1)
		json.NewEncoder(w).Encode(map[string]any{"access_token": fmt.Sprintf("token-%06d", n), "token_type": "bearer", "expires_in": ts.lifetime})
	}))
	t.Cleanup(ts.Close)
	return ts
}

func newSource(t *testing.T, ts *tokenServer, r *protocol.Redactor) *TokenSource {
	return New(context.Background(), Config{AccountID: "acct", ClientID: "client", ClientSecret: secret, TokenURL: ts.URL + "/oauth/token", Redact: r})
}

func TestTokenRequestIsZoomS2S(t *testing.T) {
	ts := newTokenServer(t, 3600)
	src := newSource(t, ts, nil)
	tok, err := src.Token()
	if err != nil {
		t.Fatal(err)
	}
	if tok.AccessToken != "token-000001" {
		t.Fatalf("token = %q", tok.AccessToken)
	}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.form["grant_type"] != "account_credentials" || ts.form["account_id"] != "acct" {
		t.Fatalf("form = %v", ts.form)
	}
	if ts.last.Method != http.MethodPost {
		t.Fatalf("method %s", ts.last.Method)
	}
}

func TestTokenIsReusedUntilNearExpiry(t *testing.T) {
	ts := newTokenServer(t, 3600)
	src := newSource(t, ts, nil)
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := src.Token(); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := ts.issued.Load(); n != 1 {
		t.Fatalf("50 concurrent callers caused %d token requests, want 1", n)
	}
	if src.Issued() != 1 {
		t.Fatalf("Issued() = %d", src.Issued())
	}
}

func TestShortLivedTokensAreReplacedBeforeExpiry(t *testing.T) {
	ts := newTokenServer(t, 3) // 3 s tokens: replaced after ~2 s
	src := newSource(t, ts, nil)
	first, err := src.Token()
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(2100 * time.Millisecond)
	second, err := src.Token()
	if err != nil {
		t.Fatal(err)
	}
	if first.AccessToken == second.AccessToken {
		t.Fatalf("token %s still used 2.1 s into a 3 s lifetime", first.AccessToken)
	}
}

func TestInvalidateIsSingleFlight(t *testing.T) {
	ts := newTokenServer(t, 3600)
	src := newSource(t, ts, nil)
	stale, _ := src.Token()
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			src.Invalidate(stale.AccessToken)
			if _, err := src.Token(); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	// 20 goroutines saw the same rejected token: exactly one new token.
	if n := ts.issued.Load(); n != 2 {
		t.Fatalf("token requests = %d, want 2", n)
	}
}

func TestTokenErrorsAreConfigErrorsWithoutSecrets(t *testing.T) {
	cases := []struct {
		name, body, want string
	}{
		{"bad client", "", "client_id and client_secret"},
		{"bad account", `{"reason":"Invalid account_id","error":"invalid_request"}`, "account_id"},
		{"grant", `{"reason":"unsupported grant type","error":"unsupported_grant_type"}`, "Server-to-Server OAuth app"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ts := newTokenServer(t, 3600)
			ts.fail = c.body
			red := &protocol.Redactor{}
			src := New(context.Background(), Config{AccountID: "acct", ClientID: "client", ClientSecret: "wrong-" + secret, TokenURL: ts.URL + "/oauth/token", Redact: red})
			_, err := src.Token()
			if err == nil {
				t.Fatal("no error")
			}
			var ce *connector.ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("%T is not a ConfigError: %v", err, err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q does not mention %q", err, c.want)
			}
			if strings.Contains(err.Error(), secret) {
				t.Fatalf("error leaks the secret: %v", err)
			}
			if got := red.Redact("x wrong-" + secret + " y"); strings.Contains(got, secret) {
				t.Fatalf("redactor does not know the secret: %q", got)
			}
		})
	}
}

func TestUnreachableTokenEndpointIsTransient(t *testing.T) {
	ts := newTokenServer(t, 3600)
	url := ts.URL
	ts.Close()
	src := New(context.Background(), Config{AccountID: "acct", ClientID: "client", ClientSecret: secret, TokenURL: url + "/oauth/token"})
	_, err := src.Token()
	var te *connector.TransientError
	if !errors.As(err, &te) || !strings.Contains(err.Error(), "network") {
		t.Fatalf("want a transient network error, got %T %v", err, err)
	}
}

func TestTokensAreRegisteredWithTheRedactor(t *testing.T) {
	ts := newTokenServer(t, 3600)
	red := &protocol.Redactor{}
	src := newSource(t, ts, red)
	tok, err := src.Token()
	if err != nil {
		t.Fatal(err)
	}
	if got := red.Redact("Bearer " + tok.AccessToken); strings.Contains(got, tok.AccessToken) {
		t.Fatalf("token not redacted: %q", got)
	}
}
