package schemas

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
)

// Refresh is how long a [Registry] trusts what it read of a type before
// it looks at the bucket again, and how long it waits before it looks
// for a bucket it did not find.
const Refresh = 10 * time.Second

// Registry reads the schema registry's bucket and caches the types it
// builds from it. It is safe for concurrent use.
type Registry struct {
	js     jetstream.JetStream
	bucket string

	mu       sync.Mutex
	kv       jetstream.KeyValue // nil until the bucket is found
	lookedUp time.Time          // when the bucket was last looked for
	types    map[string]*entry
	now      func() time.Time
}

// entry is one type built from the registry.
type entry struct {
	revision uint64
	version  string
	checked  time.Time
	mt       protoreflect.MessageType
	types    *dynamicpb.Types // the types of the value's files, for Any
}

// Open opens the schema registry under prefix. A registry whose bucket
// does not exist is no error: it finds no types, and looks for the
// bucket again after [Refresh].
func Open(ctx context.Context, js jetstream.JetStream, prefix string) (*Registry, error) {
	r := &Registry{js: js, bucket: BucketName(prefix), types: map[string]*entry{}, now: time.Now}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.lookUp(ctx); err != nil {
		return nil, err
	}
	return r, nil
}

// lookUp looks for the bucket, once per Refresh, until it is found.
func (r *Registry) lookUp(ctx context.Context) error {
	if r.kv != nil || (!r.lookedUp.IsZero() && r.now().Sub(r.lookedUp) < Refresh) {
		return nil
	}
	r.lookedUp = r.now()
	kv, err := r.js.KeyValue(ctx, r.bucket)
	switch {
	case errors.Is(err, jetstream.ErrBucketNotFound):
		return nil
	case err != nil:
		return fmt.Errorf("gobus: opening the schema registry bucket %s: %w", r.bucket, err)
	}
	r.kv = kv
	return nil
}

// FindMessage returns the type fullName as the registry's latest
// descriptors of it declare it. It wraps [ErrUnknownType] when the
// registry holds none.
func (r *Registry) FindMessage(ctx context.Context, fullName string) (protoreflect.MessageType, error) {
	e, err := r.find(ctx, fullName)
	if err != nil {
		return nil, err
	}
	return e.mt, nil
}

// Version returns the version ([Version]) of the registry's latest
// descriptors of fullName. It wraps [ErrUnknownType] when the registry
// holds none.
func (r *Registry) Version(ctx context.Context, fullName string) (string, error) {
	e, err := r.find(ctx, fullName)
	if err != nil {
		return "", err
	}
	return e.version, nil
}

func (r *Registry) find(ctx context.Context, fullName string) (*entry, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.types[fullName]
	if e != nil && r.now().Sub(e.checked) < Refresh {
		return e, nil
	}
	if err := r.lookUp(ctx); err != nil {
		return nil, err
	}
	if r.kv == nil {
		return nil, fmt.Errorf("%w %s: the schema registry bucket %s does not exist", ErrUnknownType, fullName, r.bucket)
	}
	if !protoreflect.FullName(fullName).IsValid() {
		return nil, fmt.Errorf("%w %q: not a proto full name", ErrUnknownType, fullName)
	}
	kv, err := r.kv.Get(ctx, fullName)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		delete(r.types, fullName)
		return nil, fmt.Errorf("%w %s: no descriptors of it in %s", ErrUnknownType, fullName, r.bucket)
	}
	if err != nil {
		return nil, fmt.Errorf("gobus: reading the descriptors of %s from %s: %w", fullName, r.bucket, err)
	}
	if e != nil && e.revision == kv.Revision() {
		e.checked = r.now()
		return e, nil
	}
	if e, err = build(fullName, kv.Value()); err != nil {
		return nil, fmt.Errorf("%s in %s, revision %d: %w", fullName, r.bucket, kv.Revision(), err)
	}
	e.revision, e.checked = kv.Revision(), r.now()
	r.types[fullName] = e
	return e, nil
}

// build makes the type fullName from a registry value.
func build(fullName string, value []byte) (*entry, error) {
	var set descriptorpb.FileDescriptorSet
	if err := proto.Unmarshal(value, &set); err != nil {
		return nil, fmt.Errorf("gobus: the value is not a google.protobuf.FileDescriptorSet: %w", err)
	}
	files, err := protodesc.NewFiles(&set)
	if err != nil {
		return nil, fmt.Errorf("gobus: the descriptor set does not build: %w", err)
	}
	types := dynamicpb.NewTypes(files)
	mt, err := types.FindMessageByName(protoreflect.FullName(fullName))
	if err != nil {
		return nil, fmt.Errorf("%w %s: the descriptor set does not declare it", ErrUnknownType, fullName)
	}
	return &entry{version: Version(value), mt: mt, types: types}, nil
}
