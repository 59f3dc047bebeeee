package ui_test

import (
	"fmt"

	"github.com/gobusdev/gobus/internal/ui"
)

// Failures of one cause group together whatever ids and numbers their
// errors name.
func ExampleMask() {
	fmt.Println(ui.Mask("card processor unavailable (attempt 5)"))
	fmt.Println(ui.Mask("order 7F3A-02 not found in 3b2c1f9e-5a8d-4c3e-9f1a-0b2c3d4e5f60"))
	// Output:
	// card processor unavailable (attempt #)
	// order # not found in #uuid
}
