package ui

import (
	"crypto/sha256"
	"encoding/hex"
	"sort"
	"time"

	"github.com/gobusdev/gobus/internal/errorstream"
)

// Group is the failed messages of one endpoint and message type that
// failed with the same error once its ids and numbers are masked.
type Group struct {
	ID        string // stable for the same endpoint, type and masked error
	Endpoint  string
	Type      string
	ErrorType string
	Error     string // masked
	Count     int
	FirstSeen time.Time
	LastSeen  time.Time
	IDs       []uint64
}

// groupID is a group's id in URLs and forms.
func groupID(m *errorstream.Message) string {
	sum := sha256.Sum256([]byte(m.Endpoint + "\x00" + m.Type + "\x00" + m.ErrorType + "\x00" + Mask(m.Error)))
	return hex.EncodeToString(sum[:8])
}

// Groups groups failed messages, the most recently failing group first.
func Groups(msgs []*errorstream.Message) []*Group {
	byID := map[string]*Group{}
	var out []*Group
	for _, m := range msgs {
		id := groupID(m)
		g := byID[id]
		if g == nil {
			g = &Group{ID: id, Endpoint: m.Endpoint, Type: m.Type, ErrorType: m.ErrorType, Error: Mask(m.Error), FirstSeen: m.FailedAt}
			byID[id] = g
			out = append(out, g)
		}
		g.Count++
		g.IDs = append(g.IDs, m.ID)
		if m.FailedAt.Before(g.FirstSeen) {
			g.FirstSeen = m.FailedAt
		}
		if m.FailedAt.After(g.LastSeen) {
			g.LastSeen = m.FailedAt
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].LastSeen.Equal(out[j].LastSeen) {
			return out[i].LastSeen.After(out[j].LastSeen)
		}
		return out[i].ID < out[j].ID
	})
	return out
}
