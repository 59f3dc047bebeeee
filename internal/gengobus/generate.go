// Package gengobus is the code generator behind protoc-gen-gobus.
//
// [Generate] reads the gobus.v1 options of every message in the files to
// generate, checks them, and writes one .gobus.go file per .proto file that
// declares commands, events or saga states. The generated code is thin:
// names, routes and typed wrappers around the generic functions of the
// gobus runtime.
package gengobus

import (
	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/pluginpb"
)

// Version is the version of protoc-gen-gobus, written into every generated
// file.
const Version = "0.1.0"

// runtimeVersionCheck is the runtime constant that generated code refers
// to, so that a runtime too old for the generated code fails to compile.
const runtimeVersionCheck = "IsAtLeastVersion0_1_0"

// runtimePath is the import path of the gobus runtime.
const runtimePath = "github.com/gobusdev/gobus/runtime"

// Generate writes the gobus code for every file that gen asks for.
// Contract mistakes come back as one error with a line per mistake, each
// naming the file, line and column of the option, the message and the fix;
// protogen sends it to buf or protoc in the plugin response.
func Generate(gen *protogen.Plugin) error {
	gen.SupportedFeatures = uint64(pluginpb.CodeGeneratorResponse_FEATURE_PROTO3_OPTIONAL |
		pluginpb.CodeGeneratorResponse_FEATURE_SUPPORTS_EDITIONS)
	gen.SupportedEditionsMinimum = descriptorpb.Edition_EDITION_PROTO2
	gen.SupportedEditionsMaximum = descriptorpb.Edition_EDITION_2023

	files, err := collect(gen)
	if err != nil {
		return err
	}
	for _, f := range files {
		if err := emit(gen, f); err != nil {
			return err
		}
	}
	return nil
}
