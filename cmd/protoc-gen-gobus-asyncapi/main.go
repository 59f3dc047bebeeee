// Command protoc-gen-gobus-asyncapi writes an AsyncAPI 3.0 document for
// every protobuf package of gobus contracts: its subjects as channels, the
// endpoints' receive and the events' send operations, the messages with
// their protobuf schema and CloudEvents headers, and the JetStream streams
// and consumers as x-gobus- extensions.
//
// It is a protoc plugin; run it through buf next to protoc-gen-gobus:
//
//	# buf.gen.yaml
//	version: v2
//	plugins:
//	  - local: ["go", "run", "github.com/gobusdev/gobus/cmd/protoc-gen-gobus-asyncapi"]
//	    out: docs/asyncapi
//
// The document of package shop.sales.v1 is docs/asyncapi/shop.sales.v1.yaml.
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/gobusdev/gobus/internal/genasyncapi"
	"github.com/gobusdev/gobus/internal/pluginrun"
)

func main() {
	if len(os.Args) == 2 && (os.Args[1] == "--version" || os.Args[1] == "-version") {
		fmt.Println(filepath.Base(os.Args[0]), genasyncapi.Version)
		return
	}
	if len(os.Args) == 2 && (os.Args[1] == "--help" || os.Args[1] == "-h") {
		fmt.Fprintln(os.Stderr, "protoc-gen-gobus-asyncapi is a protoc plugin: run it through buf generate or protoc --gobus-asyncapi_out.")
		fmt.Fprintln(os.Stderr, "See https://pkg.go.dev/github.com/gobusdev/gobus/cmd/protoc-gen-gobus-asyncapi.")
		os.Exit(0)
	}
	if err := pluginrun.Run(os.Stdin, os.Stdout, genasyncapi.Generate); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", filepath.Base(os.Args[0]), err)
		os.Exit(1)
	}
}
