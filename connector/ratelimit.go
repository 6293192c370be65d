package connector

import (
	"context"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// limiter paces one rate-limit category. It is shared by every goroutine.
//
// A known per-second limit is a token bucket at 97% of the limit with a
// burst of one, so no one-second window sees more than the limit. Without a
// known limit requests are not paced until the API answers 429; then the
// bucket starts at 90% of the rate observed in the last second and every
// further 429 lowers it by a tenth. A known daily cap is counted locally:
// when it is spent the category stops until 00:00 UTC instead of spending
// requests on 429s.
type limiter struct {
	name string
	now  func() time.Time

	mu        sync.Mutex
	lim       *rate.Limiter // nil: unpaced
	perDay    int
	day       int // yday+year*1000 of usedToday
	usedToday int
	exhausted time.Time // category unusable until then
	window    [2]int    // requests started in this and the previous second
	windowSec int64
	throttled int // 429s seen
}

func newLimiter(name string, l Limit, now func() time.Time) *limiter {
	lm := &limiter{name: name, now: now, perDay: l.PerDay}
	if l.PerSecond > 0 {
		lm.lim = rate.NewLimiter(rate.Limit(l.PerSecond*0.97), 1)
	}
	return lm
}

// wait blocks until a request may start. It returns a *RateLimitError when
// the category is exhausted, or the context's error.
func (l *limiter) wait(ctx context.Context) error {
	l.mu.Lock()
	now := l.now()
	if now.Before(l.exhausted) {
		l.mu.Unlock()
		return &RateLimitError{Category: l.name, Reset: l.exhausted}
	}
	if l.perDay > 0 {
		d := now.UTC().YearDay() + now.UTC().Year()*1000
		if d != l.day {
			l.day, l.usedToday = d, 0
		}
		if l.usedToday >= l.perDay {
			l.exhausted = nextMidnight(now)
			l.mu.Unlock()
			return &RateLimitError{Category: l.name, Reset: l.exhausted}
		}
		l.usedToday++
	}
	sec := now.Unix()
	switch {
	case sec == l.windowSec:
	case sec == l.windowSec+1:
		l.window = [2]int{0, l.window[0]}
	default:
		l.window = [2]int{}
	}
	l.windowSec = sec
	l.window[0]++
	lim := l.lim
	l.mu.Unlock()
	if lim == nil {
		return nil
	}
	return lim.Wait(ctx)
}

// throttle slows the category down after a per-second 429.
func (l *limiter) throttle() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.throttled++
	if l.lim == nil {
		observed := float64(l.window[0] + l.window[1])
		if l.now().Unix() == l.windowSec {
			// Two windows, the current one partial: an over-estimate is fine.
			observed = math.Max(float64(l.window[1]), float64(l.window[0]))
		}
		r := math.Max(1, observed*0.9)
		l.lim = rate.NewLimiter(rate.Limit(r), 1)
		return
	}
	r := float64(l.lim.Limit()) * 0.9
	l.lim.SetLimit(rate.Limit(math.Max(0.5, r)))
}

// exhaust marks the category unusable until reset (a daily 429).
func (l *limiter) exhaust(reset time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if reset.IsZero() {
		reset = nextMidnight(l.now())
	}
	if reset.After(l.exhausted) {
		l.exhausted = reset
	}
}

func nextMidnight(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d+1, 0, 0, 0, 0, time.UTC)
}
