package genasyncapi

import (
	"fmt"
	"io"
	"path"

	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/pluginpb"
)

// Run is the plugin: it reads a CodeGeneratorRequest from in, generates
// and writes the CodeGeneratorResponse to out. Contract mistakes go back
// in the response; only broken plumbing is an error.
func Run(in io.Reader, out io.Writer) error {
	b, err := io.ReadAll(in)
	if err != nil {
		return fmt.Errorf("reading the request: %w", err)
	}
	req := &pluginpb.CodeGeneratorRequest{}
	if err := proto.Unmarshal(b, req); err != nil {
		return fmt.Errorf("decoding the request: %w", err)
	}
	resp := Respond(req)
	b, err = proto.Marshal(resp)
	if err != nil {
		return fmt.Errorf("encoding the response: %w", err)
	}
	_, err = out.Write(b)
	return err
}

// Respond generates the documents req asks for.
func Respond(req *pluginpb.CodeGeneratorRequest) *pluginpb.CodeGeneratorResponse {
	plugin, err := NewPlugin(req)
	if err != nil {
		return &pluginpb.CodeGeneratorResponse{Error: proto.String(err.Error())}
	}
	if err := Generate(plugin); err != nil {
		plugin.Error(err)
	}
	return plugin.Response()
}

// NewPlugin is protogen's plugin for req. Contracts written for other
// languages have no go_package, which protogen needs though this plugin
// writes no Go: such files get a placeholder import path.
func NewPlugin(req *pluginpb.CodeGeneratorRequest) (*protogen.Plugin, error) {
	req = proto.CloneOf(req)
	for _, f := range req.ProtoFile {
		if f.GetOptions().GetGoPackage() != "" {
			continue
		}
		if f.Options == nil {
			f.Options = &descriptorpb.FileOptions{}
		}
		f.Options.GoPackage = proto.String("gobus.invalid/asyncapi/" + path.Dir(f.GetName()))
	}
	return protogen.Options{}.New(req)
}
