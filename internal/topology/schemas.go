package topology

import "github.com/nats-io/nats.go/jetstream"

// SchemasBucket is the key-value bucket of the schema registry: one key
// per message type, its proto full name, whose value is the
// google.protobuf.FileDescriptorSet that declares the type. Its stream is
// "KV_" and the bucket's name.
func (n Names) SchemasBucket() string { return n.Prefix + "_schemas" }

// SchemasHistory is how many versions of each type's descriptors the
// schema registry keeps, the latest included.
const SchemasHistory = 16

// SchemasBucketConfig is the configuration of the schema registry's
// bucket named name.
func SchemasBucketConfig(name string, replicas int) jetstream.KeyValueConfig {
	return jetstream.KeyValueConfig{
		Bucket:      name,
		Description: "gobus schema registry: the descriptors of each message type, keyed by its proto full name",
		History:     SchemasHistory,
		Storage:     jetstream.FileStorage,
		Replicas:    replicas,
	}
}
