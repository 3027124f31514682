package relay

import (
	"container/heap"
	"fmt"
	"sync"
	"time"
)

// scheduler runs functions at their time, in time order (equal times in the order they were
// scheduled), on one goroutine started on first use.
type scheduler struct {
	mu      sync.Mutex
	queue   timedQueue
	seq     uint64
	wake    chan struct{}
	stop    chan struct{}
	done    chan struct{}
	started bool
	closed  bool
}

type timed struct {
	at  time.Time
	seq uint64
	fn  func()
}

type timedQueue []timed

func (q timedQueue) Len() int { return len(q) }
func (q timedQueue) Less(i, j int) bool {
	if q[i].at.Equal(q[j].at) {
		return q[i].seq < q[j].seq
	}
	return q[i].at.Before(q[j].at)
}
func (q timedQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *timedQueue) Push(x any)   { *q = append(*q, x.(timed)) }
func (q *timedQueue) Pop() any {
	old := *q
	t := old[len(old)-1]
	*q = old[:len(old)-1]
	return t
}

func newScheduler() *scheduler {
	return &scheduler{wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
}

// at runs fn at t, unless the scheduler closes first. Times come from the datagrams' arrival
// (not from when they are scheduled), so that a later arrival never overtakes an earlier one
// that was slower to schedule.
func (s *scheduler) at(t time.Time, fn func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.seq++
	heap.Push(&s.queue, timed{at: t, seq: s.seq, fn: fn})
	if !s.started {
		s.started = true
		go s.run()
	}
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *scheduler) run() {
	defer close(s.done)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		s.mu.Lock()
		var due []func()
		now := time.Now()
		for len(s.queue) > 0 && !s.queue[0].at.After(now) {
			due = append(due, heap.Pop(&s.queue).(timed).fn)
		}
		next := time.Hour
		if len(s.queue) > 0 {
			next = s.queue[0].at.Sub(now)
		}
		s.mu.Unlock()
		for _, fn := range due {
			fn()
		}
		timer.Reset(next)
		select {
		case <-s.stop:
			return
		case <-s.wake:
		case <-timer.C:
		}
	}
}

// close drops what is still queued and waits at most limit for the goroutine to end.
func (s *scheduler) close(limit time.Duration) error {
	s.mu.Lock()
	s.closed = true
	started := s.started
	s.queue = nil
	s.mu.Unlock()
	if !started {
		return nil
	}
	close(s.stop)
	select {
	case <-s.done:
		return nil
	case <-time.After(limit):
		return fmt.Errorf("relay: the delay scheduler did not stop within %s", limit)
	}
}
