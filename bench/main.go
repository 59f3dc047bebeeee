// Command bench measures gobus against raw nats.go on the same JetStream
// server in the same run, and prints the ratios that matter:
//
//	go run ./bench
//
// It starts its own server (a child process, on 127.0.0.1, file storage,
// so the server's allocations and CPU are not counted as ours), then runs
// each workload for several rounds and reports medians:
//
//   - send: raw PublishMsgAsync with a bounded window, all acks awaited,
//     against a gobus Batch sending the same protobuf command;
//   - pump: raw Consume+Ack of pre-published messages against the gobus
//     pump with a handler that does nothing (decoding included), timed
//     from the first message handled to the last; the time from starting
//     the consumer to its first message has a row of its own;
//   - latency: publish to handled at a fixed rate, each message
//     acknowledged by JetStream before the next is sent (as the Watermill
//     peer publishes), p50 and p99;
//   - allocations per message handled by the pump, and by raw Consume+Ack
//     with and without gobus's CloudEvents headers.
//
// The last lines have a fixed form for scripts:
//
//	ratio send <gobus/raw>
//	ratio pump <gobus/raw>
//	ratio p99 <gobus/raw>
//	allocs per message <n>
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"sort"
	"strconv"
	"time"

	gobus "github.com/gobusdev/gobus/runtime"
)

type config struct {
	messages    int
	rounds      int
	window      int
	concurrency int
	prefetch    int
	rate        int
	duration    time.Duration
	profile     string
	memprofile  string
	// serverProfile, with -only allocs, is where the server's CPU
	// profiles of the pumps go.
	serverProfile string
	only          string
	idleWindow    time.Duration
	scaleN        int
	scaleConc     int
	nodes         int
	watermill     bool
	postgres      string
}

func main() {
	if len(os.Args) > 2 && os.Args[1] == "-serve" {
		serve(os.Args[2])
		return
	}
	if len(os.Args) > 3 && os.Args[1] == "-serve-cluster" {
		n, err := strconv.Atoi(os.Args[2])
		if err == nil {
			err = serveCluster(n, os.Args[3])
		}
		fmt.Fprintln(os.Stderr, "bench cluster:", err)
		os.Exit(1)
	}
	var cfg config
	flag.IntVar(&cfg.messages, "n", 20000, "messages per send and pump round")
	flag.IntVar(&cfg.rounds, "rounds", 5, "rounds per workload; medians are reported")
	flag.IntVar(&cfg.window, "window", 256, "publishes in flight when sending")
	flag.IntVar(&cfg.concurrency, "concurrency", gobus.DefaultConcurrency, "gobus handlers running at once")
	flag.IntVar(&cfg.prefetch, "prefetch", 0, "messages buffered ahead of the handlers, raw and gobus alike (default: gobus's, 4 x concurrency)")
	flag.IntVar(&cfg.rate, "rate", 2000, "messages per second in the latency workload")
	flag.DurationVar(&cfg.duration, "duration", 3*time.Second, "length of each latency round")
	flag.BoolVar(&cfg.watermill, "watermill", true, "also run the workloads through Watermill (bench/watermill, its own module)")
	flag.StringVar(&cfg.postgres, "postgres", os.Getenv("GOBUS_TEST_POSTGRES"), "PostgreSQL DSN for the outbox row (default GOBUS_TEST_POSTGRES; none: SQLite only)")
	flag.StringVar(&cfg.profile, "cpuprofile", "", "write a CPU profile of the last gobus pump round (with -only allocs: of the pump) to this file")
	flag.StringVar(&cfg.serverProfile, "serverprofile", "", "with -only allocs: write CPU profiles of the server while it feeds each pump, to this path with .raw, .ce and .gobus appended")
	flag.StringVar(&cfg.memprofile, "memprofile", "", "with -only allocs: write an allocation profile of the gobus pump to this file")
	flag.StringVar(&cfg.only, "only", "", "run some workloads only: ratios (send, pump, latency), allocs, fastbatch, codegen, bodies, idle, scale")
	flag.DurationVar(&cfg.idleWindow, "idle", 10*time.Second, "how long idle endpoints are measured")
	flag.IntVar(&cfg.scaleN, "scale-n", 6000, "messages of each scale-out round")
	flag.IntVar(&cfg.nodes, "cluster", 1, "run against a cluster of this many servers on loopback, every stream replicated on all of them (with -only ratios)")
	flag.IntVar(&cfg.scaleConc, "scale-concurrency", 4, "handlers of each instance in the scale-out rounds")
	flag.Parse()
	if cfg.prefetch <= 0 {
		cfg.prefetch = 4 * cfg.concurrency
	}
	if err := run(cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(cfg config, out io.Writer) error {
	srv, err := startServer(cfg.nodes)
	if err != nil {
		return err
	}
	defer srv.stop()
	ctx := context.Background()
	client, err := gobus.Connect(ctx, gobus.WithURL(srv.url), gobus.WithSource("bench"),
		gobus.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))), gobus.WithReplicas(cfg.nodes))
	if err != nil {
		return err
	}
	defer client.Close(ctx)
	b := &bench{cfg: cfg, client: client, js: client.JetStream(), server: srv, serverPid: srv.cmd.Process.Pid}
	if err := b.setup(ctx); err != nil {
		return err
	}
	switch cfg.only {
	case "":
	case "allocs":
		return b.allocsOnly(ctx, out)
	case "ratios":
		return b.ratiosOnly(ctx, out)
	case "fastbatch":
		return b.fastBatchOnly(ctx, out)
	case "codegen":
		b := &bench{cfg: cfg}
		stop := b.startProfile()
		defer stop()
		return printCodegen(out, cfg.rounds)
	case "bodies":
		rs, err := b.bodies(ctx)
		if err != nil {
			return err
		}
		printBodies(out, rs)
		return nil
	case "idle":
		rs, err := idle(ctx, srv, cfg.idleWindow)
		if err != nil {
			return err
		}
		printIdle(out, rs, cfg.idleWindow)
		return nil
	case "scale":
		rs, err := scaleOut(ctx, srv.url, cfg.scaleN, cfg.scaleConc)
		if err != nil {
			return err
		}
		printScaleOut(out, rs, cfg.scaleN, cfg.scaleConc)
		return nil
	default:
		return fmt.Errorf("-only %q: the workloads are: ratios, allocs, fastbatch, codegen, bodies, idle, scale", cfg.only)
	}

	fmt.Fprintf(out, "gobus bench: %d messages a round, %d rounds, window %d, concurrency %d, prefetch %d, %d msg/s for latency (each send acknowledged before the next)\n\n",
		cfg.messages, cfg.rounds, cfg.window, cfg.concurrency, cfg.prefetch, cfg.rate)
	send, err := b.rounds(ctx, b.rawSend, b.rawSendCE, b.gobusSend)
	if err != nil {
		return fmt.Errorf("send: %w", err)
	}
	pump, err := b.rounds(ctx, b.rawPump, b.rawPumpCE, b.gobusPump)
	if err != nil {
		return fmt.Errorf("pump: %w", err)
	}
	rawSend, rawSendCE, gobusSend := send[0], send[1], send[2]
	rawPump, rawPumpCE, gobusPump := pump[0], pump[1], pump[2]
	rawLat, gobusLat, err := b.latency(ctx)
	if err != nil {
		return fmt.Errorf("latency: %w", err)
	}
	allocs, rawAllocs, ceAllocs, err := b.allocs(ctx)
	if err != nil {
		return fmt.Errorf("allocations: %w", err)
	}

	obs, err := b.observability(ctx, srv.url)
	if err != nil {
		return fmt.Errorf("observability: %w", err)
	}

	boxes, err := b.outboxes(ctx, srv.url, cfg.postgres)
	if err != nil {
		return fmt.Errorf("outbox: %w", err)
	}

	bodies, err := b.bodies(ctx)
	if err != nil {
		return fmt.Errorf("bodies: %w", err)
	}
	scale, err := scaleOut(ctx, srv.url, cfg.scaleN, cfg.scaleConc)
	if err != nil {
		return fmt.Errorf("scale-out: %w", err)
	}
	idles, err := idle(ctx, srv, cfg.idleWindow)
	if err != nil {
		return fmt.Errorf("idle: %w", err)
	}

	var wms []*peer
	if cfg.watermill {
		for _, w := range watermillPeers {
			p, err := runWatermill(srv.url, cfg, w.flag, w.name)
			if err != nil {
				fmt.Fprintf(out, "watermill %s: skipped: %v\n\n", w.name, err)
				continue
			}
			wms = append(wms, p)
		}
	}

	fmt.Fprintf(out, "%-28s %14s %16s %14s %8s %8s\n", "workload", "raw nats.go", "raw, CE headers", "gobus", "ratio", "vs CE")
	fmt.Fprintf(out, "%-28s %12.0f/s %14.0f/s %12.0f/s %8.2f %8.2f\n", "send (msgs/s)", rawSend, rawSendCE, gobusSend, gobusSend/rawSend, gobusSend/rawSendCE)
	fmt.Fprintf(out, "%-28s %12.0f/s %14.0f/s %12.0f/s %8.2f %8.2f\n", "pump (msgs/s)", rawPump, rawPumpCE, gobusPump, gobusPump/rawPump, gobusPump/rawPumpCE)
	fmt.Fprintf(out, "%-28s %14s %16s %14s\n", "pump start to 1st message", b.startups.rawMedian(), "", b.startups.gobusMedian())
	fmt.Fprintf(out, "%-28s %14s %16s %14s %8.2f\n", "latency p50", rawLat.p50.Round(time.Microsecond), "", gobusLat.p50.Round(time.Microsecond), float64(gobusLat.p50)/float64(rawLat.p50))
	fmt.Fprintf(out, "%-28s %14s %16s %14s %8.2f\n", "latency p99", rawLat.p99.Round(time.Microsecond), "", gobusLat.p99.Round(time.Microsecond), float64(gobusLat.p99)/float64(rawLat.p99))
	fmt.Fprintf(out, "%-28s %14.1f %16.1f %14.1f\n", "allocs per handled message", rawAllocs, ceAllocs, allocs)
	for _, wm := range wms {
		fmt.Fprintf(out, "\nWatermill (watermill-nats %s): send %.0f/s (%.2f of raw), pump %.0f/s (%.2f of raw), latency p50 %s, p99 %s\n",
			wm.name, wm.send, wm.send/rawSend, wm.pump, wm.pump/rawPump, wm.p50.Round(time.Microsecond), wm.p99.Round(time.Microsecond))
		fmt.Fprintf(out, "  gobus ÷ it: send %.2f, pump %.2f, p50 %.2f, p99 %.2f (p50, p99: below 1 is gobus ahead)\n",
			gobusSend/wm.send, gobusPump/wm.pump, float64(gobusLat.p50)/float64(wm.p50), float64(gobusLat.p99)/float64(wm.p99))
	}
	printObservability(out, obs)
	printOutboxes(out, boxes)
	printBodies(out, bodies)
	printScaleOut(out, scale, cfg.scaleN, cfg.scaleConc)
	printIdle(out, idles, cfg.idleWindow)
	fmt.Fprintln(out)
	if err := printCodegen(out, 3); err != nil {
		return err
	}
	fmt.Fprintln(out)
	fmt.Fprintf(out, "ratio send %.2f\n", gobusSend/rawSend)
	fmt.Fprintf(out, "ratio pump %.2f\n", gobusPump/rawPump)
	fmt.Fprintf(out, "ratio p99 %.2f\n", float64(gobusLat.p99)/float64(rawLat.p99))
	fmt.Fprintf(out, "allocs per message %.0f\n", allocs)
	fmt.Fprintf(out, "ratio pump observability no-SDK/off %.2f\n", obs[1].pump/obs[0].pump)
	fmt.Fprintf(out, "ratio pump observability SDK/off %.2f\n", obs[2].pump/obs[0].pump)
	for _, r := range boxes {
		fmt.Fprintf(out, "ratio outbox/publish %s %.2f\n", r.store, r.outbox/r.publish)
	}
	return nil
}

// rounds runs the workloads in turn, cfg.rounds times each, and returns
// the median rate of each.
func (b *bench) rounds(ctx context.Context, workloads ...func(context.Context) (float64, error)) ([]float64, error) {
	rates := make([][]float64, len(workloads))
	for range b.cfg.rounds {
		for i, w := range workloads {
			runtime.GC() // each round starts from a clean heap
			r, err := w(ctx)
			if err != nil {
				return nil, err
			}
			rates[i] = append(rates[i], r)
		}
	}
	medians := make([]float64, len(workloads))
	for i := range rates {
		medians[i] = median(rates[i])
	}
	return medians, nil
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[len(s)/2]
}
