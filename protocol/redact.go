package protocol

import (
	"slices"
	"sort"
	"strings"
	"sync"
)

// Redactor replaces registered secrets in text with "****". The zero value
// is ready to use and safe for concurrent use.
type Redactor struct {
	mu      sync.RWMutex
	secrets []string
	r       *strings.Replacer
}

// Add registers a secret. Secrets shorter than 4 bytes are ignored: they
// would mangle ordinary text and are not worth hiding.
func (r *Redactor) Add(secret string) {
	if r == nil || len(secret) < 4 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range r.secrets {
		if s == secret {
			return
		}
	}
	r.secrets = append(r.secrets, secret)
	// Longest first: the Replacer prefers earlier pairs at a position, and a
	// secret that is a prefix of another must not leave the other's tail.
	sorted := slices.Clone(r.secrets)
	sort.SliceStable(sorted, func(i, j int) bool { return len(sorted[i]) > len(sorted[j]) })
	pairs := make([]string, 0, 2*len(sorted))
	for _, s := range sorted {
		pairs = append(pairs, s, "****")
	}
	r.r = strings.NewReplacer(pairs...)
}

// Redact returns s with every registered secret replaced.
func (r *Redactor) Redact(s string) string {
	if r == nil || s == "" {
		return s
	}
	r.mu.RLock()
	rep := r.r
	r.mu.RUnlock()
	if rep == nil {
		return s
	}
	return rep.Replace(s)
}
