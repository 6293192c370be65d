package connector

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

// ConfigError is a problem the user must fix: bad config, credentials,
// missing permissions, bad catalog or state. It is reported as a TRACE
// error with failure_type config_error.
type ConfigError struct{ Err error }

func (e *ConfigError) Error() string { return e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }

// Configf returns a ConfigError with a formatted message.
func Configf(format string, args ...any) error {
	return &ConfigError{Err: fmt.Errorf(format, args...)}
}

// TransientError is a problem that a later run may not have: network
// trouble, exhausted rate limits, an interrupted sync.
type TransientError struct {
	Err error
	// RetryAt, when set, is when the problem is expected to clear.
	RetryAt time.Time
}

func (e *TransientError) Error() string { return e.Err.Error() }
func (e *TransientError) Unwrap() error { return e.Err }

// FailureType returns the Airbyte failure_type for err: config_error,
// transient_error or system_error.
func FailureType(err error) string {
	var ce *ConfigError
	var te *TransientError
	switch {
	case errors.As(err, &ce):
		return "config_error"
	case errors.As(err, &te):
		return "transient_error"
	}
	return "system_error"
}

// APIError is an HTTP answer the API gave instead of data.
type APIError struct {
	Method, URL string // URL without query secrets
	Status      int
	Code        int    // the API's error code from the body, if any
	HasCode     bool   // whether the body carried a code
	Message     string // the API's message, or a snippet of the body
	RetryAfter  time.Duration
	Header      http.Header // the answer's headers
}

func (e *APIError) Error() string {
	msg := e.Message
	if e.HasCode {
		msg = fmt.Sprintf("code %d: %s", e.Code, e.Message)
	}
	return fmt.Sprintf("%s %s: HTTP %d: %s", e.Method, e.URL, e.Status, msg)
}

// RateLimitError is returned when a rate-limit category is exhausted until
// a known time (a daily cap) and waiting would take too long.
type RateLimitError struct {
	Category string
	Reset    time.Time
}

func (e *RateLimitError) Error() string {
	return fmt.Sprintf("daily request limit of rate-limit category %q reached; it resets at %s", e.Category, e.Reset.UTC().Format(time.RFC3339))
}

func nowMillis() float64 { return float64(time.Now().UnixMilli()) }
