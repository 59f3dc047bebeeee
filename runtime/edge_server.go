package gobus

import (
	"fmt"
	"net/url"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/gobusdev/gobus/internal/topology"
)

// edgeReconnectInterval is how soon the edge's server tries the hub again
// after the leaf link drops.
const edgeReconnectInterval = time.Second

// startEdge starts the edge's NATS server: JetStream in its own domain,
// private to the process, and a leaf node of the hub.
//
// The subjects of the edge's own streams (the forward stream, the queue
// streams of the endpoints it hosts, the audit stream) do not cross the
// leaf link either way: what the hub has for them comes by sourcing,
// which stores before it acknowledges, and what the edge publishes for
// the hub is in the forward stream until the forwarder publishes it to
// the hub under its own subject. Core NATS traffic such as a waiting
// request's reply (under _INBOX) and the JetStream API of either domain
// ($JS.<domain>.API) cross it both ways. (Denying the whole prefix on
// import would keep the hub's streams' interest from the edge, and the
// forwarder could not reach them.)
func startEdge(e Edge, names topology.Names) (*server.Server, error) {
	hub, err := edgeHubURL(e.Hub)
	if err != nil {
		return nil, err
	}
	stay := []string{names.ForwardSubjects()}
	for _, ep := range e.Endpoints {
		stay = append(stay, names.EdgeLocalSubjects(ep)...)
	}
	opts := &server.Options{
		ServerName:      "gobus-edge-" + e.Domain,
		JetStream:       true,
		JetStreamDomain: e.Domain,
		StoreDir:        e.StoreDir,
		NoSigs:          true,
		NoLog:           true,
		DontListen:      true,
		LeafNode: server.LeafNodeOpts{
			ReconnectInterval: edgeReconnectInterval,
			Remotes: []*server.RemoteLeafOpts{{
				URLs:        []*url.URL{hub},
				DenyImports: append(stay, names.AuditSubjects()),
				DenyExports: stay,
			}},
		},
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("gobus: starting the edge's NATS server: %w", err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(30 * time.Second) {
		ns.Shutdown()
		return nil, fmt.Errorf("gobus: the edge's NATS server (store %s) did not start within 30s", e.StoreDir)
	}
	return ns, nil
}
