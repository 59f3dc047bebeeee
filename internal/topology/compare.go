package topology

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"

	"github.com/nats-io/nats.go/jetstream"
)

// ErrMismatch is wrapped by the error of a strict [Installer] when a
// stream or consumer that exists differs from what the options ask for.
var ErrMismatch = errors.New("an existing stream or consumer differs from the options")

// Difference is one setting of an existing stream or consumer that differs
// from what the installer wants, and that it leaves as it is.
type Difference struct {
	Setting  string
	Existing any
	Wanted   any
}

// streamDifferences compares the settings the installer sets on a new
// stream with those of the existing one. Missing subjects count only if
// withSubjects: on its own queue stream an endpoint adds them instead.
func streamDifferences(existing, wanted jetstream.StreamConfig, withSubjects bool) []Difference {
	var d []Difference
	add := func(setting string, e, w any) {
		if e != w {
			d = append(d, Difference{setting, e, w})
		}
	}
	add("replicas", existing.Replicas, wanted.Replicas)
	add("retention", existing.Retention.String(), wanted.Retention.String())
	add("storage", existing.Storage.String(), wanted.Storage.String())
	add("max_age", existing.MaxAge, wanted.MaxAge)
	add("duplicate_window", existing.Duplicates, wanted.Duplicates)
	if missing := missingSubjects(existing.Subjects, wanted.Subjects); withSubjects && len(missing) > 0 {
		d = append(d, Difference{"subjects", existing.Subjects, wanted.Subjects})
	}
	return d
}

// missingSubjects returns the subjects of want that have is missing.
func missingSubjects(have, want []string) []string {
	var missing []string
	for _, s := range want {
		if !slices.Contains(have, s) {
			missing = append(missing, s)
		}
	}
	return missing
}

// report logs each difference of a stream (kind "stream", name = stream)
// or a consumer (kind "consumer") as a warning, or, if the installer is
// strict, returns them as an error.
func (in *Installer) report(kind, name, stream string, diffs []Difference) error {
	if len(diffs) == 0 {
		return nil
	}
	where := kind + " " + name
	attrs := []any{kind, name}
	if kind != "stream" {
		where += " on stream " + stream
		attrs = append(attrs, "stream", stream)
	}
	if in.Strict {
		parts := make([]string, len(diffs))
		for i, d := range diffs {
			parts[i] = fmt.Sprintf("%s is %v, the options want %v", d.Setting, d.Existing, d.Wanted)
		}
		return fmt.Errorf("%w: %s: %s (the installer is strict: make the options match, or change the %s with an operator tool)",
			ErrMismatch, where, strings.Join(parts, "; "), kind)
	}
	for _, d := range diffs {
		in.logger().Warn("gobus: an existing "+kind+" differs from the options; keeping its value",
			append(attrs, "setting", d.Setting, "existing", d.Existing, "wanted", d.Wanted)...)
	}
	return nil
}

func (in *Installer) logger() *slog.Logger {
	if in.Logger == nil {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return in.Logger
}
