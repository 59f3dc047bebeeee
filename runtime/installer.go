package gobus

import (
	"github.com/nats-io/nats.go/jetstream"

	"github.com/gobusdev/gobus/internal/topology"
)

// newInstaller is the installer of a client configured by c: it creates
// what is missing with c's settings, and compares what exists with them,
// warning through c's logger or, with [WithStrictInstaller], failing.
func (c *clientConfig) newInstaller(js jetstream.JetStream, names topology.Names) *topology.Installer {
	return &topology.Installer{
		JS:    js,
		Names: names,
		Settings: topology.Settings{
			Replicas:        c.replicas,
			EventsMaxAge:    c.eventsMaxAge,
			DuplicateWindow: c.duplicateWindow,
		},
		Logger:  c.logger,
		Strict:  c.strict,
		Ordered: c.orderedEndpoints(),
		Edge:    c.edgeTopology(),
	}
}
