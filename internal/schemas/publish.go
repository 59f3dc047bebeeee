package schemas

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
)

// Publish writes the descriptors of types to the registry under prefix,
// each type whose latest value differs from its descriptors now. It fails
// with [ErrNoBucket] when the bucket does not exist, and otherwise goes on
// past a type it cannot write, returning the errors joined.
func Publish(ctx context.Context, js jetstream.JetStream, prefix string, types ...protoreflect.MessageDescriptor) error {
	bucket := BucketName(prefix)
	kv, err := js.KeyValue(ctx, bucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		return fmt.Errorf("%w %s", ErrNoBucket, bucket)
	}
	if err != nil {
		return fmt.Errorf("gobus: opening the schema registry bucket %s: %w", bucket, err)
	}
	values := map[protoreflect.FileDescriptor][]byte{}
	var errs []error
	for _, md := range types {
		fd := md.ParentFile()
		value, ok := values[fd]
		if !ok {
			if value, err = Marshal(fd); err != nil {
				errs = append(errs, err)
				continue
			}
			values[fd] = value
		}
		if err := put(ctx, kv, string(md.FullName()), value); err != nil {
			errs = append(errs, fmt.Errorf("gobus: publishing the descriptors of %s to %s: %w", md.FullName(), bucket, err))
		}
	}
	return errors.Join(errs...)
}

// put writes value under key unless it is the key's latest value.
func put(ctx context.Context, kv jetstream.KeyValue, key string, value []byte) error {
	e, err := kv.Get(ctx, key)
	switch {
	case err == nil && bytes.Equal(e.Value(), value):
		return nil
	case err != nil && !errors.Is(err, jetstream.ErrKeyNotFound):
		return err
	}
	_, err = kv.Put(ctx, key, value)
	return err
}

// Marshal is the registry value of the types file fd declares: [FileSet]
// of fd in protobuf binary, marshalled deterministically.
func Marshal(fd protoreflect.FileDescriptor) ([]byte, error) {
	value, err := proto.MarshalOptions{Deterministic: true}.Marshal(FileSet(fd))
	if err != nil {
		return nil, fmt.Errorf("gobus: encoding the descriptors of %s: %w", fd.Path(), err)
	}
	return value, nil
}

// FileSet is fd and every file it imports, transitively, each file after
// the files it imports.
func FileSet(fd protoreflect.FileDescriptor) *descriptorpb.FileDescriptorSet {
	set := &descriptorpb.FileDescriptorSet{}
	seen := map[string]bool{}
	var add func(protoreflect.FileDescriptor)
	add = func(f protoreflect.FileDescriptor) {
		if seen[f.Path()] {
			return
		}
		seen[f.Path()] = true
		imports := f.Imports()
		for i := 0; i < imports.Len(); i++ {
			add(imports.Get(i).FileDescriptor)
		}
		set.File = append(set.File, protodesc.ToFileDescriptorProto(f))
	}
	add(fd)
	return set
}
