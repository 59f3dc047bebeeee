package ui

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/gobusdev/gobus/internal/errorstream"
)

var errNothingChosen = errors.New("choose messages: tick some, or use a group's or the all button")

// parseIDs reads failed-message ids from a form.
func parseIDs(values []string) ([]uint64, error) {
	ids := make([]uint64, 0, len(values))
	for _, v := range values {
		id, err := strconv.ParseUint(v, 10, 64)
		if err != nil || id == 0 {
			return nil, fmt.Errorf("%q is not a failed-message id", v)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// describe says what an operation on n messages did, as gobus errors
// says it.
func describe(verb string, n int, res errorstream.Outcome) string {
	msg := fmt.Sprintf("%s %d of %d failed messages", verb, len(res.Done), n)
	if len(res.Failed) == 0 {
		return msg
	}
	ids := make([]uint64, 0, len(res.Failed))
	for id := range res.Failed {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	var b strings.Builder
	b.WriteString(msg)
	for _, id := range ids {
		fmt.Fprintf(&b, "; %d: %s", id, res.Failed[id])
	}
	return b.String()
}
