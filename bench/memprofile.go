package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	gobus "github.com/gobusdev/gobus/runtime"
)

// allocsOnly measures the allocations of the gobus pump alone, the quick
// loop for work on the hot path, and the client's CPU per message sent and
// handled, gobus's against raw nats.go's (with gobus's CloudEvents headers
// too) in the same run. With -memprofile it writes an allocation profile
// of the pump (what filling the queue allocated is subtracted: the
// profile is taken with the fill's as its base, see writeAllocs); with
// -cpuprofile, a CPU profile of the pump.
func (b *bench) allocsOnly(ctx context.Context, out io.Writer) error {
	if b.cfg.memprofile != "" {
		runtime.MemProfileRate = 1
	}
	n := b.cfg.messages
	var gobusCPU, rawCPU, ceCPU clientCPU
	var err error
	if gobusCPU.sent, err = b.cpuOf(n, &gobusCPU.serverSent, func() error { return b.fillGobus(ctx, n) }); err != nil {
		return err
	}
	if err := b.writeAllocs(b.cfg.memprofile + ".base"); err != nil {
		return err
	}
	stop := b.startProfile()
	objects, bytes := allocated()
	gobusCPU.handled, err = b.cpuOf(n, &gobusCPU.serverHandled, b.serverProfiled("gobus", func() error {
		wait, err := b.gobusEndpoint(ctx, func(*gobus.MessageContext) {})
		if err == nil {
			_, err = wait(n)
		}
		return err
	}))
	stop()
	if err != nil {
		return err
	}
	objects1, bytes1 := allocated()
	a, ab := float64(objects1-objects)/float64(n), float64(bytes1-bytes)/float64(n)
	if err := b.writeAllocs(b.cfg.memprofile); err != nil {
		return err
	}
	var rawAllocs, ceAllocs [2]float64 // objects, bytes per handled message
	for _, raw := range []struct {
		name    string
		cpu     *clientCPU
		allocs  *[2]float64
		message func(int) *nats.Msg
	}{{"raw", &rawCPU, &rawAllocs, b.rawMessage}, {"ce", &ceCPU, &ceAllocs, b.ceMessage}} {
		if raw.cpu.sent, err = b.cpuOf(n, &raw.cpu.serverSent, func() error { return b.fillRawOf(ctx, n, raw.message) }); err != nil {
			return err
		}
		objects, bytes := allocated()
		if raw.cpu.handled, err = b.cpuOf(n, &raw.cpu.serverHandled, b.serverProfiled(raw.name, func() error {
			wait, err := b.rawConsume(ctx, func(jetstream.Msg) {})
			if err == nil {
				_, err = wait(n)
			}
			return err
		})); err != nil {
			return err
		}
		objects1, bytes1 := allocated()
		*raw.allocs = [2]float64{float64(objects1-objects) / float64(n), float64(bytes1-bytes) / float64(n)}
	}
	fmt.Fprintf(out, "client CPU per message   %12s %16s %10s %10s\n", "raw nats.go", "raw, CE headers", "gobus", "added")
	fmt.Fprintf(out, "  sent                   %9.2f µs %13.2f µs %7.2f µs %7.2f µs\n", rawCPU.sent, ceCPU.sent, gobusCPU.sent, gobusCPU.sent-ceCPU.sent)
	fmt.Fprintf(out, "  handled                %9.2f µs %13.2f µs %7.2f µs %7.2f µs\n", rawCPU.handled, ceCPU.handled, gobusCPU.handled, gobusCPU.handled-ceCPU.handled)
	fmt.Fprintf(out, "server CPU per message\n")
	fmt.Fprintf(out, "  sent                   %9.2f µs %13.2f µs %7.2f µs\n", rawCPU.serverSent, ceCPU.serverSent, gobusCPU.serverSent)
	fmt.Fprintf(out, "  handled                %9.2f µs %13.2f µs %7.2f µs\n", rawCPU.serverHandled, ceCPU.serverHandled, gobusCPU.serverHandled)
	fmt.Fprintf(out, "allocated per handled message %12s %16s %10s %10s\n", "raw nats.go", "raw, CE headers", "gobus", "added")
	fmt.Fprintf(out, "  objects                %12.1f %16.1f %10.1f %10.1f\n", rawAllocs[0], ceAllocs[0], a, a-ceAllocs[0])
	fmt.Fprintf(out, "  bytes                  %12.0f %16.0f %10.0f %10.0f\n", rawAllocs[1], ceAllocs[1], ab, ab-ceAllocs[1])
	fmt.Fprintf(out, "allocs per message %.1f\n", a)
	fmt.Fprintf(out, "bytes allocated per handled message %.0f\n", ab)
	if b.cfg.memprofile != "" {
		fmt.Fprintf(out, "go tool pprof -sample_index=alloc_objects -base %s.base -top %s\n", b.cfg.memprofile, b.cfg.memprofile)
	}
	if p := b.cfg.serverProfile; p != "" {
		fmt.Fprintf(out, "go tool pprof -top -diff_base %s.ce %s.gobus   # the server's CPU, gobus's pump over raw with the same headers\n", p, p)
	}
	return nil
}

// clientCPU is this process's CPU per message, in µs, sending and
// handling, and the server's meanwhile.
type clientCPU struct{ sent, handled, serverSent, serverHandled float64 }

// serverProfiled is f run with the server's CPU profiled into
// -serverprofile with "."+name appended, if that is given.
func (b *bench) serverProfiled(name string, f func() error) func() error {
	if b.cfg.serverProfile == "" {
		return f
	}
	return func() error { return b.server.profile(b.cfg.serverProfile+"."+name, f) }
}

// cpuOf runs f, which sends or handles n messages, and returns this
// process's CPU time per message in µs; the server's goes to server.
func (b *bench) cpuOf(n int, server *float64, f func() error) (float64, error) {
	cpu0, scpu0 := cpuTime(), procCPU(b.serverPid)
	err := f()
	*server = float64((procCPU(b.serverPid) - scpu0).Microseconds()) / float64(n)
	return float64((cpuTime() - cpu0).Microseconds()) / float64(n), err
}

// writeAllocs writes the allocation profile so far to path, if any.
func (b *bench) writeAllocs(path string) error {
	if b.cfg.memprofile == "" {
		return nil
	}
	runtime.GC()
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return pprof.Lookup("allocs").WriteTo(f, 0)
}
