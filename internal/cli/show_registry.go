package cli

import (
	"bytes"
	"context"
	"encoding/json"

	"github.com/gobusdev/gobus/internal/schemas"
	"github.com/gobusdev/gobus/internal/wire"
)

// registryDecoder decodes failed messages' bodies with the schema
// registry, for types neither linked into this binary nor given with
// --descriptors.
type registryDecoder struct {
	ctx context.Context
	reg *schemas.Registry
}

// openRegistry opens the session's schema registry; nil if it cannot be
// read, which leaves bodies in hex.
func openRegistry(ctx context.Context, sess *session) *registryDecoder {
	reg, err := schemas.Open(ctx, sess.js, sess.names.Prefix)
	if err != nil {
		return nil
	}
	return &registryDecoder{ctx: ctx, reg: reg}
}

// decode returns f's body as indented protojson if the registry knows
// its type and it decodes as one.
func (d *registryDecoder) decode(f *failed) (string, bool) {
	if d == nil {
		return "", false
	}
	data, contentType := f.Body, ""
	if env, err := wire.Parse(f.Headers, f.Body); err == nil {
		data, contentType = env.Data, env.ContentType
	}
	out, err := d.reg.ToJSON(d.ctx, f.Type, contentType, data)
	if err != nil {
		return "", false
	}
	var b bytes.Buffer
	if err := json.Indent(&b, out, "", "  "); err != nil {
		return "", false
	}
	return b.String(), true
}
