package audit_test

import (
	"strings"
	"testing"
	"time"

	"github.com/gobusdev/gobus/internal/audit"
)

func at(s int) time.Time { return time.Date(2026, 1, 1, 0, 0, s, 0, time.UTC) }

func order(records ...audit.Record) string {
	var names []string
	for _, r := range audit.Order(records) {
		names = append(names, r.Endpoint+":"+r.ID)
	}
	return strings.Join(names, " ")
}

func TestOrderPutsCausesFirstEvenWhenClocksDisagree(t *testing.T) {
	// shipping's clock is behind: by time alone it would come first.
	place := audit.Record{Endpoint: "sales", ID: "1", Source: "web", Started: at(10)}
	placed := audit.Record{Endpoint: "billing", ID: "2", CausationID: "1", Source: "sales", Started: at(11)}
	placedShip := audit.Record{Endpoint: "shipping", ID: "2", CausationID: "1", Source: "sales", Started: at(12)}
	billed := audit.Record{Endpoint: "shipping", ID: "3", CausationID: "2", Source: "billing", Started: at(5)}
	got := order(billed, placedShip, placed, place)
	if want := "sales:1 billing:2 shipping:3 shipping:2"; got != want {
		// billing:2 caused 3; shipping:2 started after billing:2 and 3 is
		// ready as soon as billing:2 is, and started earliest.
		t.Errorf("order = %s, want %s", got, want)
	}
}

func TestOrderKeepsStrangersAndBreaksCycles(t *testing.T) {
	a := audit.Record{Endpoint: "x", ID: "a", CausationID: "b", Source: "y", Started: at(2)}
	b := audit.Record{Endpoint: "y", ID: "b", CausationID: "a", Source: "x", Started: at(1)}
	orphan := audit.Record{Endpoint: "z", ID: "c", CausationID: "gone", Started: at(0)}
	got := audit.Order([]audit.Record{a, b, orphan})
	if len(got) != 3 {
		t.Fatalf("Order kept %d of 3 records", len(got))
	}
	if got[0].ID != "c" {
		t.Errorf("a record whose cause was not recorded should be a root, first by time; got %s first", got[0].ID)
	}
}
