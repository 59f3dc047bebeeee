package schemas

import (
	"context"
	"fmt"
	"mime"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// ToJSON returns body, a message of type fullName encoded as contentType,
// in protojson, decoded with the registry's descriptors of the type.
// contentType is "application/protobuf" (or "application/x-protobuf"),
// "application/json", or "" for protobuf, as gobus assumes when a message
// names none. It wraps [ErrUnknownType] when the registry holds no
// descriptors of the type.
func (r *Registry) ToJSON(ctx context.Context, fullName, contentType string, body []byte) ([]byte, error) {
	e, err := r.find(ctx, fullName)
	if err != nil {
		return nil, err
	}
	m := e.mt.New().Interface()
	if err := unmarshal(contentType, body, m, e); err != nil {
		return nil, fmt.Errorf("gobus: the body is not a valid %s (decoded as %s): %w", fullName, mediaType(contentType), err)
	}
	out, err := protojson.MarshalOptions{Resolver: e.types}.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("gobus: %s as JSON: %w", fullName, err)
	}
	return out, nil
}

func unmarshal(contentType string, body []byte, m proto.Message, e *entry) error {
	switch mt := mediaType(contentType); mt {
	case "application/protobuf", "application/x-protobuf":
		return proto.UnmarshalOptions{Resolver: e.types}.Unmarshal(body, m)
	case "application/json":
		return protojson.UnmarshalOptions{Resolver: e.types, DiscardUnknown: true}.Unmarshal(body, m)
	default:
		return fmt.Errorf("unsupported content type %q", contentType)
	}
}

// mediaType is contentType without parameters, protobuf when empty.
func mediaType(contentType string) string {
	if contentType == "" {
		return "application/protobuf"
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return contentType
	}
	return mt
}
