package gobus

import (
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/gobusdev/gobus/internal/topology"
)

// Option configures a [Client] in [Connect].
type Option interface {
	applyClient(*clientConfig)
}

type clientOptionFunc func(*clientConfig)

func (f clientOptionFunc) applyClient(c *clientConfig) { f(c) }

// EmbeddedServer configures the NATS server with JetStream that [Connect]
// starts in the process when no URL is given.
type EmbeddedServer struct {
	// StoreDir is where JetStream keeps its streams. Required: a restart
	// with the same directory finds every message that was stored.
	StoreDir string
	// Listen, if set, is a host:port on which the server also accepts
	// other processes, such as "127.0.0.1:4222". Empty keeps the server
	// private to this process.
	Listen string
	// Domain, if set, is the server's JetStream domain, which a hub of
	// edges needs (see [Edge]): "hub", say.
	Domain string
	// LeafListen, if set, is a host:port on which the server accepts leaf
	// nodes, such as the edges' ("127.0.0.1:7422"), making it a hub.
	LeafListen string
}

type clientConfig struct {
	url             string
	natsOptions     []nats.Option
	auth            authConfig
	conn            *nats.Conn
	embedded        *EmbeddedServer
	edge            *Edge
	prefix          string
	install         bool
	logger          *slog.Logger
	source          string
	routes          map[string]string
	replicas        int
	strict          bool
	eventsMaxAge    time.Duration
	duplicateWindow time.Duration

	metrics            metricsConfig
	middleware         []Middleware
	dispatchMiddleware []DispatchMiddleware
	tracing            *tracing // nil: the global tracer provider
	audit              auditConfig

	orderKeys map[string]orderKey // by message type; see OrderBy

	claims claimConfig
}

func defaultClientConfig() clientConfig {
	return clientConfig{
		prefix:          topology.DefaultPrefix,
		install:         true,
		logger:          slog.Default(),
		source:          filepath.Base(os.Args[0]),
		routes:          map[string]string{},
		replicas:        1,
		eventsMaxAge:    7 * 24 * time.Hour,
		duplicateWindow: 2 * time.Minute,
	}
}

// WithURL connects to the NATS server or cluster at url, such as
// "nats://127.0.0.1:4222" (several URLs are separated by commas).
func WithURL(url string) Option {
	return clientOptionFunc(func(c *clientConfig) { c.url = url })
}

// WithNATSOptions adds options to the NATS connection, such as reconnect
// behaviour. gobus sets a connection name, unlimited reconnects, its
// logger's disconnect and reconnect messages, and what [WithUserPassword],
// [WithToken], [WithNKeyFile], [WithCredentialsFile] and [WithTLS] ask for
// before these, so these win.
func WithNATSOptions(opts ...nats.Option) Option {
	return clientOptionFunc(func(c *clientConfig) { c.natsOptions = append(c.natsOptions, opts...) })
}

// WithConn uses an existing NATS connection. The client does not close it.
func WithConn(nc *nats.Conn) Option {
	return clientOptionFunc(func(c *clientConfig) { c.conn = nc })
}

// WithEmbeddedServer starts a NATS server with JetStream in this process
// and connects to it: the zero-install default for development, tests and
// single-machine deployments. The client shuts the server down on Close.
func WithEmbeddedServer(s EmbeddedServer) Option {
	return clientOptionFunc(func(c *clientConfig) { c.embedded = &s })
}

// WithPrefix sets the prefix of every subject and stream name, so that
// several environments can share one NATS account. It is one NATS subject
// token of up to 64 letters, digits and '-', without '_' (stream names
// join the prefix to the rest with '_', so the first '_' must end it); the
// default is "gobus".
func WithPrefix(prefix string) Option {
	return clientOptionFunc(func(c *clientConfig) { c.prefix = prefix })
}

// WithoutInstaller stops gobus from creating or updating streams and
// consumers, for accounts where an operator manages them. Everything gobus
// needs must then exist; docs/wire.md lists it.
func WithoutInstaller() Option {
	return clientOptionFunc(func(c *clientConfig) { c.install = false })
}

// WithLogger sets the logger of the client and its endpoints. The default
// is slog.Default().
func WithLogger(l *slog.Logger) Option {
	return clientOptionFunc(func(c *clientConfig) { c.logger = l })
}

// WithSource sets ce-source on messages the client sends outside a handler.
// The default is the program's name. Endpoints use their own name.
func WithSource(source string) Option {
	return clientOptionFunc(func(c *clientConfig) { c.source = source })
}

// WithRoute sends commands of messageType (a proto full name, such as the
// generated PlaceOrderType constant) to endpoint instead of the endpoint the
// contract names. [Connect] fails with [ErrInvalidOption] if no contract in
// the program declares messageType as a command.
func WithRoute(messageType, endpoint string) Option {
	return clientOptionFunc(func(c *clientConfig) { c.routes[messageType] = endpoint })
}

// WithReplicas sets the replica count of the streams the installer
// creates; use 3 on a three-node cluster. Their consumers have as many.
// The default is 1. The installer never changes the replicas of a stream
// that exists (see [WithStrictInstaller]).
func WithReplicas(n int) Option {
	return clientOptionFunc(func(c *clientConfig) { c.replicas = n })
}

// WithStrictInstaller makes the installer fail, at [Connect] or at an
// endpoint's Start, when a stream or consumer that already exists differs
// from what the client's options ask for: a queue stream with 3 replicas
// when the client asks for 1, say. Without it the installer logs a warning
// naming the stream or consumer, the setting, the value it has and the
// value wanted, and leaves the existing value as it is: it never lowers
// replicas or changes a setting an operator may have chosen. Use it where
// every process must be configured alike.
func WithStrictInstaller() Option {
	return clientOptionFunc(func(c *clientConfig) { c.strict = true })
}

// WithEventsMaxAge sets how long the events stream keeps events when the
// installer creates it. The default is 7 days.
func WithEventsMaxAge(d time.Duration) Option {
	return clientOptionFunc(func(c *clientConfig) { c.eventsMaxAge = d })
}

// WithDuplicateWindow sets how long the streams the installer creates
// remember message ids to drop duplicates. The default is 2 minutes.
func WithDuplicateWindow(d time.Duration) Option {
	return clientOptionFunc(func(c *clientConfig) { c.duplicateWindow = d })
}

func (c *clientConfig) validate() error {
	sources := 0
	for _, set := range []bool{c.url != "", c.conn != nil, c.embedded != nil, c.edge != nil} {
		if set {
			sources++
		}
	}
	switch {
	case sources == 0:
		return invalidf("no NATS server: use WithURL for a server or cluster, or WithEmbeddedServer with a store directory to run one in this process")
	case sources > 1:
		return invalidf("use only one of WithURL, WithConn, WithEmbeddedServer and WithEdge")
	case c.embedded != nil && c.embedded.StoreDir == "":
		return invalidf("WithEmbeddedServer needs a StoreDir where JetStream keeps its streams")
	case c.embedded != nil && c.embedded.Domain != "" && !topology.ValidToken(c.embedded.Domain):
		return invalidf("WithEmbeddedServer Domain %q is not a valid JetStream domain: use letters, digits, '-' and '_', starting with a letter", c.embedded.Domain)
	}
	if err := topology.CheckPrefix(c.prefix); err != nil {
		return invalidf("WithPrefix: %v", err)
	}
	if err := c.validateRoutes(); err != nil {
		return err
	}
	if err := c.validateEdge(); err != nil {
		return err
	}
	if err := c.validateOrdering(); err != nil {
		return err
	}
	if c.replicas < 1 || c.replicas > 5 {
		return invalidf("WithReplicas(%d): use 1 to 5", c.replicas)
	}
	if c.eventsMaxAge < 0 || c.duplicateWindow <= 0 {
		return invalidf("the events max age must not be negative and the duplicate window must be positive")
	}
	if err := topology.CheckSource(c.source); err != nil {
		return invalidf("WithSource: %v", err)
	}
	if c.logger == nil {
		return invalidf("WithLogger: the logger must not be nil")
	}
	if err := c.metrics.validate(); err != nil {
		return err
	}
	if err := c.claims.validate(); err != nil {
		return err
	}
	if err := c.audit.validate(); err != nil {
		return err
	}
	return c.validateAuth()
}
