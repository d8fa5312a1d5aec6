package main

import "time"

// Container restart back-off, shaped like the kubelet's but shorter so tests
// do not wait: the kubelet starts at 10 s and doubles up to 5 min, and forgets
// a container's back-off when it was last bumped more than twice the cap ago.
// Here it starts at 1 s and doubles up to 30 s, forgotten after 60 s.
const (
	backoffStart = time.Second
	backoffCap   = 30 * time.Second
)

// backoff is one container's restart delay. Not safe for concurrent use; each
// container loop owns its own.
type backoff struct {
	start, cap time.Duration
	cur        time.Duration
	last       time.Time // when next last returned
}

func newBackoff() backoff { return backoff{start: backoffStart, cap: backoffCap} }

// next returns how long to wait before the next restart, and records now.
func (b *backoff) next(now time.Time) time.Duration {
	if b.cur == 0 || b.last.IsZero() || now.Sub(b.last) > 2*b.cap {
		b.cur = b.start
	} else {
		b.cur = min(2*b.cur, b.cap)
	}
	b.last = now
	return b.cur
}
