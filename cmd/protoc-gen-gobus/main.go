// Command protoc-gen-gobus generates typed gobus senders, publishers,
// handler interfaces, routes and saga interfaces from protobuf contracts
// marked with the gobus.v1 options.
//
// It is a protoc plugin; run it through buf next to protoc-gen-go:
//
//	# buf.gen.yaml
//	version: v2
//	plugins:
//	  - local: ["go", "tool", "protoc-gen-go"]
//	    out: .
//	    opt: module=example.com/shop
//	  - local: ["go", "tool", "protoc-gen-gobus"]
//	    out: .
//	    opt: module=example.com/shop
//
// For every .proto file that declares a command, an event or the state of
// a saga it writes a file ending in .gobus.go into the same Go package as the .pb.go file.
// Wrong options fail the generation with the file, line and column of each
// mistake, the message and the fix; every mistake of a run is reported.
//
// gobus init writes this buf.gen.yaml, and a buf.yaml that finds
// gobus/v1/options.proto, into a module of your own.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"google.golang.org/protobuf/compiler/protogen"

	"github.com/gobusdev/gobus/internal/gengobus"
)

func main() {
	if len(os.Args) == 2 && (os.Args[1] == "--version" || os.Args[1] == "-version") {
		fmt.Println(filepath.Base(os.Args[0]), gengobus.Version)
		return
	}
	if len(os.Args) == 2 && (os.Args[1] == "--help" || os.Args[1] == "-h") {
		fmt.Fprintln(os.Stderr, "protoc-gen-gobus is a protoc plugin: run it through buf generate or protoc --gobus_out.")
		fmt.Fprintln(os.Stderr, "See https://pkg.go.dev/github.com/gobusdev/gobus/cmd/protoc-gen-gobus.")
		os.Exit(0)
	}
	var flags flag.FlagSet
	protogen.Options{ParamFunc: flags.Set}.Run(gengobus.Generate)
}
