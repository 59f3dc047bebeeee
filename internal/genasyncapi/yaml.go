package genasyncapi

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
)

// A mapping is a YAML mapping whose keys keep the order they were added
// in, so that a document reads top-down and regenerates byte for byte.
type mapping []pair

type pair struct {
	key   string
	value any // string, int, bool, mapping or []any
}

// set appends key: value, and returns m for chaining.
func (m *mapping) set(key string, value any) *mapping {
	*m = append(*m, pair{key, value})
	return m
}

// null is YAML's null.
type null struct{}

// ref is {$ref: target}.
func ref(target string) mapping { return mapping{{"$ref", target}} }

// plain are the strings written without quotes: nothing YAML could read
// as anything but this string.
var plain = regexp.MustCompile(`^[A-Za-z_$][A-Za-z0-9_./$-]*$`)

// keywords are the plain scalars YAML 1.1 readers take for booleans or null.
var keywords = map[string]bool{
	"true": true, "false": true, "yes": true, "no": true, "on": true, "off": true,
	"y": true, "n": true, "null": true, "~": true,
}

// writeYAML renders m as a block-style YAML document.
func writeYAML(b *strings.Builder, m mapping) {
	writeMapping(b, m, 0)
}

func writeMapping(b *strings.Builder, m mapping, indent int) {
	for _, p := range m {
		b.WriteString(strings.Repeat(" ", indent))
		b.WriteString(scalar(p.key))
		b.WriteString(":")
		writeValue(b, p.value, indent)
	}
}

// writeValue writes what follows "key:" or "-": a scalar on the same
// line, a collection on the lines below.
func writeValue(b *strings.Builder, v any, indent int) {
	switch v := v.(type) {
	case mapping:
		if len(v) == 0 {
			b.WriteString(" {}\n")
			return
		}
		b.WriteString("\n")
		writeMapping(b, v, indent+2)
	case []any:
		if len(v) == 0 {
			b.WriteString(" []\n")
			return
		}
		b.WriteString("\n")
		for _, item := range v {
			b.WriteString(strings.Repeat(" ", indent+2))
			b.WriteString("-")
			if m, ok := item.(mapping); ok && len(m) > 0 {
				// The first pair on the dash's line, the rest below it.
				b.WriteString(" ")
				b.WriteString(scalar(m[0].key))
				b.WriteString(":")
				writeValue(b, m[0].value, indent+4)
				writeMapping(b, m[1:], indent+4)
				continue
			}
			writeValue(b, item, indent+2)
		}
	case string:
		if strings.Contains(v, "\n") {
			writeBlock(b, v, indent+2)
			return
		}
		b.WriteString(" " + scalar(v) + "\n")
	case int:
		b.WriteString(" " + strconv.Itoa(v) + "\n")
	case bool:
		b.WriteString(" " + strconv.FormatBool(v) + "\n")
	case null:
		b.WriteString(" null\n")
	default:
		panic("genasyncapi: no YAML for a value of this type")
	}
}

// writeBlock writes a multi-line string as a literal block scalar, kept
// exactly: "|" keeps one final line break, "|-" none, "|+" several.
func writeBlock(b *strings.Builder, s string, indent int) {
	chomp := "|-"
	trimmed := strings.TrimRight(s, "\n")
	switch len(s) - len(trimmed) {
	case 0:
	case 1:
		chomp = "|"
	default:
		chomp = "|+"
	}
	if strings.HasPrefix(s, " ") {
		chomp = "|2" + strings.TrimPrefix(chomp, "|")
	}
	b.WriteString(" " + chomp + "\n")
	for _, line := range strings.Split(strings.TrimSuffix(s, "\n"), "\n") {
		if line != "" {
			b.WriteString(strings.Repeat(" ", indent))
			b.WriteString(line)
		}
		b.WriteString("\n")
	}
}

// scalar is s as a YAML scalar: plain where that reads back as s, else a
// double-quoted string (JSON's escapes are YAML's).
func scalar(s string) string {
	if plain.MatchString(s) && !keywords[strings.ToLower(s)] {
		return s
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return strings.TrimSuffix(b.String(), "\n")
}
