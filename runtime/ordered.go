package gobus

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"strings"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	"github.com/gobusdev/gobus/internal/pump"
	"github.com/gobusdev/gobus/internal/topology"
)

// orderKey says how a command type is keyed for handling in order.
type orderKey struct {
	option string                     // for error messages
	of     func(proto.Message) string // nil: the correlation id
}

// OrderBy declares that commands of type M are handled one at a time per
// key, in the order they were stored, while commands with other keys run
// concurrently, across every instance of the endpoint. key returns a
// command's key, such as its order id. Give the option to the senders'
// clients and to the endpoint's: the sender puts the key into the subject
// (docs/wire.md), the endpoint takes each partition of keys from one
// consumer that hands out one message at a time. See docs/guarantees.md.
func OrderBy[M proto.Message](key func(M) string) Option {
	typ := messageTypeOf[M]()
	return clientOptionFunc(func(c *clientConfig) {
		c.setOrderKey(typ, orderKey{option: "OrderBy", of: func(m proto.Message) string { return key(m.(M)) }})
	})
}

// OrderByCorrelationID declares that commands of type M are handled one at
// a time per correlation id, as [OrderBy] says: the commands of one
// conversation in order, different conversations concurrently.
func OrderByCorrelationID[M proto.Message]() Option {
	typ := messageTypeOf[M]()
	return clientOptionFunc(func(c *clientConfig) {
		c.setOrderKey(typ, orderKey{option: "OrderByCorrelationID"})
	})
}

// messageTypeOf is the proto full name of M, from its descriptor.
func messageTypeOf[M proto.Message]() string {
	var zero M
	return string(zero.ProtoReflect().Descriptor().FullName())
}

func (c *clientConfig) setOrderKey(typ string, k orderKey) {
	if c.orderKeys == nil {
		c.orderKeys = map[string]orderKey{}
	}
	c.orderKeys[typ] = k
}

// validateOrdering checks that every ordered type is a command some
// contract declares: events go to every subscriber's own consumer, and a
// type the routing table does not know has no endpoint to order it.
func (c *clientConfig) validateOrdering() error {
	for _, typ := range sortedKeys(c.orderKeys) {
		r, ok := lookupRoute(typ)
		switch {
		case !ok:
			return invalidf("%s for %s: no contract declares this message type: import the generated package of its contract", c.orderKeys[typ].option, typ)
		case r.Kind != KindCommand:
			return invalidf("%s for %s: it is a %s; only commands are handled in order per key", c.orderKeys[typ].option, typ, r.Kind)
		}
	}
	return nil
}

// orderedEndpoints are the endpoints that receive ordered commands.
func (c *clientConfig) orderedEndpoints() map[string]bool {
	out := map[string]bool{}
	for typ := range c.orderKeys {
		if r, ok := lookupRoute(typ); ok {
			out[c.endpointOf(r)] = true
		}
	}
	return out
}

// endpointOf is the endpoint a command goes to, after WithRoute.
func (c *clientConfig) endpointOf(r Route) string {
	if e, ok := c.routes[r.Type]; ok {
		return e
	}
	return r.Endpoint
}

// keyedSubject is the subject of an ordered command: its key, escaped,
// between the endpoint and the type. Other messages keep subject.
func (c *Client) keyedSubject(out Outgoing, subject, correlation string) string {
	if out.Route.Kind != KindCommand {
		return subject
	}
	k, ok := c.cfg.orderKeys[out.Route.Type]
	if !ok {
		return subject
	}
	key := correlation
	if k.of != nil {
		key = k.of(out.Message)
	}
	return c.names.KeySubject(c.endpointFor(out.Route), KeyToken(key), out.Route.Subject)
}

// maxPlainKey is the longest key that goes into a subject as it is.
const maxPlainKey = 64

// KeyToken is the subject token of an ordering key (docs/wire.md): "k"
// and the key itself when it is at most 64 letters, digits, '-' and '_';
// else "b" and the key in unpadded base64url when that is at most 64
// characters; else "h" and the unpadded base64url of the key's SHA-256.
// Senders in other languages compute the same token, so that a key's
// commands keep their order whoever sends them.
func KeyToken(key string) string {
	if len(key) <= maxPlainKey && plainKey(key) {
		return "k" + key
	}
	if enc := base64.RawURLEncoding.EncodeToString([]byte(key)); len(enc) <= maxPlainKey {
		return "b" + enc
	}
	sum := sha256.Sum256([]byte(key))
	return "h" + base64.RawURLEncoding.EncodeToString(sum[:])
}

func plainKey(key string) bool {
	for _, r := range key {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// handlesOrdered reports whether the endpoint handles a command type that
// is ordered per key.
func (ep *Endpoint) handlesOrdered() bool {
	for typ, reg := range ep.handlers {
		if _, ok := ep.client.cfg.orderKeys[typ]; ok && reg.route.Kind == KindCommand {
			return true
		}
	}
	return false
}

// partitionSources are the consumers of the endpoint's ordered commands,
// one per partition, shared by every instance; none if it handles no
// ordered command.
func (ep *Endpoint) partitionSources() []pump.Source {
	if !ep.handlesOrdered() {
		return nil
	}
	in := ep.client.installer
	names := ep.client.names
	settings := topology.ConsumerSettings{AckWait: ep.cfg.ackWait}
	install := ep.client.cfg.install
	stream := names.QueueStream(ep.name)
	out := make([]pump.Source, 0, topology.Partitions)
	for p := range topology.Partitions {
		durable := names.PartitionConsumer(ep.name, p)
		out = append(out, pump.Source{Name: stream + "/" + durable, Open: func(ctx context.Context) (jetstream.Consumer, error) {
			if !install {
				c, err := in.JS.Consumer(ctx, stream, durable)
				if err != nil {
					return nil, invalidf("looking up consumer %s on stream %s (the installer is off, so it must exist): %v", durable, stream, err)
				}
				return c, nil
			}
			if err := in.OwnQueueStream(ctx, ep.name); err != nil {
				return nil, err
			}
			return in.PartitionConsumer(ctx, ep.name, p, settings)
		}})
	}
	return out
}

// keyedArrival reports whether subject is where an ordered command of
// type typ for this endpoint is stored:
// <prefix>.part.<endpoint>.<partition>.<key token>.<type's suffix>.
func (ep *Endpoint) keyedArrival(typ, subject string) bool {
	rest, ok := strings.CutPrefix(subject, ep.partitionPrefix)
	if !ok {
		return false
	}
	_, rest, _ = strings.Cut(rest, ".") // the partition
	_, suffix, _ := strings.Cut(rest, ".")
	r, ok := lookupRoute(typ)
	return ok && r.Kind == KindCommand && r.Subject == suffix && ep.client.endpointFor(r) == ep.name
}

// ensureQueueStream creates endpoint's queue stream for a sender, as
// [topology.Installer.EnsureStream] does, and gives an existing one the
// keyed subjects its ordered commands need.
func (c *Client) ensureQueueStream(ctx context.Context, endpoint string) error {
	in := c.installer
	if err := in.EnsureStream(ctx, in.QueueStreamConfig(endpoint)); err != nil {
		return err
	}
	if !in.Ordered[endpoint] {
		return nil
	}
	return in.EnsureOrdering(ctx, endpoint)
}
