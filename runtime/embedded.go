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
	}
	if cfg.Listen != "" {
		host, port, err := net.SplitHostPort(cfg.Listen)
		if err != nil {
			return nil, invalidf("embedded server Listen %q is not host:port: %v", cfg.Listen, err)
		}
		opts.Host = host
		if opts.Port, err = strconv.Atoi(port); err != nil {
			return nil, invalidf("embedded server Listen %q has no numeric port", cfg.Listen)
		}
		// The server reports a busy port only to its log; find out first.
		l, err := net.Listen("tcp", cfg.Listen)
		if err != nil {
			return nil, fmt.Errorf("gobus: the embedded NATS server cannot listen on %s: %w", cfg.Listen, err)
		}
		_ = l.Close()
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
