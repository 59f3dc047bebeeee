package audit

import (
	"sort"
)

// Order sorts records in causal order: the handling of a message comes
// before the handlings of the messages its handler sent, and records
// neither of which caused the other come by when their handling started,
// then by stream sequence. A message's parent is the handling of the
// message named by its causation id, by the endpoint that sent it (an
// event handled by several endpoints has several handlings); a record
// whose cause was not recorded is a root.
func Order(records []Record) []Record {
	n := len(records)
	parent := parents(records)
	children := make([][]int, n)
	var ready []int
	for i := range records {
		if parent[i] < 0 {
			ready = append(ready, i)
		} else {
			children[parent[i]] = append(children[parent[i]], i)
		}
	}
	before := func(a, b int) bool {
		ra, rb := records[a], records[b]
		if !ra.Started.Equal(rb.Started) {
			return ra.Started.Before(rb.Started)
		}
		return ra.Sequence < rb.Sequence
	}
	out := make([]Record, 0, n)
	// Kahn's algorithm, taking the earliest ready record each time.
	for len(ready) > 0 {
		sort.Slice(ready, func(i, j int) bool { return before(ready[i], ready[j]) })
		next := ready[0]
		ready = append(ready[1:], children[next]...)
		out = append(out, records[next])
	}
	return out
}

// parents returns the index of each record's parent, -1 for a root.
func parents(records []Record) []int {
	type handling struct{ id, endpoint string }
	byHandling := map[handling]int{}
	byID := map[string]int{}
	for i, r := range records {
		byHandling[handling{r.ID, r.Endpoint}] = i
		if _, ok := byID[r.ID]; !ok {
			byID[r.ID] = i
		}
	}
	parent := make([]int, len(records))
	for i, r := range records {
		parent[i] = -1
		if r.CausationID == "" || r.CausationID == r.ID {
			continue
		}
		if p, ok := byHandling[handling{r.CausationID, r.Source}]; ok {
			parent[i] = p
		} else if p, ok := byID[r.CausationID]; ok {
			parent[i] = p
		}
	}
	breakCycles(parent)
	return parent
}

// breakCycles makes a root of one record of every cycle of parents,
// which only forged or colliding ids make.
func breakCycles(parent []int) {
	state := make([]int8, len(parent)) // 0 unseen, 1 on the path, 2 done
	for i := range parent {
		var path []int
		j := i
		for j >= 0 && state[j] == 0 {
			state[j] = 1
			path = append(path, j)
			j = parent[j]
		}
		if j >= 0 && state[j] == 1 {
			parent[j] = -1
		}
		for _, k := range path {
			state[k] = 2
		}
	}
}
