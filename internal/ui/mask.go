package ui

import (
	"regexp"
	"strings"
)

// maskers replace the parts of an error text that differ between
// messages failing for the same reason, in this order: UUIDs, hex
// numbers, and words with digits in them (ids, counts, amounts, times),
// where a word is letters, digits, '_' and '-'.
var maskers = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`(?i)\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b`), "#uuid"},
	{regexp.MustCompile(`(?i)\b0x[0-9a-f]+\b`), "#"},
	{regexp.MustCompile(`[\w-]*\d[\w-]*`), "#"},
}

// Mask returns an error text with its ids and numbers masked, so that the
// failures of one cause group together whatever order, amount or attempt
// they name: "card declined for order 7F3A-02 (attempt 5)" becomes "card
// declined for order # (attempt #)". Words without digits are kept, and
// so are words with one digit between letters, such as "v1" in a type
// name.
func Mask(text string) string {
	text = strings.Join(strings.Fields(text), " ")
	for _, m := range maskers {
		text = m.re.ReplaceAllStringFunc(text, func(s string) string {
			if m.with == "#" && keepWord(s) {
				return s
			}
			return m.with
		})
	}
	return collapse(text)
}

// keepWord reports whether a word with digits is a name rather than a
// value: letters and one digit, a letter first, such as v1, utf8 or s3.
func keepWord(s string) bool {
	if len(s) < 2 || s[0] >= '0' && s[0] <= '9' {
		return false
	}
	digits := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			digits++
		case c == '-' || c == '_':
			return false
		}
	}
	return digits == 1
}

// collapse turns runs of masks joined by separators, such as "#-#" or
// "#.#", into one.
func collapse(s string) string {
	for _, sep := range []string{"", "-", ".", ":", "/", "_"} {
		for strings.Contains(s, "#"+sep+"#") {
			s = strings.ReplaceAll(s, "#"+sep+"#", "#")
		}
	}
	return s
}
