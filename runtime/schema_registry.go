package gobus

import (
	"context"
	"errors"
	"sort"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/gobusdev/gobus/internal/schemas"
	"github.com/gobusdev/gobus/internal/topology"
)

// schemaPublishTimeout bounds publishing to the schema registry at Start
// when the caller's context has no deadline: it is best effort, and must
// not hold an endpoint back.
const schemaPublishTimeout = 10 * time.Second

// schemaPublisher remembers which types a client published to the schema
// registry, so that its second endpoint publishes only what the first did
// not.
type schemaPublisher struct {
	mu        sync.Mutex
	published map[string]bool
}

// publishSchemas publishes to the schema registry the descriptors of the
// types the endpoint handles and of every type in the routing table and
// their replies: what the process can send and handle. With the installer
// on it creates the registry's bucket; with it off it publishes only if
// the bucket exists. A failure is logged and never stops the endpoint:
// the registry serves tools, not the flow of messages.
func (ep *Endpoint) publishSchemas(ctx context.Context) {
	c := ep.client
	p := &c.schemas
	p.mu.Lock()
	defer p.mu.Unlock()
	names := ep.schemaTypes(p.published)
	if len(names) == 0 {
		return
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, schemaPublishTimeout)
		defer cancel()
	}
	bucket := c.names.SchemasBucket()
	if err := c.ensureSchemasBucket(ctx); err != nil {
		ep.log.Warn("gobus: could not create the schema registry bucket; tools will not decode this endpoint's bodies without descriptors", "bucket", bucket, "error", err)
		return
	}
	err := schemas.Publish(ctx, c.js, c.names.Prefix, descriptorsOf(names)...)
	switch {
	case errors.Is(err, schemas.ErrNoBucket):
		ep.log.Info("gobus: not publishing message descriptors: the schema registry bucket does not exist and the installer is off; tools decode bodies only with descriptors given to them", "bucket", bucket)
	case err != nil:
		ep.log.Warn("gobus: publishing message descriptors to the schema registry failed; tools may not decode some bodies", "bucket", bucket, "error", err)
	default:
		if p.published == nil {
			p.published = map[string]bool{}
		}
		for _, n := range names {
			p.published[n] = true
		}
	}
}

// ensureSchemasBucket creates the registry's bucket if the installer is
// on and it is missing.
func (c *Client) ensureSchemasBucket(ctx context.Context) error {
	if !c.cfg.install {
		return nil
	}
	_, err := c.js.CreateKeyValue(ctx, topology.SchemasBucketConfig(c.names.SchemasBucket(), c.cfg.replicas))
	if errors.Is(err, jetstream.ErrBucketExists) {
		return nil // another configuration an operator chose: kept
	}
	return err
}

// schemaTypes are the proto full names to publish, sorted, leaving out
// those in done.
func (ep *Endpoint) schemaTypes(done map[string]bool) []string {
	set := map[string]bool{}
	for t := range ep.handlers {
		set[t] = true
	}
	for _, t := range ep.sagaStates {
		set[t] = true
	}
	for _, r := range Routes() {
		set[r.Type] = true
		for _, reply := range repliesOf(r.Type) {
			set[reply] = true
		}
	}
	names := make([]string, 0, len(set))
	for t := range set {
		if !done[t] {
			names = append(names, t)
		}
	}
	sort.Strings(names)
	return names
}

// descriptorsOf looks the named types up among those linked into the
// program; the generated code of every routed type is.
func descriptorsOf(names []string) []protoreflect.MessageDescriptor {
	out := make([]protoreflect.MessageDescriptor, 0, len(names))
	for _, n := range names {
		if mt, err := protoregistry.GlobalTypes.FindMessageByName(protoreflect.FullName(n)); err == nil {
			out = append(out, mt.Descriptor())
		}
	}
	return out
}
