package main

import (
	"context"
	"fmt"
	"io"
	"strings"
)

// bodySizes are the body sizes of the bodies workload.
var bodySizes = []int{1 << 10, 16 << 10, 256 << 10}

// bodyBudget bounds the bytes of one round, so that large bodies send
// fewer messages: 20,000 of 1 KB, 4,096 of 16 KB, 256 of 256 KB.
const bodyBudget = 64 << 20

// bodyResult is the send and pump rates, raw and gobus, at one body size.
type bodyResult struct {
	size, messages     int
	rawSend, gobusSend float64
	rawPump, gobusPump float64
}

// bodies runs send and pump, raw and gobus, with Work commands whose id
// pads them to each size, 3 rounds each.
func (b *bench) bodies(ctx context.Context) ([]bodyResult, error) {
	var out []bodyResult
	for _, size := range bodySizes {
		bb := *b
		bb.pad = strings.Repeat("x", size)
		bb.cfg.messages = min(b.cfg.messages, bodyBudget/size)
		bb.cfg.rounds = 3
		bb.cfg.profile = ""
		send, err := bb.rounds(ctx, bb.rawSend, bb.gobusSend)
		if err != nil {
			return nil, fmt.Errorf("%d bytes: send: %w", size, err)
		}
		pump, err := bb.rounds(ctx, bb.rawPump, bb.gobusPump)
		if err != nil {
			return nil, fmt.Errorf("%d bytes: pump: %w", size, err)
		}
		out = append(out, bodyResult{size: size, messages: bb.cfg.messages,
			rawSend: send[0], gobusSend: send[1], rawPump: pump[0], gobusPump: pump[1]})
	}
	return out, nil
}

// printBodies writes the bodies rows.
func printBodies(out io.Writer, rs []bodyResult) {
	fmt.Fprintf(out, "\nbodies (3 rounds)   %9s %14s %14s %7s %14s %14s %7s %9s\n", "messages", "raw send", "gobus send", "ratio", "raw pump", "gobus pump", "ratio", "MB/s")
	for _, r := range rs {
		fmt.Fprintf(out, "  %6d KB          %9d %12.0f/s %12.0f/s %7.2f %12.0f/s %12.0f/s %7.2f %9.0f\n", r.size>>10, r.messages,
			r.rawSend, r.gobusSend, r.gobusSend/r.rawSend, r.rawPump, r.gobusPump, r.gobusPump/r.rawPump, r.gobusPump*float64(r.size)/(1<<20))
	}
	for _, r := range rs {
		fmt.Fprintf(out, "ratio send %dKB %.2f\n", r.size>>10, r.gobusSend/r.rawSend)
		fmt.Fprintf(out, "ratio pump %dKB %.2f\n", r.size>>10, r.gobusPump/r.rawPump)
	}
}
