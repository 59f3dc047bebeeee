package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"time"

	gobus "github.com/gobusdev/gobus/runtime"
)

// allocsOnly measures the allocations of the gobus pump alone, the quick
// loop for work on the hot path. With -memprofile it writes an allocation
// profile of the pump (what filling the queue allocated is subtracted:
// the profile is taken with the fill's as its base, see writeAllocs);
// with -cpuprofile, a CPU profile of the pump.
func (b *bench) allocsOnly(ctx context.Context, out io.Writer) error {
	if b.cfg.memprofile != "" {
		runtime.MemProfileRate = 1
	}
	n := b.cfg.messages
	if err := b.fillGobus(ctx, n); err != nil {
		return err
	}
	if err := b.writeAllocs(b.cfg.memprofile + ".base"); err != nil {
		return err
	}
	stop := b.startProfile()
	before, cpu0, start := mallocs(), cpuTime(), time.Now()
	wait, err := b.gobusEndpoint(ctx, func(*gobus.MessageContext) {})
	if err == nil {
		err = wait(n)
	}
	stop()
	if err != nil {
		return err
	}
	a := float64(mallocs()-before) / float64(n)
	cpu, wall := cpuTime()-cpu0, time.Since(start)
	if err := b.writeAllocs(b.cfg.memprofile); err != nil {
		return err
	}
	fmt.Fprintf(out, "allocs per message %.1f\n", a)
	fmt.Fprintf(out, "client CPU per handled message %.2f µs (%s CPU, %s wall)\n",
		float64(cpu.Microseconds())/float64(n), cpu.Round(time.Millisecond), wall.Round(time.Millisecond))
	if b.cfg.memprofile != "" {
		fmt.Fprintf(out, "go tool pprof -sample_index=alloc_objects -base %s.base -top %s\n", b.cfg.memprofile, b.cfg.memprofile)
	}
	return nil
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
