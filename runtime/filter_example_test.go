package gobus_test

import (
	"fmt"

	gobustestv1 "github.com/gobusdev/gobus/internal/testproto/gobustest/v1"
	gobus "github.com/gobusdev/gobus/runtime"
)

// A filter on a generated event's filter fields: gobus.Is takes one
// value, the zero Match any. The tokens are what the consumer's filter
// subject ends with, escaped as docs/wire.md says.
func ExampleIs() {
	eu := gobustestv1.ParcelShippedFilter{Region: gobus.Is("eu.west")}
	express := gobustestv1.ParcelShippedFilter{Priority: gobus.Is(gobustestv1.Priority_PRIORITY_EXPRESS)}
	fmt.Println(eu.Filter())
	fmt.Println(express.Filter())
	fmt.Println(gobus.Is(""), gobus.Is(true), gobus.Is[int64](-12))
	// Output:
	// eu~2Ewest.*
	// *.2
	// ~ true -12
}
