package natstest

import (
	"fmt"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
)

// Hub is a JetStream server with a JetStream domain and a leafnodes
// listener, the hub of edge tests, that a test can stop and start again on
// the same ports and store, to cut the link to its edges and restore it.
type Hub struct {
	t                    testing.TB
	opts                 server.Options
	clientPort, leafPort int
	server               *server.Server
}

// RunHub starts a hub with JetStream domain domain on 127.0.0.1, its
// client and leafnodes ports random and its store under t.TempDir. It is
// shut down when the test ends.
func RunHub(t testing.TB, domain string) *Hub {
	t.Helper()
	ports := freePorts(t, 2)
	h := &Hub{t: t, clientPort: ports[0], leafPort: ports[1], opts: server.Options{
		ServerName:      "hub",
		Host:            "127.0.0.1",
		Port:            ports[0],
		JetStream:       true,
		JetStreamDomain: domain,
		StoreDir:        t.TempDir(),
		NoSigs:          true,
		NoLog:           true,
		LeafNode:        server.LeafNodeOpts{Host: "127.0.0.1", Port: ports[1]},
	}}
	h.Start()
	return h
}

// ClientURL is where clients connect to the hub.
func (h *Hub) ClientURL() string { return fmt.Sprintf("nats://127.0.0.1:%d", h.clientPort) }

// LeafURL is the hub's leafnodes listener, for an edge's remote.
func (h *Hub) LeafURL() string { return fmt.Sprintf("nats-leaf://127.0.0.1:%d", h.leafPort) }

// Server is the running server, nil while stopped.
func (h *Hub) Server() *server.Server { return h.server }

// Stop shuts the hub down, as when the link to it is cut.
func (h *Hub) Stop() {
	h.server.Shutdown()
	h.server.WaitForShutdown()
	h.server = nil
}

// Start starts the hub again on the same ports and store.
func (h *Hub) Start() {
	h.t.Helper()
	opts := h.opts
	h.server = start(h.t, &opts)
}
