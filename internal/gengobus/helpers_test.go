package gengobus_test

import (
	"context"
	"flag"
	"slices"
	"testing"

	"github.com/bufbuild/protocompile"
	"github.com/bufbuild/protocompile/linker"
	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/pluginpb"

	"github.com/gobusdev/gobus/internal/gengobus"
	gobusv1 "github.com/gobusdev/gobus/proto/gobus/v1"
)

// update has TestGolden rewrite the golden files instead of comparing.
var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// optionsImportPath is the folder that holds gobus/v1/options.proto, relative
// to this package.
const optionsImportPath = "../../proto"

// dirResolver finds .proto sources in dirs, then gobus/v1/options.proto in
// the repository, then google/protobuf/*.proto among the standard imports,
// the way buf finds them in the workspace.
func dirResolver(dirs ...string) protocompile.Resolver {
	paths := append(append([]string(nil), dirs...), optionsImportPath)
	return protocompile.WithStandardImports(&protocompile.SourceResolver{ImportPaths: paths})
}

// mapResolver finds .proto sources in srcs, keyed by import path, then
// gobus/v1/options.proto and the standard imports as [dirResolver] does.
func mapResolver(srcs map[string]string) protocompile.Resolver {
	return protocompile.WithStandardImports(protocompile.CompositeResolver{
		&protocompile.SourceResolver{Accessor: protocompile.SourceAccessorFromMap(srcs)},
		&protocompile.SourceResolver{ImportPaths: []string{optionsImportPath}},
	})
}

// compile compiles the named .proto files into linked descriptors, with the
// source info protoc would send, and fails the test on a compile error.
func compile(t testing.TB, r protocompile.Resolver, names ...string) linker.Files {
	t.Helper()
	c := protocompile.Compiler{Resolver: r, SourceInfoMode: protocompile.SourceInfoStandard}
	files, err := c.Compile(context.Background(), names...)
	if err != nil {
		t.Fatalf("compiling %v: %v", names, err)
	}
	return files
}

// request builds the CodeGeneratorRequest protoc would send to generate
// files with the plugin parameter param: every file and its imports in
// dependency order, google/protobuf/descriptor.proto and
// gobus/v1/options.proto included.
//
// The request goes through the wire format, as it would from protoc, so
// that the gobus options come out as extensions of the linked gobusv1
// package rather than the dynamic messages of the compiler.
func request(t testing.TB, files linker.Files, param string) *pluginpb.CodeGeneratorRequest {
	t.Helper()
	req := &pluginpb.CodeGeneratorRequest{Parameter: proto.String(param)}
	seen := map[string]bool{}
	var add func(fd protoreflect.FileDescriptor)
	add = func(fd protoreflect.FileDescriptor) {
		if seen[fd.Path()] {
			return
		}
		seen[fd.Path()] = true
		imports := fd.Imports()
		for i := range imports.Len() {
			add(imports.Get(i).FileDescriptor)
		}
		req.ProtoFile = append(req.ProtoFile, protodesc.ToFileDescriptorProto(fd))
	}
	for _, f := range files {
		req.FileToGenerate = append(req.FileToGenerate, f.Path())
		add(f)
	}
	b, err := proto.Marshal(req)
	if err != nil {
		t.Fatalf("marshaling the request: %v", err)
	}
	var out pluginpb.CodeGeneratorRequest
	if err := proto.Unmarshal(b, &out); err != nil {
		t.Fatalf("unmarshaling the request: %v", err)
	}
	return &out
}

// generate runs the generator on req the way protogen.Options.Run does and
// returns the response protoc would get: the files, or the error.
func generate(t testing.TB, req *pluginpb.CodeGeneratorRequest) *pluginpb.CodeGeneratorResponse {
	t.Helper()
	plugin, err := protogen.Options{}.New(req)
	if err != nil {
		t.Fatalf("protogen rejected the request: %v", err)
	}
	if err := gengobus.Generate(plugin); err != nil {
		plugin.Error(err)
	}
	return plugin.Response()
}

// generateFiles compiles the named files with r, generates them with param
// and returns the response.
func generateFiles(t testing.TB, r protocompile.Resolver, param string, names ...string) *pluginpb.CodeGeneratorResponse {
	t.Helper()
	return generate(t, request(t, compile(t, r, names...), param))
}

// responseFiles maps the names of the generated files to their contents,
// failing the test if the generator reported an error.
func responseFiles(t testing.TB, resp *pluginpb.CodeGeneratorResponse) map[string]string {
	t.Helper()
	if resp.Error != nil {
		t.Fatalf("generator error: %s", resp.GetError())
	}
	out := map[string]string{}
	for _, f := range resp.File {
		if f.GetInsertionPoint() != "" {
			t.Fatalf("%s: unexpected insertion point %q", f.GetName(), f.GetInsertionPoint())
		}
		if _, dup := out[f.GetName()]; dup {
			t.Fatalf("%s is generated twice", f.GetName())
		}
		out[f.GetName()] = f.GetContent()
	}
	return out
}

// TestRequestCarriesOptionsAsExtensions guards the test harness itself:
// after the round trip through the wire format, the gobus options of a
// compiled file must be the generated gobusv1 types, or every other test
// would see messages without options.
func TestRequestCarriesOptionsAsExtensions(t *testing.T) {
	t.Parallel()
	srcs := map[string]string{"x/v1/x.proto": `syntax = "proto3";
package x.v1;
import "gobus/v1/options.proto";
option go_package = "example.com/x/v1;xv1";
message Ping { option (gobus.v1.command) = {endpoint: "pong"}; }
`}
	req := request(t, compile(t, mapResolver(srcs), "x/v1/x.proto"), "")
	var paths []string
	for _, f := range req.ProtoFile {
		paths = append(paths, f.GetName())
	}
	want := []string{"google/protobuf/descriptor.proto", "gobus/v1/options.proto", "x/v1/x.proto"}
	if !slices.Equal(paths, want) {
		t.Fatalf("ProtoFile = %v, want %v (dependency order)", paths, want)
	}
	opts := req.ProtoFile[2].MessageType[0].GetOptions()
	assertCommandEndpoint(t, opts, "pong")
}

// assertCommandEndpoint checks that opts carry a gobus.v1.command option,
// decoded as the linked Go type, with the given endpoint.
func assertCommandEndpoint(t *testing.T, opts *descriptorpb.MessageOptions, endpoint string) {
	t.Helper()
	if len(opts.ProtoReflect().GetUnknown()) > 0 {
		t.Fatalf("message options have unknown fields: the gobus extensions were not resolved")
	}
	o, ok := proto.GetExtension(opts, gobusv1.E_Command).(*gobusv1.CommandOptions)
	if !ok {
		t.Fatalf("option (gobus.v1.command) is %T, want *gobusv1.CommandOptions", proto.GetExtension(opts, gobusv1.E_Command))
	}
	if got := o.GetEndpoint(); got != endpoint {
		t.Fatalf("command endpoint = %q, want %q", got, endpoint)
	}
}
