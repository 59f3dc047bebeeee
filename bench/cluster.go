package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// serveCluster runs n JetStream servers routed into one cluster on
// 127.0.0.1, each with a store under store, until the parent kills the
// process, and prints a URL listing every server's client address once
// JetStream has a meta leader that sees all of them. One process holds
// the whole cluster, so that none of it counts as the client's.
func serveCluster(n int, store string) error {
	ports, err := freePorts(n)
	if err != nil {
		return err
	}
	servers := make([]*server.Server, n)
	urls := make([]string, n)
	for i := range n {
		var routes []string
		for j, p := range ports {
			if j != i {
				routes = append(routes, "nats-route://127.0.0.1:"+strconv.Itoa(p))
			}
		}
		ns, err := server.NewServer(&server.Options{
			ServerName: "n" + strconv.Itoa(i+1), Host: "127.0.0.1", Port: server.RANDOM_PORT,
			JetStream: true, StoreDir: filepath.Join(store, strconv.Itoa(i)), MaxPayload: 8 << 20,
			Cluster: server.ClusterOpts{Name: "bench", Host: "127.0.0.1", Port: ports[i]},
			Routes:  server.RoutesFromStr(strings.Join(routes, ",")), NoSigs: true, NoLog: true,
		})
		if err != nil {
			return err
		}
		servers[i] = ns
		go ns.Start()
	}
	for i, ns := range servers {
		if !ns.ReadyForConnections(30 * time.Second) {
			return fmt.Errorf("server %s is not ready", ns.Name())
		}
		urls[i] = ns.ClientURL()
	}
	deadline := time.Now().Add(60 * time.Second)
	for !metaReady(servers) {
		if time.Now().After(deadline) {
			return fmt.Errorf("no JetStream meta leader seeing %d servers", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	settleOnSignal()
	profileOnSignal(store)
	fmt.Println(strings.Join(urls, ","))
	select {}
}

// metaReady reports whether one server leads JetStream's meta group, sees
// every server, and every server is current with it.
func metaReady(servers []*server.Server) bool {
	var leader *server.Server
	for _, ns := range servers {
		if ns.JetStreamIsLeader() {
			leader = ns
		}
		if !ns.JetStreamIsCurrent() {
			return false
		}
	}
	return leader != nil && len(leader.JetStreamClusterPeers()) >= len(servers)
}

// freePorts returns n distinct TCP ports that were free on 127.0.0.1,
// for the routes, which must be known before the servers start.
func freePorts(n int) ([]int, error) {
	ports := make([]int, n)
	for i := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer l.Close()
		ports[i] = l.Addr().(*net.TCPAddr).Port
	}
	return ports, nil
}

// ratiosOnly runs send, pump and latency, raw and gobus, and prints their
// rows and ratio lines: the comparison of one server with a cluster
// (-cluster 3).
func (b *bench) ratiosOnly(ctx context.Context, out io.Writer) error {
	send, err := b.rounds(ctx, b.rawSend, b.gobusSend)
	if err != nil {
		return fmt.Errorf("send: %w", err)
	}
	pump, err := b.rounds(ctx, b.rawPump, b.gobusPump)
	if err != nil {
		return fmt.Errorf("pump: %w", err)
	}
	rawLat, gobusLat, err := b.latency(ctx)
	if err != nil {
		return fmt.Errorf("latency: %w", err)
	}
	fmt.Fprintf(out, "%d server(s), replicas %d, %d rounds\n", b.cfg.nodes, b.cfg.nodes, b.cfg.rounds)
	fmt.Fprintf(out, "  send  raw %8.0f/s  gobus %8.0f/s\n", send[0], send[1])
	fmt.Fprintf(out, "  pump  raw %8.0f/s  gobus %8.0f/s  (start to 1st message: raw %s, gobus %s)\n", pump[0], pump[1], b.startups.rawMedian(), b.startups.gobusMedian())
	fmt.Fprintf(out, "  p50   raw %9s  gobus %9s\n", rawLat.p50.Round(time.Microsecond), gobusLat.p50.Round(time.Microsecond))
	fmt.Fprintf(out, "  p99   raw %9s  gobus %9s\n", rawLat.p99.Round(time.Microsecond), gobusLat.p99.Round(time.Microsecond))
	fmt.Fprintf(out, "ratio send %.2f\n", send[1]/send[0])
	fmt.Fprintf(out, "ratio pump %.2f\n", pump[1]/pump[0])
	fmt.Fprintf(out, "ratio p99 %.2f\n", float64(gobusLat.p99)/float64(rawLat.p99))
	return nil
}
