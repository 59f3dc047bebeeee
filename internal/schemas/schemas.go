// Package schemas is the schema registry on the bus: a JetStream
// key-value bucket, "<prefix>_schemas", in which endpoints publish the
// descriptors of the message types they handle and send, so that tools
// (gobus errors show, gobus ui) and clients in other languages decode any
// body without being built with its contract.
//
// # Keys and values
//
// A key is a message type's proto full name, such as
// "shop.sales.v1.PlaceOrder". Its value is a
// google.protobuf.FileDescriptorSet in protobuf binary, marshalled
// deterministically: the file that declares the type and every file it
// imports, transitively, each file after the files it imports. Any
// protobuf runtime builds the type from it (protodesc.NewFiles in Go,
// descriptor_pool.DescriptorPool.Add in Python, FileDescriptor.buildFrom
// in Java).
//
// # Versions
//
// A value's version is [Version]: the hex SHA-256 of its bytes. [Publish]
// writes a type's descriptors only when the latest value's version differs,
// so restarting an endpoint adds no revision; the bucket keeps
// [topology.SchemasHistory] revisions of each key, so the descriptors of
// a type's earlier versions stay readable in the key's history while
// endpoints are upgraded.
package schemas

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"

	"github.com/gobusdev/gobus/internal/topology"
)

// ErrUnknownType is returned for a message type the registry holds no
// descriptors of.
var ErrUnknownType = errors.New("gobus: unknown message type")

// ErrNoBucket is returned by [Publish] when the registry's bucket does
// not exist: the installer creates it, and with the installer off an
// operator does.
var ErrNoBucket = errors.New("gobus: no schema registry bucket")

// BucketName is the name of the schema registry's bucket under prefix:
// "<prefix>_schemas".
func BucketName(prefix string) string { return topology.Names{Prefix: prefix}.SchemasBucket() }

// Version is the version of a registry value: the hex SHA-256 of its
// bytes.
func Version(value []byte) string {
	sum := sha256.Sum256(value)
	return hex.EncodeToString(sum[:])
}
