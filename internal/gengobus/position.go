package gengobus

import (
	"errors"
	"fmt"

	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// messageOptionsField is the number of the options field of
// google.protobuf.DescriptorProto, the step of a source path from a message
// to its options.
const messageOptionsField = 7

// position is a place in a .proto file, as compilers print it: the line and
// column count from 1.
type position struct {
	file      string
	line, col int
}

func (p position) String() string {
	if p.line == 0 {
		return p.file
	}
	return fmt.Sprintf("%s:%d:%d", p.file, p.line, p.col)
}

// optionPos is where the option ext of m is written, at its field when
// given and the source info records it (option (x).field = ...), else the
// whole option, else the message. Without source info it is the file.
func optionPos(f *protogen.File, m *protogen.Message, ext protoreflect.FieldNumber, field ...protoreflect.FieldNumber) position {
	path := append(protoreflect.SourcePath(nil), m.Location.Path...)
	path = append(path, messageOptionsField, int32(ext))
	for _, n := range field {
		path = append(path, int32(n))
	}
	locs := f.Desc.SourceLocations()
	for len(path) >= len(m.Location.Path) {
		if loc := locs.ByPath(path); len(loc.Path) > 0 {
			return position{file: f.Desc.Path(), line: loc.StartLine + 1, col: loc.StartColumn + 1}
		}
		if len(path) == len(m.Location.Path)+2 {
			path = path[:len(m.Location.Path)] // the message itself
			continue
		}
		path = path[:len(path)-1]
	}
	return position{file: f.Desc.Path()}
}

// messagePos is where m is declared.
func messagePos(f *protogen.File, m *protogen.Message) position {
	return optionPos(f, m, 0)
}

// mistakes gathers the contract mistakes of one run, so that the plugin
// reports all of them, each at its place, not only the first.
type mistakes struct{ errs []error }

func (ms *mistakes) add(at position, format string, args ...any) {
	ms.errs = append(ms.errs, fmt.Errorf("%s: %s", at, fmt.Sprintf(format, args...)))
}

// err joins the mistakes, one a line, or is nil.
func (ms *mistakes) err() error { return errors.Join(ms.errs...) }
