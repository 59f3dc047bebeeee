package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/bufbuild/protocompile"
	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/pluginpb"

	"github.com/gobusdev/gobus/internal/gengobus"
)

// The codegen workload: protoc-gen-gobus on codegenFiles files of
// codegenMessages messages each, half commands (for five endpoints), half
// events.
const (
	codegenFiles    = 50
	codegenMessages = 20
)

// codegen times protoc-gen-gobus's work on a request of 1,000 messages in
// 50 files, as the plugin does it between reading the request from stdin
// and writing the response: decode the request, build protogen's model,
// generate, encode the response. Compiling the .proto files is buf's (or
// protoc's) work and is not counted; neither is starting the process.
// It returns the medians of rounds runs, wall-clock and CPU time (on a
// shared machine the CPU time is the figure: the wall clock waits for
// cores), and the generated files' count.
func codegen(rounds int) (wall, cpu time.Duration, files int, err error) {
	req, err := codegenRequest()
	if err != nil {
		return 0, 0, 0, err
	}
	var walls, cpus []float64
	for range rounds {
		runtime.GC()
		start, startCPU := time.Now(), cpuTime()
		resp, err := runPlugin(req)
		if err != nil {
			return 0, 0, 0, err
		}
		walls = append(walls, float64(time.Since(start)))
		cpus = append(cpus, float64(cpuTime()-startCPU))
		files = len(resp.File)
	}
	return time.Duration(median(walls)), time.Duration(median(cpus)), files, nil
}

// cpuTime is the CPU time this process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// runPlugin is protoc-gen-gobus's main on the encoded request in.
func runPlugin(in []byte) (*pluginpb.CodeGeneratorResponse, error) {
	var req pluginpb.CodeGeneratorRequest
	if err := proto.Unmarshal(in, &req); err != nil {
		return nil, err
	}
	plugin, err := protogen.Options{}.New(&req)
	if err != nil {
		return nil, err
	}
	if err := gengobus.Generate(plugin); err != nil {
		return nil, err
	}
	resp := plugin.Response()
	if resp.Error != nil {
		return nil, fmt.Errorf("protoc-gen-gobus: %s", resp.GetError())
	}
	if _, err := proto.Marshal(resp); err != nil {
		return nil, err
	}
	return resp, nil
}

// codegenRequest compiles the workload's files and encodes the request
// protoc would send: every file and its imports, in dependency order.
func codegenRequest() ([]byte, error) {
	_, self, _, ok := runtime.Caller(0)
	if !ok {
		return nil, fmt.Errorf("cannot find the repository's proto directory")
	}
	srcs := map[string]string{}
	var names []string
	for f := range codegenFiles {
		name := fmt.Sprintf("bench/gen%02d/v1/gen.proto", f)
		srcs[name] = codegenSource(f)
		names = append(names, name)
	}
	r := protocompile.WithStandardImports(protocompile.CompositeResolver{
		&protocompile.SourceResolver{Accessor: protocompile.SourceAccessorFromMap(srcs)},
		&protocompile.SourceResolver{ImportPaths: []string{filepath.Join(filepath.Dir(self), "..", "proto")}},
	})
	c := protocompile.Compiler{Resolver: r, SourceInfoMode: protocompile.SourceInfoStandard}
	linked, err := c.Compile(context.Background(), names...)
	if err != nil {
		return nil, err
	}
	req := &pluginpb.CodeGeneratorRequest{Parameter: proto.String("paths=import")}
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
	for _, f := range linked {
		req.FileToGenerate = append(req.FileToGenerate, f.Path())
		add(f)
	}
	return proto.Marshal(req)
}

// codegenSource is file f of the workload.
func codegenSource(f int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "syntax = \"proto3\";\npackage bench.gen%02d.v1;\nimport \"gobus/v1/options.proto\";\n", f)
	fmt.Fprintf(&b, "option go_package = \"example.com/bench/gen%02d/v1;gen%02dv1\";\n", f, f)
	for m := range codegenMessages {
		if m%2 == 0 {
			fmt.Fprintf(&b, "// Do%d asks endpoint e%d to act.\nmessage Do%d {\n  option (gobus.v1.command) = {endpoint: \"e%d\"};\n", m, m%5, m, m%5)
		} else {
			fmt.Fprintf(&b, "// Done%d tells that something happened.\nmessage Done%d {\n  option (gobus.v1.event) = {};\n", m, m)
		}
		b.WriteString("  string id = 1;\n  int64 amount = 2;\n  repeated string tags = 3;\n}\n")
	}
	return b.String()
}

// printCodegen runs the codegen workload and prints its line.
func printCodegen(out io.Writer, rounds int) error {
	wall, cpu, files, err := codegen(rounds)
	if err != nil {
		return fmt.Errorf("codegen: %w", err)
	}
	fmt.Fprintf(out, "protoc-gen-gobus, %d messages in %d files: %s wall, %s CPU (medians of %d; %d files generated)\n",
		codegenFiles*codegenMessages, codegenFiles, wall.Round(time.Millisecond), cpu.Round(time.Millisecond), rounds, files)
	fmt.Fprintf(out, "codegen seconds %.3f wall %.3f cpu\n", wall.Seconds(), cpu.Seconds())
	return nil
}
