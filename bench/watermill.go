package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// peer is what a Watermill run reports.
type peer struct {
	name       string
	send, pump float64
	p50, p99   time.Duration
}

// watermillPeers are the watermill-nats packages run, the tuned one first.
var watermillPeers = []struct{ flag, name string }{
	{"nats", "pkg/nats, JetStream, AckAsync"},
	{"jetstream", "pkg/jetstream"},
}

// runWatermill runs the same workloads through Watermill with
// watermill-nats in JetStream mode. It lives in bench/watermill, a module
// of its own, so that Watermill stays out of gobus's dependencies; it is
// started with go run against this benchmark's server.
func runWatermill(url string, cfg config, which, name string) (*peer, error) {
	_, self, _, ok := runtime.Caller(0)
	if !ok {
		return nil, fmt.Errorf("cannot find the bench/watermill directory")
	}
	cmd := exec.Command("go", "run", ".", "-url", url, "-n", strconv.Itoa(cfg.messages),
		"-rounds", strconv.Itoa(cfg.rounds), "-rate", strconv.Itoa(cfg.rate), "-duration", cfg.duration.String(),
		"-peer", which, "-subscribers", strconv.Itoa(cfg.concurrency), "-prefetch", strconv.Itoa(cfg.prefetch))
	cmd.Dir = filepath.Join(filepath.Dir(self), "watermill")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.Env = os.Environ()
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%w: %s", err, strings.TrimSpace(stderr.String()))
	}
	p := peer{name: name}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 3 || f[0] != "watermill" {
			continue
		}
		switch f[1] {
		case "send":
			p.send, _ = strconv.ParseFloat(f[2], 64)
		case "pump":
			p.pump, _ = strconv.ParseFloat(f[2], 64)
		case "p50":
			p.p50, _ = time.ParseDuration(f[2])
		case "p99":
			p.p99, _ = time.ParseDuration(f[2])
		}
	}
	return &p, nil
}
