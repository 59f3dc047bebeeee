package cli

import (
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
	"google.golang.org/protobuf/proto"

	gobustestv1 "github.com/gobusdev/gobus/internal/testproto/gobustest/v1"
	"github.com/gobusdev/gobus/internal/wire"
)

// show decodes a body whose type is linked into the binary, protobuf or
// JSON, and falls back to hex.
func TestDecodeBody(t *testing.T) {
	t.Parallel()
	pb, err := proto.Marshal(&gobustestv1.Work{Id: "from-protobuf"})
	if err != nil {
		t.Fatal(err)
	}
	header := func(contentType string) nats.Header {
		h := nats.Header{}
		h.Set(wire.HeaderSpecVersion, "1.0")
		h.Set(wire.HeaderID, "1")
		h.Set(wire.HeaderType, gobustestv1.WorkType)
		h.Set(wire.HeaderSource, "test")
		if contentType != "" {
			h.Set(wire.HeaderDataContentType, contentType)
		}
		return h
	}
	for _, tc := range []struct {
		name, typ, contentType string
		body                   []byte
		decoded                bool
		want                   string
	}{
		{"protobuf", gobustestv1.WorkType, "", pb, true, "from-protobuf"},
		{"json", gobustestv1.WorkType, "application/json", []byte(`{"id":"from-json"}`), true, "from-json"},
		{"unknown type", "nowhere.v1.Thing", "", pb, false, "00000000"},
		{"not the type", gobustestv1.WorkType, "application/json", []byte(`not json`), false, "6e 6f 74"},
	} {
		f := &failed{Type: tc.typ, Headers: header(tc.contentType), Body: tc.body}
		body, decoded := decodeBody(nil, f)
		if decoded != tc.decoded || !strings.Contains(body.(string), tc.want) {
			t.Errorf("%s: decoded %v, %q; want %v and %q", tc.name, decoded, body, tc.decoded, tc.want)
		}
	}
}
