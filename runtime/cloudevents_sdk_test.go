package gobus_test

// Interoperability with the real CloudEvents Go SDK over its NATS JetStream
// protocol binding.

import (
	_ "github.com/cloudevents/sdk-go/protocol/nats_jetstream/v2"
	_ "github.com/cloudevents/sdk-go/v2"
)
