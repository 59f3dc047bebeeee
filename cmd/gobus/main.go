// Command gobus sets up Go modules for gobus and operates gobus endpoints
// on a NATS JetStream server: it shows their status and manages the error
// stream (list, show, retry, delete), without writing code.
//
//	gobus init --module example.com/myshop
//	gobus status
//	gobus errors list --endpoint billing
//	gobus errors show 12
//	gobus errors retry --all
//
// The server, credentials and prefix come from flags or from GOBUS_URL,
// GOBUS_CREDS and GOBUS_PREFIX. Run gobus --help for the rest.
package main

import (
	"os"

	"github.com/gobusdev/gobus/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr))
}
