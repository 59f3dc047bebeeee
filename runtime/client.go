package gobus

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	"github.com/gobusdev/gobus/internal/natsurl"
	"github.com/gobusdev/gobus/internal/topology"
	"github.com/gobusdev/gobus/internal/wire"
)

// Client is a connection to the bus. It sends and publishes messages
// outside handlers, and hosts endpoints ([NewEndpoint]). It is safe for
// concurrent use.
type Client struct {
	cfg        clientConfig
	nc         *nats.Conn
	ownsConn   bool
	connClosed chan struct{}
	server     *server.Server
	js         jetstream.JetStream
	batches    *batchAcks // what the client's batches publish
	names      topology.Names
	installer  *topology.Installer
	subjects   sync.Map // message type → subject

	// dispatch is the chain of what the client sends outside handlers.
	dispatch DispatchFunc

	recordsOnce sync.Once
	recordsKV   jetstream.KeyValue // nil without delivery records

	schedulesKV schedulesBucket
	schemas     schemaPublisher
	requests    requests
	claims      claims
	edge        *edgeLink // nil unless WithEdge

	mu        sync.Mutex
	endpoints []*Endpoint
	closed    bool
	closeErr  error
	closeDone chan struct{}
}

// Connect connects to the bus: a NATS server given by [WithURL] or
// [WithConn], or one it starts in the process with [WithEmbeddedServer].
// With none of these it connects to the server in the GOBUS_URL
// environment variable ([EnvURL]) and, when that is unset too, starts an
// embedded JetStream server storing under [DefaultStoreDir] in the
// working directory, and logs once where it stores and how to use a real
// server instead.
// Unless [WithoutInstaller] is given it creates the events and errors
// streams and the queue stream of every endpoint in the routing table,
// leaving existing streams as they are. Configuration mistakes fail here
// with [ErrInvalidOption].
func Connect(ctx context.Context, opts ...Option) (*Client, error) {
	cfg := defaultClientConfig()
	for _, o := range opts {
		o.applyClient(&cfg)
	}
	byDefault, err := cfg.serverDefault()
	if err != nil {
		return nil, err
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if conflicts := routeConflicts(); len(conflicts) > 0 {
		return nil, invalidf("%s", strings.Join(conflicts, "; "))
	}
	c := &Client{cfg: cfg, names: topology.Names{Prefix: cfg.prefix}, closeDone: make(chan struct{})}
	c.dispatch = dispatchChain(storeOutgoing, []DispatchMiddleware{cfg.tracing.dispatch}, cfg.dispatchMiddleware)
	if err := c.connect(); err != nil {
		return nil, err
	}
	js, err := jetstream.New(c.nc, jetstream.WithPublishAsyncTimeout(publishAckTimeout))
	if err != nil {
		c.release()
		return nil, fmt.Errorf("gobus: %w", err)
	}
	c.js = js
	var edge *edgeJetStream
	if cfg.edge != nil {
		edge = newEdgeJetStream(js, c.names, cfg.edge.Endpoints)
		c.js = edge
	}
	c.batches = newBatchAcks(c.nc, edge)
	c.claims.limit = cfg.claims.limitFor(c.nc.MaxPayload())
	if byDefault {
		cfg.logger.Info("gobus: no NATS server configured; started an embedded JetStream server in this process",
			"store", cfg.embedded.StoreDir, "real_server", "set "+EnvURL+" or use gobus.WithURL")
	}
	c.installer = cfg.newInstaller(js, c.names)
	if cfg.install {
		install := c.installShared
		if cfg.edge != nil {
			install = c.installEdge
		}
		if err := install(ctx); err != nil {
			c.release()
			return nil, err
		}
		if cfg.edge != nil {
			if err := c.startEdgeLink(ctx, js); err != nil {
				c.release()
				return nil, err
			}
		}
	}
	return c, nil
}

// publishAckTimeout bounds the wait for JetStream's acknowledgement of an
// asynchronous publish: a handler's outgoing messages, a [Batch]'s. In a
// cluster, a stream leader lost after it received a message takes the
// acknowledgement with it while the connection, to another server, stays
// up; unbounded, the handler would wait for ever, its message kept in
// progress by heartbeats. Timed out, the publish fails and is retried with
// the same id, which JetStream de-duplicates.
const publishAckTimeout = 5 * time.Second

func (c *Client) connect() error {
	if c.cfg.conn != nil {
		c.nc = c.cfg.conn
		return nil
	}
	log := c.cfg.logger
	opts := []nats.Option{
		nats.Name("gobus " + c.cfg.source),
		nats.MaxReconnects(-1),
		nats.DisconnectErrHandler(func(nc *nats.Conn, err error) {
			if err != nil {
				log.Warn("gobus: disconnected from NATS; reconnecting", "error", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			// ConnectedUrlRedacted hides passwords but not tokens.
			log.Info("gobus: reconnected to NATS", "server", natsurl.Redact(nc.ConnectedUrl()))
		}),
	}
	opts = append(opts, c.cfg.auth.options...)
	opts = append(opts, c.cfg.natsOptions...)
	url := c.cfg.url
	if c.cfg.embedded != nil || c.cfg.edge != nil {
		var ns *server.Server
		var err error
		if c.cfg.edge != nil {
			ns, err = startEdge(*c.cfg.edge, c.names)
		} else {
			ns, err = startEmbedded(*c.cfg.embedded)
		}
		if err != nil {
			return err
		}
		c.server = ns
		url = ""
		opts = append(opts, nats.InProcessServer(ns))
	}
	nopts := nats.GetDefaultOptions()
	// A comma-separated list is a pool of servers, as in nats.Connect;
	// Options.Url would take it for one address.
	for _, u := range strings.Split(url, ",") {
		if u = strings.TrimSpace(u); u != "" {
			nopts.Servers = append(nopts.Servers, u)
		}
	}
	for _, o := range opts {
		if err := o(&nopts); err != nil {
			return invalidf("NATS option: %v", err)
		}
	}
	c.connClosed = make(chan struct{})
	userClosed := nopts.ClosedCB
	nopts.ClosedCB = func(nc *nats.Conn) {
		close(c.connClosed)
		if userClosed != nil {
			userClosed(nc)
		}
	}
	nc, err := nopts.Connect()
	if err != nil {
		if c.server != nil {
			c.server.Shutdown()
		}
		where := "the embedded server"
		if url != "" {
			where = natsurl.Redact(url)
		}
		return fmt.Errorf("gobus: connecting to NATS at %s: %w", where, err)
	}
	c.nc = nc
	c.ownsConn = true
	return nil
}

// installShared creates the streams every process may write to.
func (c *Client) installShared(ctx context.Context) error {
	in := c.installer
	if err := in.EnsureStream(ctx, in.EventsStreamConfig()); err != nil {
		return fmt.Errorf("gobus: %w", err)
	}
	if err := in.EnsureStream(ctx, in.ErrorsStreamConfig()); err != nil {
		return fmt.Errorf("gobus: %w", err)
	}
	seen := map[string]bool{}
	for _, r := range Routes() {
		if r.Kind != KindCommand {
			continue
		}
		endpoint := c.endpointFor(r)
		if seen[endpoint] {
			continue
		}
		seen[endpoint] = true
		if err := c.ensureQueueStream(ctx, endpoint); err != nil {
			return fmt.Errorf("gobus: %w", err)
		}
	}
	return nil
}

// endpointFor is the endpoint a command goes to, after overrides.
func (c *Client) endpointFor(r Route) string {
	if e, ok := c.cfg.routes[r.Type]; ok {
		return e
	}
	return r.Endpoint
}

// subjectFor is the NATS subject of a message on route r, computed once
// per route.
func (c *Client) subjectFor(r Route) (string, error) {
	if s, ok := c.subjects.Load(r.Type); ok {
		return s.(string), nil
	}
	// Checked once per type: a hand-built route that the table never saw
	// must not reach the wire either.
	if err := r.validate(); err != nil {
		return "", err
	}
	var subject string
	switch r.Kind {
	case KindCommand:
		subject = c.names.CommandSubject(c.endpointFor(r), r.Subject)
	case KindEvent:
		subject = c.names.EventSubject(r.Subject)
	default:
		return "", fmt.Errorf("%w for message type %q", ErrNoRoute, r.Type)
	}
	c.subjects.Store(r.Type, subject)
	return subject, nil
}

// Dispatch sends or publishes out at once and returns when JetStream has
// stored it. The generated SendX and PublishX functions call it. To send
// many messages fast, use a [Batch]. A message larger than the server's
// max payload fails with [ErrTooLarge], and nothing is sent.
func (c *Client) Dispatch(ctx context.Context, out Outgoing) error {
	if err := c.usable(); err != nil {
		return err
	}
	msg, id, err := c.outgoingMessage(out)
	if err != nil {
		return err
	}
	return c.dispatch(ctx, c.newOutgoing(out, id, msg, c))
}

// outgoingMessage is the NATS message for a message sent outside a
// handler, and its id.
func (c *Client) outgoingMessage(out Outgoing) (*nats.Msg, string, error) {
	id := out.MessageID
	if id == "" {
		id = newMessageID()
	}
	correlation := out.CorrelationID
	if correlation == "" {
		correlation = id
	}
	data, err := marshal(out)
	if err != nil {
		return nil, "", err
	}
	msg, err := c.encode(out, data, id, c.cfg.source, correlation, "")
	return msg, id, err
}

// marshal encodes the body of an outgoing message, deterministically so
// that equal messages have equal bytes.
func marshal(out Outgoing) ([]byte, error) {
	if out.Message == nil || !out.Message.ProtoReflect().IsValid() {
		return nil, fmt.Errorf("gobus: %s %s: the message is nil", verb(out.Route.Kind), out.Route.Type)
	}
	data, err := proto.MarshalOptions{Deterministic: true}.Marshal(out.Message)
	if err != nil {
		return nil, fmt.Errorf("gobus: encoding %s: %w", out.Route.Type, err)
	}
	return data, nil
}

// encode turns an outgoing message with its encoded body into the NATS
// message that carries it.
func (c *Client) encode(out Outgoing, data []byte, id, source, correlation, causation string) (*nats.Msg, error) {
	subject, err := c.destination(out)
	if err != nil {
		return nil, err
	}
	subject = c.keyedSubject(out, subject, correlation)
	intent := wire.IntentSend
	switch out.Route.Kind {
	case KindEvent:
		intent = wire.IntentPublish
	case KindReply:
		intent = wire.IntentReply
	}
	replyTo := out.replyTo
	if replyTo == "" && out.replyEndpoint != "" {
		replyTo = c.names.ReplySubject(out.replyEndpoint)
	}
	env := wire.Envelope{
		ReplyTo:       replyTo,
		ID:            id,
		Type:          out.Route.Type,
		Source:        source,
		Time:          time.Now(),
		ContentType:   wire.ContentTypeProtobuf,
		CorrelationID: correlation,
		CausationID:   causation,
		Intent:        intent,
		Data:          data,
	}
	msg := env.Message(subject)
	for name, values := range out.headers {
		msg.Header[name] = values
	}
	return msg, nil
}

// destination is the subject out goes to: its route's, or for a reply
// the reply-to of the command it answers.
func (c *Client) destination(out Outgoing) (string, error) {
	if out.Route.Kind == KindReply {
		return out.to, nil
	}
	subject, err := c.subjectFor(out.Route)
	if err != nil || len(out.Route.Filter) == 0 {
		return subject, err
	}
	return filteredSubject(subject, out)
}

// checkSize fails with [ErrTooLarge] when msg is larger than the server
// would take: headers and body over its max payload, or headers over what
// JetStream stores. Saying so before anything is sent names the message
// and its size, and lets a handler's batch be refused whole.
func (c *Client) checkSize(msg *nats.Msg, r Route) error {
	headers, size := msgSize(msg)
	if limit := c.nc.MaxPayload(); limit > 0 && int64(size) > limit {
		return fmt.Errorf("%w: %s %s: %d bytes (%d of headers, %d of body), and the server's max payload is %d bytes",
			ErrTooLarge, verb(r.Kind), r.Type, size, headers, len(msg.Data), limit)
	}
	if headers > maxHeaderBlock {
		return fmt.Errorf("%w: %s %s: %d bytes of headers, and JetStream stores at most %d",
			ErrTooLarge, verb(r.Kind), r.Type, headers, maxHeaderBlock)
	}
	return nil
}

// maxHeaderBlock is the largest header block, in bytes as written on the
// wire, that JetStream stores.
const maxHeaderBlock = math.MaxUint16

// msgSize returns the size of msg's header block on the wire, and of its
// payload: headers and body, which the server's max payload limits.
func msgSize(msg *nats.Msg) (headers, payload int) {
	// Size counts the subject and reply too, which are not payload.
	payload = msg.Size() - len(msg.Subject) - len(msg.Reply)
	return payload - len(msg.Data), payload
}

func verb(k Kind) string {
	if k == KindEvent {
		return "publishing"
	}
	return "sending"
}

// newMessageID returns a fresh, time-ordered message id: a UUIDv7 whose
// random bits come from the runtime's per-thread generator, which needs no
// system call or lock. Ids must be unique, not secret.
func newMessageID() string {
	var u uuid.UUID
	ms := uint64(time.Now().UnixMilli())
	binary.BigEndian.PutUint64(u[0:8], ms<<16|rand.Uint64()&0xffff)
	binary.BigEndian.PutUint64(u[8:16], rand.Uint64())
	u[6] = u[6]&0x0f | 0x70 // version 7
	u[8] = u[8]&0x3f | 0x80 // RFC 9562 variant
	return u.String()
}

// Conn returns the client's NATS connection.
func (c *Client) Conn() *nats.Conn { return c.nc }

// JetStream returns the client's JetStream context.
func (c *Client) JetStream() jetstream.JetStream { return c.js }

// Prefix returns the subject and stream prefix.
func (c *Client) Prefix() string { return c.cfg.prefix }

// ServerURL returns the URL other processes can use to reach the embedded
// server when it listens, and "" otherwise.
func (c *Client) ServerURL() string {
	if c.server == nil || c.cfg.embedded == nil || c.cfg.embedded.Listen == "" {
		return ""
	}
	return c.server.ClientURL()
}

// usable fails with [ErrClosed] for a closed client, and with
// [ErrConnectionClosed] when its connection is closed for good.
func (c *Client) usable() error {
	if c.isClosed() {
		return ErrClosed
	}
	if c.nc.IsClosed() {
		return fmt.Errorf("%w: reconnect by creating a new client", ErrConnectionClosed)
	}
	return nil
}

func (c *Client) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

func (c *Client) addEndpoint(ep *Endpoint) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return ErrClosed
	}
	c.endpoints = append(c.endpoints, ep)
	return nil
}

// Close stops the client's running endpoints (waiting for their handlers
// until ctx is done), then closes the connection if the client opened it,
// and shuts the embedded server down. It is safe to call more than once.
func (c *Client) Close(ctx context.Context) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		select {
		case <-c.closeDone:
			return c.closeErr
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	c.closed = true
	// A copy: each Stop removes its endpoint from c.endpoints.
	endpoints := append([]*Endpoint(nil), c.endpoints...)
	c.mu.Unlock()

	var errs []error
	for _, ep := range endpoints {
		if err := ep.Stop(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if c.edge != nil {
		c.edge.stop()
	}
	c.release()
	c.closeErr = errors.Join(errs...)
	close(c.closeDone)
	return c.closeErr
}

// release closes what the client opened.
func (c *Client) release() {
	if c.batches != nil {
		defer c.batches.close()
	}
	if c.ownsConn && c.nc != nil {
		// Drain flushes pending acks and publishes before closing; the
		// connection's drain timeout bounds it.
		if err := c.nc.Drain(); err != nil {
			c.nc.Close()
		}
		<-c.connClosed
	}
	if c.server != nil {
		c.server.Shutdown()
		c.server.WaitForShutdown()
	}
}
