package cli

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/gobusdev/gobus/internal/wire"
)

func newShowCommand(o *options) *cobra.Command {
	var descriptors string
	cmd := &cobra.Command{
		Use:   "show ID",
		Short: "Show one failed message: headers, error, stack and body",
		Long: `show prints a failed message's headers, its error and stack, and its body.
The body is printed as JSON when its type is known: linked into this
binary, in the descriptor set given with --descriptors (make one with
buf build -o contracts.binpb), or in the schema registry, where endpoints
publish the descriptors of their types at start. Otherwise, or when it
does not decode as that type, it is printed as hex.`,
		Example: `  gobus errors show 12
  gobus errors show 12 --descriptors contracts.binpb`,
		Args: oneID,
		RunE: func(cmd *cobra.Command, args []string) error {
			ids, err := parseIDs(args)
			if err != nil {
				return err
			}
			types, err := loadTypes(descriptors)
			if err != nil {
				return err
			}
			return o.withErrorsStream(cmd.Context(), func(ctx context.Context, sess *session, st jetstream.Stream) error {
				found, err := sess.byID(ctx, st, selector{ids: ids})
				if err != nil {
					return err
				}
				return o.show(found[0], types, openRegistry(ctx, sess))
			})
		},
	}
	cmd.Flags().StringVar(&descriptors, "descriptors", "", "protobuf descriptor set of the contracts, to decode bodies (buf build -o FILE)")
	return cmd
}

// show prints one failed message, as JSON with --json.
func (o *options) show(f *failed, types *protoregistry.Types, reg *registryDecoder) error {
	body, decoded := decodeBody(types, f)
	if !decoded {
		if s, ok := reg.decode(f); ok {
			body, decoded = s, true
		}
	}
	if !o.jsonOut {
		printFailed(o.out, f, body, decoded)
		return nil
	}
	var jsonBody any = hex.EncodeToString(f.Body)
	if decoded {
		jsonBody = json.RawMessage(body.(string))
	}
	return printJSON(o.out, struct {
		*failed
		Body    any  `json:"body"`
		Decoded bool `json:"body_decoded"`
	}{f, jsonBody, decoded})
}

func printFailed(w io.Writer, f *failed, body any, decoded bool) {
	fmt.Fprintf(w, "id:         %d\n", f.ID)
	fmt.Fprintf(w, "type:       %s\n", f.Type)
	fmt.Fprintf(w, "endpoint:   %s\n", f.Endpoint)
	fmt.Fprintf(w, "failed at:  %s after %d attempts\n", f.FailedAt.Format("2006-01-02 15:04:05 MST"), f.Attempts)
	fmt.Fprintf(w, "from:       %s, sequence %d, subject %s\n", f.Stream, f.Sequence, f.Subject)
	fmt.Fprintf(w, "error:      %s (%s, %s)\n", f.Error, f.Kind, f.ErrorType)
	if f.Stack != "" {
		fmt.Fprintf(w, "stack:\n%s\n", f.Stack)
	}
	fmt.Fprintln(w, "headers:")
	keys := make([]string, 0, len(f.Headers))
	for k := range f.Headers {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, v := range f.Headers[k] {
			if k == wire.HeaderErrorStack {
				v = "(see stack)"
			}
			fmt.Fprintf(w, "  %s: %s\n", k, v)
		}
	}
	if decoded {
		fmt.Fprintf(w, "body (%s):\n%s\n", f.Type, body)
	} else {
		fmt.Fprintf(w, "body (%d bytes; type %s unknown to this binary and the schema registry, or the body is not one: pass --descriptors to decode):\n%s\n", len(f.Body), f.Type, body)
	}
}

// loadTypes reads a descriptor set; with none it uses the types linked
// into this program.
func loadTypes(path string) (*protoregistry.Types, error) {
	if path == "" {
		return nil, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading descriptors: %w", err)
	}
	var set descriptorpb.FileDescriptorSet
	if err := proto.Unmarshal(data, &set); err != nil {
		return nil, fmt.Errorf("%s is not a protobuf descriptor set (make one with buf build -o %s): %w", path, path, err)
	}
	files, err := protodesc.NewFiles(&set)
	if err != nil {
		return nil, fmt.Errorf("descriptors in %s: %w", path, err)
	}
	types := new(protoregistry.Types)
	var regErr error
	files.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
		regErr = registerMessages(types, fd.Messages())
		return regErr == nil
	})
	return types, regErr
}

func registerMessages(types *protoregistry.Types, msgs protoreflect.MessageDescriptors) error {
	for i := 0; i < msgs.Len(); i++ {
		md := msgs.Get(i)
		if err := types.RegisterMessage(dynamicpb.NewMessageType(md)); err != nil {
			return err
		}
		if err := registerMessages(types, md.Messages()); err != nil {
			return err
		}
	}
	return nil
}

// decodeBody returns the body as protojson when its type is known (in
// types, else linked into this binary) and it decodes as that type, else
// as a hex dump.
func decodeBody(types *protoregistry.Types, f *failed) (any, bool) {
	if mt := findType(types, protoreflect.FullName(f.Type)); mt != nil {
		m := mt.New().Interface()
		if unmarshalBody(f, m) == nil {
			return protojson.MarshalOptions{Multiline: true, Indent: "  "}.Format(m), true
		}
	}
	return hex.Dump(f.Body), false
}

// findType looks name up in types, then among the types linked into this
// binary.
func findType(types *protoregistry.Types, name protoreflect.FullName) protoreflect.MessageType {
	if types != nil {
		if mt, err := types.FindMessageByName(name); err == nil {
			return mt
		}
	}
	mt, _ := protoregistry.GlobalTypes.FindMessageByName(name)
	return mt
}

// unmarshalBody decodes f's body into m as the runtime would: protojson
// when the message says JSON, protobuf otherwise, and the data of a
// structured-mode event.
func unmarshalBody(f *failed, m proto.Message) error {
	env, err := wire.Parse(f.Headers, f.Body)
	if err != nil {
		return proto.Unmarshal(f.Body, m)
	}
	if strings.HasPrefix(env.ContentType, wire.ContentTypeJSON) {
		return protojson.Unmarshal(env.Data, m)
	}
	return proto.Unmarshal(env.Data, m)
}
