// Package pluginrun runs the protoc plugins of gobus that write no Go
// (protoc-gen-gobus-asyncapi, protoc-gen-gobus-es) on contracts that may
// have no go_package, which protogen would otherwise refuse.
package pluginrun

import (
	"fmt"
	"io"
	"path"

	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/pluginpb"
)

// Run reads a CodeGeneratorRequest from in, runs generate and writes the
// CodeGeneratorResponse to out. Contract mistakes go back in the
// response; only broken plumbing is an error.
func Run(in io.Reader, out io.Writer, generate func(*protogen.Plugin) error) error {
	b, err := io.ReadAll(in)
	if err != nil {
		return fmt.Errorf("reading the request: %w", err)
	}
	req := &pluginpb.CodeGeneratorRequest{}
	if err := proto.Unmarshal(b, req); err != nil {
		return fmt.Errorf("decoding the request: %w", err)
	}
	b, err = proto.Marshal(Respond(req, generate))
	if err != nil {
		return fmt.Errorf("encoding the response: %w", err)
	}
	_, err = out.Write(b)
	return err
}

// Respond runs generate on req and returns the response protoc gets.
func Respond(req *pluginpb.CodeGeneratorRequest, generate func(*protogen.Plugin) error) *pluginpb.CodeGeneratorResponse {
	plugin, err := NewPlugin(req)
	if err != nil {
		return &pluginpb.CodeGeneratorResponse{Error: proto.String(err.Error())}
	}
	if err := generate(plugin); err != nil {
		plugin.Error(err)
	}
	return plugin.Response()
}

// NewPlugin is protogen's plugin for req. Contracts written for other
// languages have no go_package, which protogen needs though these plugins
// write no Go: such files get a placeholder import path.
func NewPlugin(req *pluginpb.CodeGeneratorRequest) (*protogen.Plugin, error) {
	req = proto.CloneOf(req)
	for _, f := range req.ProtoFile {
		if f.GetOptions().GetGoPackage() != "" {
			continue
		}
		if f.Options == nil {
			f.Options = &descriptorpb.FileOptions{}
		}
		f.Options.GoPackage = proto.String("gobus.invalid/nogo/" + path.Dir(f.GetName()))
	}
	return protogen.Options{}.New(req)
}
