package genasyncapi_test

import (
	"context"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bufbuild/protocompile"
	"github.com/bufbuild/protocompile/linker"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/pluginpb"

	"github.com/gobusdev/gobus/internal/genasyncapi"
	"github.com/gobusdev/gobus/internal/pluginrun"
	_ "github.com/gobusdev/gobus/proto/gobus/v1" // the options as typed extensions
)

// optionsImportPath holds gobus/v1/options.proto, relative to this package.
const optionsImportPath = "../../proto"

// dirResolver finds .proto files in dir, then the gobus options, then the
// standard imports, as buf finds them in a workspace.
func dirResolver(dir string) protocompile.Resolver {
	return protocompile.WithStandardImports(&protocompile.SourceResolver{ImportPaths: []string{dir, optionsImportPath}})
}

// mapResolver finds .proto sources in srcs, keyed by import path.
func mapResolver(srcs map[string]string) protocompile.Resolver {
	return protocompile.WithStandardImports(protocompile.CompositeResolver{
		&protocompile.SourceResolver{Accessor: protocompile.SourceAccessorFromMap(srcs)},
		&protocompile.SourceResolver{ImportPaths: []string{optionsImportPath}},
	})
}

// generate compiles names with r into the CodeGeneratorRequest protoc
// would send (through the wire format, so that the options are typed
// extensions), runs the generator and returns the files it wrote.
func generate(t testing.TB, r protocompile.Resolver, names ...string) map[string]string {
	t.Helper()
	resp := run(t, request(t, compile(t, r, names...)))
	if resp.Error != nil {
		t.Fatalf("the generator failed: %s", resp.GetError())
	}
	out := map[string]string{}
	for _, f := range resp.File {
		out[f.GetName()] = f.GetContent()
	}
	return out
}

func compile(t testing.TB, r protocompile.Resolver, names ...string) linker.Files {
	t.Helper()
	c := protocompile.Compiler{Resolver: r, SourceInfoMode: protocompile.SourceInfoStandard}
	files, err := c.Compile(context.Background(), names...)
	if err != nil {
		t.Fatalf("compiling %v: %v", names, err)
	}
	return files
}

func request(t testing.TB, files linker.Files) *pluginpb.CodeGeneratorRequest {
	t.Helper()
	req := &pluginpb.CodeGeneratorRequest{}
	seen := map[string]bool{}
	var add func(fd protoreflect.FileDescriptor)
	add = func(fd protoreflect.FileDescriptor) {
		if seen[fd.Path()] {
			return
		}
		seen[fd.Path()] = true
		for i := range fd.Imports().Len() {
			add(fd.Imports().Get(i).FileDescriptor)
		}
		req.ProtoFile = append(req.ProtoFile, protodesc.ToFileDescriptorProto(fd))
	}
	for _, f := range files {
		req.FileToGenerate = append(req.FileToGenerate, f.Path())
		add(f)
	}
	b, err := proto.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	var out pluginpb.CodeGeneratorRequest
	if err := proto.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return &out
}

func run(t testing.TB, req *pluginpb.CodeGeneratorRequest) *pluginpb.CodeGeneratorResponse {
	t.Helper()
	return pluginrun.Respond(req, genasyncapi.Generate)
}

// protoFiles lists the .proto files under dir, relative to it.
func protoFiles(t testing.TB, dir string) []string {
	t.Helper()
	var names []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".proto") {
			rel, _ := filepath.Rel(dir, path)
			names = append(names, filepath.ToSlash(rel))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return names
}
