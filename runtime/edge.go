package gobus

import (
	"net/url"
	"slices"
	"strings"

	"github.com/gobusdev/gobus/internal/topology"
)

// Edge configures a client on an edge machine — a shop, a vehicle, a
// factory floor — whose link to the central NATS system (the hub) comes
// and goes. [WithEdge] starts a NATS server with JetStream in the process,
// a leaf node of the hub with a JetStream domain of its own, and connects
// to it. Store and forward follows:
//
//   - what the client and its endpoints send or publish for the hub is
//     stored on the edge first, in the stream "<prefix>_forward", and
//     Dispatch returns once it is stored there, link or no link; the
//     hub's streams source it from there when the link is up, in order,
//     and the edge's copy is removed once the hub has it;
//   - the endpoints the edge hosts (Endpoints) have their queue streams on
//     the edge, which source their commands from the hub's queue streams
//     of the same name: commands sent to them on the hub wait there until
//     the link is up, and the edge goes on handling those it already has
//     while the link is down;
//   - the edge's events stream sources the hub's, so the edge's endpoints
//     can subscribe to events; events published on the edge reach them
//     through the hub.
//
// The hub is a NATS server or cluster with JetStream, a JetStream domain
// (HubDomain) and a leafnodes listener; nothing else on it is specific
// to edges: the edge's client adds the sources to the hub's streams when
// it first reaches the hub, and again for streams that appear later.
// docs/wire.md ("Store and forward") lists the subjects and streams.
type Edge struct {
	// StoreDir is where the edge's JetStream keeps its streams. Required:
	// what waits to be forwarded survives a restart there.
	StoreDir string
	// Hub is the URL of the hub's leafnodes listener, such as
	// "nats-leaf://hub.example.com:7422"; user and password in the URL
	// authenticate the leaf connection.
	Hub string
	// Domain is the edge's JetStream domain, unique among the hub's
	// edges, such as "shop-17".
	Domain string
	// HubDomain is the hub's JetStream domain, such as "hub".
	HubDomain string
	// Endpoints names the endpoints this edge hosts: [NewEndpoint] on the
	// edge's client takes only these, and commands sent to them anywhere
	// reach this edge.
	Endpoints []string
}

// WithEdge runs the client on an edge machine: see [Edge]. It is an
// alternative to [WithURL], [WithConn] and [WithEmbeddedServer]. Claim
// check is off on an edge (a body must fit in one message): the hub
// cannot read the edge's Object Store.
func WithEdge(e Edge) Option {
	return clientOptionFunc(func(c *clientConfig) {
		e.Endpoints = slices.Clone(e.Endpoints)
		c.edge = &e
		c.claims = claimConfig{off: true}
	})
}

// validateEdge checks an Edge at Connect.
func (c *clientConfig) validateEdge() error {
	e := c.edge
	if e == nil {
		return nil
	}
	if e.StoreDir == "" {
		return invalidf("WithEdge needs a StoreDir where the edge's JetStream keeps what waits to be forwarded")
	}
	if _, err := edgeHubURL(e.Hub); err != nil {
		return err
	}
	if err := topology.CheckToken("WithEdge Domain", e.Domain); err != nil {
		return invalidf("%v", err)
	}
	if err := topology.CheckToken("WithEdge HubDomain", e.HubDomain); err != nil {
		return invalidf("%v (the hub's JetStream domain, the jetstream { domain: ... } of its configuration)", err)
	}
	if e.Domain == e.HubDomain {
		return invalidf("WithEdge: Domain and HubDomain are both %q: every edge needs a JetStream domain of its own", e.Domain)
	}
	for _, ep := range e.Endpoints {
		if err := topology.CheckToken("WithEdge endpoint", ep); err != nil {
			return invalidf("%v", err)
		}
		if c.orderedEndpoints()[ep] {
			return invalidf("WithEdge: endpoint %q handles commands in order per key, which an edge cannot host yet; host it on the hub", ep)
		}
	}
	return nil
}

// edgeHubURL parses the hub's leafnodes URL.
func edgeHubURL(hub string) (*url.URL, error) {
	if hub == "" {
		return nil, invalidf("WithEdge needs Hub, the URL of the hub's leafnodes listener, such as nats-leaf://hub.example.com:7422")
	}
	u, err := url.Parse(hub)
	if err != nil || u.Host == "" || !slices.Contains([]string{"nats-leaf", "nats", "tls", "ws", "wss"}, strings.ToLower(u.Scheme)) {
		return nil, invalidf("WithEdge Hub %q is not a leafnodes URL such as nats-leaf://hub.example.com:7422", hub)
	}
	return u, nil
}

// edgeTopology is the installer's view of the edge the client runs on.
func (c *clientConfig) edgeTopology() *topology.Edge {
	if c.edge == nil {
		return nil
	}
	local := map[string]bool{}
	for _, ep := range c.edge.Endpoints {
		local[ep] = true
	}
	return &topology.Edge{Domain: c.edge.Domain, HubDomain: c.edge.HubDomain, Local: local}
}

// hostsEndpoint reports whether an edge client may host endpoint; every
// other client may host any.
func (c *clientConfig) hostsEndpoint(endpoint string) bool {
	return c.edge == nil || slices.Contains(c.edge.Endpoints, endpoint)
}
