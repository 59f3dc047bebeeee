package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	gobustestv1 "github.com/gobusdev/gobus/internal/testproto/gobustest/v1"
	gobus "github.com/gobusdev/gobus/runtime"
)

// idleCounts are the numbers of endpoints of the idle workload.
var idleCounts = []int{1, 10, 50, 200}

// idleResult is the cost of n idle endpoints on one client and one
// server: how long starting them took, then over the idle window the CPU
// of each process (as a share of one core) and what their memory grew by.
type idleResult struct {
	n                    int
	start                time.Duration
	clientCPU, serverCPU float64 // share of one core, all n endpoints
	clientHeap           int64   // bytes, Go heap and stacks in use
	clientRSS, serverRSS int64   // bytes
}

// eventHandler handles WorkDone events, which never come in this
// workload.
type eventHandler struct{}

func (eventHandler) HandleWorkDone(context.Context, *gobus.MessageContext, *gobustestv1.WorkDone) error {
	return nil
}

// idle starts n endpoints on a client of their own, each subscribed to an
// event (a consumer each, pulling, with the pump's heartbeats), for each
// n of idleCounts, and measures them idle for window. The first result is
// a client with no endpoint: the baseline printIdle subtracts. The server
// keeps every round's streams and consumers; each round reports what its
// own endpoints added.
func idle(ctx context.Context, srv *benchServer, window time.Duration) ([]idleResult, error) {
	var out []idleResult
	for _, n := range append([]int{0}, idleCounts...) {
		r, err := idleRound(ctx, srv, n, window)
		if err != nil {
			return nil, fmt.Errorf("%d endpoints: %w", n, err)
		}
		out = append(out, r)
	}
	return out, nil
}

func idleRound(ctx context.Context, srv *benchServer, n int, window time.Duration) (idleResult, error) {
	server := srv.cmd.Process.Pid
	c, err := gobus.Connect(ctx, gobus.WithURL(srv.url), gobus.WithSource("bench-idle"),
		gobus.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		return idleResult{}, err
	}
	defer c.Close(ctx)
	srss0, err := srv.settledRSS()
	if err != nil {
		return idleResult{}, err
	}
	heap0, rss0 := heapInUse(), rss(os.Getpid())
	r := idleResult{n: n}
	start := time.Now()
	eps := make([]*gobus.Endpoint, 0, n)
	defer func() {
		for _, ep := range eps {
			_ = ep.Stop(ctx)
		}
	}()
	for i := range n {
		ep, err := gobus.NewEndpoint(c, "idle"+strconv.Itoa(n)+"-"+strconv.Itoa(i))
		if err != nil {
			return r, err
		}
		if err := gobustestv1.RegisterWorkDoneHandler(ep, eventHandler{}); err != nil {
			return r, err
		}
		if err := ep.Start(ctx); err != nil {
			return r, err
		}
		eps = append(eps, ep)
	}
	r.start = time.Since(start)
	time.Sleep(2 * time.Second) // let the first pulls and heartbeats settle
	cpu0, scpu0, t0 := cpuTime(), procCPU(server), time.Now()
	time.Sleep(window)
	elapsed := time.Since(t0).Seconds()
	r.clientCPU = (cpuTime() - cpu0).Seconds() / elapsed
	r.serverCPU = (procCPU(server) - scpu0).Seconds() / elapsed
	r.clientHeap = heapInUse() - heap0
	srss, err := srv.settledRSS()
	if err != nil {
		return r, err
	}
	r.clientRSS, r.serverRSS = rss(os.Getpid())-rss0, srss-srss0
	return r, nil
}

func heapInUse() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapInuse + m.StackInuse)
}

// rss is the resident set of process pid, from /proc; 0 if unknown.
func rss(pid int) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseInt(f[1], 10, 64)
	return pages * int64(os.Getpagesize())
}

// procCPU is the CPU time process pid has used, user and system, from
// /proc; 0 if unknown.
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	s := string(b)
	// The command name is in parentheses and may hold spaces.
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	const ticks = 100 // USER_HZ on Linux
	return time.Duration(utime+stime) * time.Second / ticks
}

// printIdle writes the idle rows per endpoint, the CPU of a client with
// no endpoint (rs[0]) subtracted. The client's RSS moves with what the
// earlier workloads left to the garbage collector and the OS; its heap in
// use is the steadier figure. The server's RSS is taken settled (see
// benchServer.settledRSS), before and after each round.
func printIdle(out io.Writer, rs []idleResult, window time.Duration) {
	base := rs[0]
	fmt.Fprintf(out, "\nidle endpoints on one client (%s window; CPU less a client without endpoints: client %.3f%%, server %.3f%% of a core)\n",
		window, 100*base.clientCPU, 100*base.serverCPU)
	fmt.Fprintf(out, "  %-15s %9s %18s %18s %16s %16s %16s\n", "", "start", "client CPU/ep", "server CPU/ep", "client heap/ep", "client RSS/ep", "server RSS/ep")
	rs = rs[1:]
	for i := range rs {
		rs[i].clientCPU = max(rs[i].clientCPU-base.clientCPU, 0)
		rs[i].serverCPU = max(rs[i].serverCPU-base.serverCPU, 0)
	}
	for _, r := range rs {
		n := float64(r.n)
		fmt.Fprintf(out, "  %4d endpoints  %9s %17.3f%% %17.3f%% %13.0f KB %13.0f KB %13.0f KB\n", r.n, r.start.Round(time.Millisecond),
			100*r.clientCPU/n, 100*r.serverCPU/n, float64(r.clientHeap)/n/1024, float64(r.clientRSS)/n/1024, float64(r.serverRSS)/n/1024)
	}
	for _, r := range rs {
		fmt.Fprintf(out, "idle %d start %.2fs client cpu %.3f%% server cpu %.3f%% (per endpoint)\n", r.n, r.start.Seconds(),
			100*r.clientCPU/float64(r.n), 100*r.serverCPU/float64(r.n))
	}
}
