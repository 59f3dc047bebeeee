package main

import (
	"os"
	"runtime/pprof"
)

// startProfile starts a CPU profile into -cpuprofile, if given, and
// returns what stops it. The last profiled round is the one left.
func (b *bench) startProfile() (stop func()) {
	if b.cfg.profile == "" {
		return func() {}
	}
	f, err := os.Create(b.cfg.profile)
	if err != nil {
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}
