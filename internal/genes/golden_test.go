package genes_test

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bufbuild/protocompile"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/pluginpb"

	"github.com/gobusdev/gobus/internal/genes"
	"github.com/gobusdev/gobus/internal/pluginrun"
	_ "github.com/gobusdev/gobus/proto/gobus/v1" // the options as typed extensions
)

var update = flag.Bool("update", false, "rewrite testdata/golden")

// generate compiles names from dir, with the gobus options, into the
// request protoc would send (through the wire format, so that the options
// are typed extensions) and runs the generator.
func generate(t *testing.T, dir, param string, names ...string) *pluginpb.CodeGeneratorResponse {
	t.Helper()
	c := protocompile.Compiler{
		Resolver:       protocompile.WithStandardImports(&protocompile.SourceResolver{ImportPaths: []string{dir, "../../proto"}}),
		SourceInfoMode: protocompile.SourceInfoStandard,
	}
	files, err := c.Compile(context.Background(), names...)
	if err != nil {
		t.Fatal(err)
	}
	req := &pluginpb.CodeGeneratorRequest{Parameter: proto.String(param)}
	seen := map[string]bool{}
	var add func(protoreflect.FileDescriptor)
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
	var wire pluginpb.CodeGeneratorRequest
	if err := proto.Unmarshal(b, &wire); err != nil {
		t.Fatal(err)
	}
	return pluginrun.Respond(&wire, genes.Generate)
}

// TestGolden generates testdata/proto (no go_package: a TypeScript team's
// contract) and compares with testdata/golden; -update rewrites it.
func TestGolden(t *testing.T) {
	resp := generate(t, "testdata/proto", "", "shop/inventory/v1/inventory.proto")
	if resp.Error != nil {
		t.Fatal(resp.GetError())
	}
	if len(resp.File) != 1 || resp.File[0].GetName() != "shop/inventory/v1/inventory_gobus.ts" {
		t.Fatalf("generated %v, want shop/inventory/v1/inventory_gobus.ts", resp.File)
	}
	path := filepath.Join("testdata", "golden", "inventory_gobus.ts")
	got := resp.File[0].GetContent()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("inventory_gobus.ts differs from %s (run go test -run TestGolden -update if intended):\n%s", path, got)
	}
}

// TestParameters: runtime_import and import_extension change the imports;
// an unknown parameter is refused.
func TestParameters(t *testing.T) {
	resp := generate(t, "testdata/proto", "runtime_import=../runtime/index.ts,import_extension=ts", "shop/inventory/v1/inventory.proto")
	if resp.Error != nil {
		t.Fatal(resp.GetError())
	}
	got := resp.File[0].GetContent()
	for _, want := range []string{`from "../runtime/index.ts";`, `from "./inventory_pb.ts";`} {
		if !strings.Contains(got, want) {
			t.Errorf("the generated file lacks %s:\n%s", want, got)
		}
	}
	resp = generate(t, "testdata/proto", "target=ts", "shop/inventory/v1/inventory.proto")
	if !strings.Contains(resp.GetError(), `unknown parameter "target"`) {
		t.Errorf("error %q, want it to name the unknown parameter", resp.GetError())
	}
}

// TestFilterMistakes: filter fields that cannot become subject tokens are
// refused, with the file, the event and the field named.
func TestFilterMistakes(t *testing.T) {
	dir := t.TempDir()
	src := `syntax = "proto3";
package fleet.v1;
import "gobus/v1/options.proto";
message Moved {
  option (gobus.v1.event) = {filter_fields: ["depot", "stops", "weight", "nowhere"]};
  string depot = 1;
  repeated string stops = 2;
  double weight = 3;
}
message Crowded {
  option (gobus.v1.event) = {filter_fields: ["a", "b", "c", "d", "e"]};
  string a = 1;
  string b = 2;
  string c = 3;
  string d = 4;
  string e = 5;
}
`
	if err := os.MkdirAll(filepath.Join(dir, "fleet", "v1"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "fleet", "v1", "fleet.proto"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	resp := generate(t, dir, "", "fleet/v1/fleet.proto")
	for _, want := range []string{
		`fleet/v1/fleet.proto: event fleet.v1.Moved: filter field "stops" is not a singular string, integer, bool or enum field`,
		`fleet/v1/fleet.proto: event fleet.v1.Moved: filter field "weight" is not a singular string, integer, bool or enum field`,
		`fleet/v1/fleet.proto: event fleet.v1.Moved: filter field "nowhere" is not a field of the message`,
		`fleet/v1/fleet.proto: event fleet.v1.Crowded names 5 filter fields, and gobus allows at most 4`,
	} {
		if !strings.Contains(resp.GetError(), want) {
			t.Errorf("the error does not say %q:\n%s", want, resp.GetError())
		}
	}
	if strings.Contains(resp.GetError(), `"depot"`) {
		t.Errorf("the string field depot is a valid filter field, and the error names it:\n%s", resp.GetError())
	}
	if len(resp.File) != 0 {
		t.Errorf("generated %d files for a contract with mistakes", len(resp.File))
	}
}
