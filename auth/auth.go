package auth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/source-zoom/source-zoom/connector"
	"github.com/source-zoom/source-zoom/protocol"
)

// Config says how to get tokens.
type Config struct {
	AccountID, ClientID, ClientSecret string
	TokenURL                          string
	// HTTPClient carries token requests (default: a client with a 30 s timeout).
	HTTPClient *http.Client
	// Redact, if set, learns every token.
	Redact *protocol.Redactor
	// Early is how long before expiry a token is replaced (default 60 s).
	Early time.Duration
}

// TokenSource caches Zoom access tokens. Use New.
type TokenSource struct {
	cc     clientcredentials.Config
	ctx    context.Context
	redact *protocol.Redactor
	early  time.Duration

	mu     sync.Mutex
	tok    *oauth2.Token
	issued int
}

// New returns a TokenSource. ctx bounds every token request.
func New(ctx context.Context, c Config) *TokenSource {
	hc := c.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	early := c.Early
	if early <= 0 {
		early = time.Minute
	}
	c.Redact.Add(c.ClientSecret)
	// The Basic Authorization header of token requests is the secret too:
	// a token endpoint or proxy that echoes it in an error must not leak it.
	for _, creds := range []string{url.QueryEscape(c.ClientID) + ":" + url.QueryEscape(c.ClientSecret), c.ClientID + ":" + c.ClientSecret} {
		c.Redact.Add(base64.StdEncoding.EncodeToString([]byte(creds)))
	}
	return &TokenSource{
		cc: clientcredentials.Config{
			ClientID:     c.ClientID,
			ClientSecret: c.ClientSecret,
			TokenURL:     c.TokenURL,
			EndpointParams: url.Values{
				"grant_type": {"account_credentials"},
				"account_id": {c.AccountID},
			},
			AuthStyle: oauth2.AuthStyleInHeader,
		},
		ctx:    context.WithValue(ctx, oauth2.HTTPClient, hc),
		redact: c.Redact,
		early:  early,
	}
}

// Token returns a valid token, fetching one when none is cached or the
// cached one expires within the early window. Concurrent callers share one
// fetch.
func (t *TokenSource) Token() (*oauth2.Token, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.tok != nil && (t.tok.Expiry.IsZero() || time.Until(t.tok.Expiry) > t.early) {
		return t.tok, nil
	}
	tok, err := t.cc.Token(t.ctx)
	if err != nil {
		return nil, t.explain(err)
	}
	t.redact.Add(tok.AccessToken)
	if lifetime := time.Until(tok.Expiry); !tok.Expiry.IsZero() && lifetime < 2*t.early {
		// Short-lived tokens: replace them at two thirds of their life.
		t.early = lifetime / 3
	}
	t.tok = tok
	t.issued++
	return tok, nil
}

// Invalidate drops the cached token if it is stale (the API rejected it), so
// the next Token call fetches a new one. A token already replaced by another
// goroutine is left alone.
func (t *TokenSource) Invalidate(stale string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.tok != nil && t.tok.AccessToken == stale {
		t.tok = nil
	}
}

// Issued is how many tokens this source fetched.
func (t *TokenSource) Issued() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.issued
}

// explain turns a token endpoint failure into an error a user can act on.
func (t *TokenSource) explain(err error) error {
	host := t.cc.TokenURL
	if u, perr := url.Parse(host); perr == nil {
		host = u.Scheme + "://" + u.Host + u.Path
	}
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		var body struct {
			Reason string `json:"reason"`
			Error  string `json:"error"`
		}
		_ = json.Unmarshal(re.Body, &body)
		code := body.Error
		if code == "" {
			code = re.ErrorCode
		}
		reason := body.Reason
		if reason == "" {
			reason = re.ErrorDescription
		}
		if reason == "" {
			reason = strings.Join(strings.Fields(string(re.Body)), " ")
			if len(reason) > 200 {
				reason = reason[:200]
			}
		}
		status := 0
		if re.Response != nil {
			status = re.Response.StatusCode
		}
		what := "Zoom refused the token request"
		switch {
		case code == "invalid_client":
			what = "Zoom refused the client credentials: check client_id and client_secret"
		case strings.Contains(strings.ToLower(reason), "account"):
			what = "Zoom refused the account: check account_id"
		case code == "unsupported_grant_type":
			what = "Zoom refused the grant type: the app must be a Server-to-Server OAuth app"
		case code == "invalid_request":
			what = "Zoom refused the token request: check account_id and that the app is a Server-to-Server OAuth app"
		}
		detail := reason
		if code != "" {
			detail = code + ": " + reason
		}
		msg := fmt.Sprintf("%s (POST %s: HTTP %d, %s)", what, host, status, detail)
		if status >= 500 || status == http.StatusTooManyRequests {
			return &connector.TransientError{Err: errors.New(msg)}
		}
		return &connector.ConfigError{Err: errors.New(t.redact.Redact(msg))}
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return &connector.TransientError{Err: fmt.Errorf("cannot reach the Zoom token endpoint %s (network): %s", host, t.redact.Redact(err.Error()))}
}
