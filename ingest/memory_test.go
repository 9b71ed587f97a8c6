//go:build linux || darwin

package ingest

import (
	"bytes"
	"fmt"
	"net"
	"net/http/httptest"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// ensureFDs raises the soft limit of open files to need if it is lower,
// within the hard limit, or skips the test saying why.
func ensureFDs(t *testing.T, need uint64) {
	t.Helper()
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		t.Skipf("cannot read the limit of open files: %v", err)
	}
	if rl.Cur >= need {
		return
	}
	if rl.Max < need {
		t.Skipf("needs %d open files, the hard limit is %d (raise ulimit -Hn)", need, rl.Max)
	}
	old := rl
	rl.Cur = need
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		t.Skipf("cannot raise the limit of open files to %d: %v", need, err)
	}
	t.Cleanup(func() { _ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &old) })
}

// TestSlowBodiesMemory is the slow-loris case: 1,000 connections each
// announce a body of 10 MiB (the default limit), send 4 KiB of it and
// stall. Before, the handler grew a buffer to each Content-Length before
// reading: 10 GiB for nothing. Now memory follows the bytes that arrived
// and every body takes it from one budget, here the least the default body
// limit allows (3×(10 MiB+1), 960 pieces of 32 KiB): 960 connections hold
// a piece and wait, the other 40 are refused at once with 503.
//
// It checks the process's own heap, not time: after a GC, the heap may have
// grown by the budget plus a slack per connection, for what net/http keeps
// of one besides its body, which no budget of bodies can hold back: its
// 4 KiB read buffer, its 4 KiB and 2 KiB write buffers, the request with
// its headers and context (a heap profile shows these), and the client
// side's socket. That measured about 15 KiB a connection, with and without
// -race (44 MiB in all); perConnSlack leaves room over it.
func TestSlowBodiesMemory(t *testing.T) {
	const (
		conns        = 1000
		announced    = DefaultMaxBodyBytes
		sent         = 4 << 10
		perConnSlack = 24 << 10
	)
	ensureFDs(t, 2*conns+100)
	budget := minInflightBodyBytes(DefaultMaxBodyBytes)
	held := budget / bodyStep
	refused := conns - held

	e := newEdge(t, nil, Limits{MaxInflightBodyBytes: budget, BodyReadTimeout: 10 * time.Minute})
	srv := httptest.NewServer(e.mux)
	defer srv.Close()
	head := []byte(fmt.Sprintf("POST /ingest/alertmanager HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", announced))
	body := append([]byte(`{"version":"4","alerts":[`), bytes.Repeat([]byte(" "), sent)...)

	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)

	var (
		wg        sync.WaitGroup
		mu        sync.Mutex
		open      []net.Conn
		answered  atomic.Int64
		answers   = map[string]int{}
		dialFails atomic.Int64
	)
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("tcp", srv.Listener.Addr().String())
			if err != nil {
				dialFails.Add(1)
				return
			}
			mu.Lock()
			open = append(open, c)
			mu.Unlock()
			if _, err := c.Write(head); err != nil {
				return
			}
			if _, err := c.Write(body); err != nil {
				return
			}
			// A refused request is answered while its body is still
			// coming; a held one waits until the test closes it.
			var buf [512]byte
			n, _ := c.Read(buf[:])
			status, _, _ := bytes.Cut(buf[:n], []byte("\r\n"))
			retry := bytes.Contains(buf[:n], []byte("\r\nRetry-After: 5\r\n"))
			mu.Lock()
			answers[fmt.Sprintf("%s retry-after=%v", status, retry)]++
			mu.Unlock()
			answered.Add(1)
		}()
	}
	waitFor(t, func() bool {
		return dialFails.Load() > 0 || e.h.budget.used.Load() == held*bodyStep && answered.Load() == refused
	})
	if n := dialFails.Load(); n > 0 {
		t.Fatalf("%d connections could not be made", n)
	}

	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	heapAlloc := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	heapInuse := int64(after.HeapInuse) - int64(before.HeapInuse)
	bound := budget + conns*perConnSlack
	t.Logf("%d connections announcing %d bytes, %d sent each: %d held (%d bytes of budget), %d refused",
		conns, announced, sent, held, e.h.budget.used.Load(), refused)
	t.Logf("heap growth: HeapAlloc %+d bytes (%.1f MiB), HeapInuse %+d bytes (%.1f MiB); bound %d bytes (%.1f MiB) = budget %d + %d × %d",
		heapAlloc, float64(heapAlloc)/(1<<20), heapInuse, float64(heapInuse)/(1<<20), bound, float64(bound)/(1<<20), budget, conns, perConnSlack)
	if heapAlloc > bound || heapInuse > bound {
		t.Errorf("the heap grew by %d (HeapAlloc) and %d (HeapInuse) bytes, more than the budget and slack, %d", heapAlloc, heapInuse, bound)
	}

	mu.Lock()
	want := map[string]int{"HTTP/1.1 503 Service Unavailable retry-after=true": int(refused)}
	if fmt.Sprint(answers) != fmt.Sprint(want) {
		t.Errorf("answers while stalled: %v, want %v", answers, want)
	}
	if got := e.rejected("alertmanager", reasonMemoryBudget); got != float64(refused) {
		t.Errorf("memory_budget counted %v times, want %d", got, refused)
	}
	for _, c := range open {
		_ = c.Close() // the test is done with it
	}
	mu.Unlock()
	wg.Wait()
	waitFor(t, func() bool { return e.h.budget.used.Load() == 0 })
}
