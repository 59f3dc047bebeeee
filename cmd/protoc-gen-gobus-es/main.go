// Command protoc-gen-gobus-es generates TypeScript for gobus contracts:
// for a.proto, a_gobus.ts with the routes, typed sendX and publishX
// functions, handler interfaces and registerXHandler functions over the
// @gobusdev/gobus runtime (clients/typescript), next to the a_pb.ts of
// protoc-gen-es v2.
//
// It is a protoc plugin; run it through buf next to protoc-gen-es:
//
//	# buf.gen.yaml
//	version: v2
//	plugins:
//	  - local: protoc-gen-es
//	    out: gen
//	    opt: [target=ts, import_extension=js]
//	  - local: ["go", "run", "github.com/gobusdev/gobus/cmd/protoc-gen-gobus-es"]
//	    out: gen
//
// Parameters: runtime_import=<module> (default @gobusdev/gobus) and
// import_extension=<ext> (default js).
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/gobusdev/gobus/internal/genes"
	"github.com/gobusdev/gobus/internal/pluginrun"
)

func main() {
	if len(os.Args) == 2 && (os.Args[1] == "--version" || os.Args[1] == "-version") {
		fmt.Println(filepath.Base(os.Args[0]), genes.Version)
		return
	}
	if len(os.Args) == 2 && (os.Args[1] == "--help" || os.Args[1] == "-h") {
		fmt.Fprintln(os.Stderr, "protoc-gen-gobus-es is a protoc plugin: run it through buf generate or protoc --gobus-es_out.")
		fmt.Fprintln(os.Stderr, "See https://pkg.go.dev/github.com/gobusdev/gobus/cmd/protoc-gen-gobus-es.")
		os.Exit(0)
	}
	if err := pluginrun.Run(os.Stdin, os.Stdout, genes.Generate); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", filepath.Base(os.Args[0]), err)
		os.Exit(1)
	}
}
