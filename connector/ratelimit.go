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
// bucket runs at 95% of the requests the API accepted that were sent in the
// second before the throttled one (a per-second 429 means the API just
// counted its limit of requests in its last second), counted again once
// the answers to those still in flight are in, and every further 429
// lowers it by a tenth.
// A 429 to a request sent before the last change of pace says nothing about
// the new pace (the requests in flight when the first 429 arrives are
// answered 429 too) and changes nothing. A pace lowered by 429s climbs back
// by 5% a second towards its ceiling (97% of the known limit, or the first
// estimate) once no 429 came for recoverAfter: one 429 from clock jitter,
// or from another app of the account, does not slow the rest of the sync.
// A known daily cap is counted locally: when it is spent the category stops
// until 00:00 UTC instead of spending requests on 429s.
type limiter struct {
	name string
	now  func() time.Time

	mu        sync.Mutex
	lim       *rate.Limiter // nil: unpaced
	perDay    int
	day       int // yday+year*1000 of usedToday
	usedToday int
	exhausted time.Time // category unusable until then
	// answers holds the requests the API answered (not 429) in the last
	// two seconds, while the category's limit is unknown or being learnt.
	answers   []answer
	learnAt   time.Time  // send time of the first 429 while learning, else zero
	changed   time.Time  // last change of pace by a 429
	raised    time.Time  // last step back up
	ceiling   rate.Limit // the pace before any 429 lowered it
	hold      time.Time  // no request before then (the API's window is full)
	throttled int        // 429s seen
}

type answer struct{ sent, got time.Time }

// recoverAfter is how long a lowered pace stays low without 429s.
const recoverAfter = 5 * time.Second

func newLimiter(name string, l Limit, now func() time.Time) *limiter {
	lm := &limiter{name: name, now: now, perDay: l.PerDay}
	if l.PerSecond > 0 {
		lm.ceiling = rate.Limit(l.PerSecond * 0.97)
		lm.lim = rate.NewLimiter(lm.ceiling, 1)
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
	if !l.learnAt.IsZero() && !now.Before(l.hold) {
		l.learned()
	}
	lim := l.lim
	if lim != nil && lim.Limit() < l.ceiling && now.Sub(l.changed) >= recoverAfter && now.Sub(l.raised) >= time.Second {
		lim.SetLimit(min(l.ceiling, lim.Limit()*1.05))
		l.raised = now
	}
	hold := min(l.hold.Sub(now), time.Second) // a second at most, whatever the clock does
	l.mu.Unlock()
	if hold > 0 {
		t := time.NewTimer(hold)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
	if lim == nil {
		return nil
	}
	return lim.Wait(ctx)
}

// answered records that the API answered a request of the category sent
// at sent with anything but a 429, for learning an unknown limit.
func (l *limiter) answered(sent time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lim != nil && l.learnAt.IsZero() {
		return // paced, and the limit is learnt
	}
	now := l.now()
	i := 0
	for i < len(l.answers) && now.Sub(l.answers[i].got) >= 2*time.Second {
		i++
	}
	if i > 0 {
		l.answers = append(l.answers[:0], l.answers[i:]...)
	}
	l.answers = append(l.answers, answer{sent: sent, got: now})
}

// acceptedBefore counts the answered requests sent in the second before t,
// and returns when the API answered the first of them.
func (l *limiter) acceptedBefore(t time.Time) (n int, first time.Time) {
	for _, a := range l.answers {
		if a.sent.Before(t) && t.Sub(a.sent) < time.Second {
			if n == 0 || a.got.Before(first) {
				first = a.got
			}
			n++
		}
	}
	return n, first
}

// learned ends learning: the answers to the requests sent before the first
// 429 are in by now, and may raise the pace estimated when it came.
func (l *limiter) learned() {
	n, _ := l.acceptedBefore(l.learnAt)
	if r := rate.Limit(math.Max(1, float64(n)*0.95)); r > l.ceiling {
		if l.lim.Limit() == l.ceiling {
			l.lim.SetLimit(r)
		}
		l.ceiling = r
	}
	l.learnAt, l.answers = time.Time{}, nil
}

// throttle slows the category down after a per-second 429 to a request
// sent at sent.
func (l *limiter) throttle(sent time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.throttled++
	now := l.now()
	if sent.Before(l.changed) {
		return // sent at the old pace
	}
	l.changed = now
	if l.lim == nil {
		// The API's last second holds the accepted requests: none more
		// until the first of them is a second old.
		n, first := l.acceptedBefore(sent)
		if n > 0 {
			l.hold = first.Add(time.Second)
		}
		l.learnAt = sent
		l.ceiling = rate.Limit(math.Max(1, float64(n)*0.95))
		l.lim = rate.NewLimiter(l.ceiling, 1)
		return
	}
	if !l.learnAt.IsZero() {
		l.learned()
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
