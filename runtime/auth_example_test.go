package gobus_test

import (
	"context"
	"log"

	gobus "github.com/gobusdev/gobus/runtime"
)

// A client of a NATS server in operator mode that verifies its clients'
// certificates. Connect reads the files first and fails with
// ErrInvalidOption if one is missing or holds the wrong thing.
func ExampleWithCredentialsFile() {
	ctx := context.Background()
	client, err := gobus.Connect(ctx,
		gobus.WithURL("tls://nats.internal:4222"),
		gobus.WithCredentialsFile("/etc/gobus/orders.creds"),
		gobus.WithTLS(gobus.TLS{
			CAFile:   "/etc/gobus/ca.pem",
			CertFile: "/etc/gobus/client.pem",
			KeyFile:  "/etc/gobus/client-key.pem",
		}),
	)
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close(ctx)
}
