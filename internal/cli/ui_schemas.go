package cli

import (
	"context"

	"github.com/gobusdev/gobus/internal/schemas"
	"github.com/gobusdev/gobus/internal/ui"
)

// schemas opens the schema registry, which decodes bodies on the page.
func (o *options) schemas(ctx context.Context, sess *session) (ui.Decoder, error) {
	reg, err := schemas.Open(ctx, sess.js, o.prefix)
	if err != nil {
		return nil, err
	}
	return reg, nil
}
