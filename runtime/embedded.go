package gobus

import (
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// startEmbedded starts a NATS server with JetStream in this process.
func startEmbedded(cfg EmbeddedServer) (*server.Server, error) {
	opts := &server.Options{
		ServerName: "gobus-embedded",
		JetStream:  true,
		StoreDir:   cfg.StoreDir,
		NoSigs:     true,
		NoLog:      true,
		DontListen: cfg.Listen == "",

		JetStreamDomain: cfg.Domain,
	}
	if cfg.Listen != "" {
		host, port, err := listenAddress("Listen", cfg.Listen)
		if err != nil {
			return nil, err
		}
		opts.Host, opts.Port = host, port
	}
	if cfg.LeafListen != "" {
		host, port, err := listenAddress("LeafListen", cfg.LeafListen)
		if err != nil {
			return nil, err
		}
		opts.LeafNode.Host, opts.LeafNode.Port = host, port
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("gobus: starting the embedded NATS server: %w", err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(30 * time.Second) {
		ns.Shutdown()
		return nil, fmt.Errorf("gobus: the embedded NATS server (store %s) did not start within 30s", cfg.StoreDir)
	}
	return ns, nil
}

// listenAddress checks that the server can listen on address, the
// setting field of EmbeddedServer, and splits it.
func listenAddress(field, address string) (string, int, error) {
	host, p, err := net.SplitHostPort(address)
	if err != nil {
		return "", 0, invalidf("embedded server %s %q is not host:port: %v", field, address, err)
	}
	port, err := strconv.Atoi(p)
	if err != nil {
		return "", 0, invalidf("embedded server %s %q has no numeric port", field, address)
	}
	// The server reports a busy port only to its log; find out first.
	l, err := net.Listen("tcp", address)
	if err != nil {
		return "", 0, fmt.Errorf("gobus: the embedded NATS server cannot listen on %s: %w", address, err)
	}
	_ = l.Close()
	return host, port, nil
}
