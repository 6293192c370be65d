package protocol

import (
	"fmt"
	"strings"
	"sync"
	"testing"
)

func TestRedactor(t *testing.T) {
	var r Redactor // the zero value is ready
	if got := r.Redact("nothing yet"); got != "nothing yet" {
		t.Fatalf("empty redactor changed text: %q", got)
	}
	r.Add("")
	r.Add("abc") // too short: ignored
	r.Add("s3cr3t")
	r.Add("s3cr3t") // twice is once
	r.Add("tok-123456")
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"abc s3cr3t", "abc ****"},
		{"s3cr3ts3cr3t and tok-123456!", "******** and ****!"},
		{`{"client_secret":"s3cr3t"}`, `{"client_secret":"****"}`},
		{"no secret here", "no secret here"},
	} {
		if got := r.Redact(tc.in); got != tc.want {
			t.Errorf("Redact(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	var nilR *Redactor
	nilR.Add("s3cr3t")
	if got := nilR.Redact("s3cr3t"); got != "s3cr3t" {
		t.Errorf("nil Redactor: %q", got)
	}
}

// A secret that begins with another secret is hidden whole, whatever the
// order they were added in.
func TestRedactorOverlapping(t *testing.T) {
	for _, order := range [][]string{{"secret", "secret-longer"}, {"secret-longer", "secret"}} {
		var r Redactor
		for _, s := range order {
			r.Add(s)
		}
		if got := r.Redact("x secret-longer y secret z"); got != "x **** y **** z" {
			t.Errorf("added %q: Redact = %q", order, got)
		}
	}
}

func TestRedactorConcurrent(t *testing.T) {
	var r Redactor
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 100 {
				s := fmt.Sprintf("secret-%d-%d", g, i)
				r.Add(s)
				if got := r.Redact("<" + s + ">"); got != "<****>" {
					t.Errorf("Redact right after Add: %q", got)
					return
				}
			}
		}()
	}
	wg.Wait()
	if got := r.Redact("secret-3-50"); strings.Contains(got, "secret") {
		t.Errorf("Redact = %q", got)
	}
}
