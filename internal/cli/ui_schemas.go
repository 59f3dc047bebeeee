package cli

import (
	"context"

	"github.com/gobusdev/gobus/internal/ui"
)

// schemas is what decodes bodies on the page: none yet.
func (o *options) schemas(ctx context.Context, sess *session) ui.Decoder { return nil }
