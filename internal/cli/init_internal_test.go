package cli

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// The vendored options that gobus init writes are the options of this
// checkout.
func TestScaffoldOptionsAreCurrent(t *testing.T) {
	t.Parallel()
	want, err := os.ReadFile("../../proto/gobus/v1/options.proto")
	if err != nil {
		t.Fatal(err)
	}
	got, err := scaffold.ReadFile("scaffold/third_party/gobus/gobus/v1/options.proto")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Error("internal/cli/scaffold/third_party/gobus/gobus/v1/options.proto differs from proto/gobus/v1/options.proto: copy it over")
	}
}

// gobus init adds the buf that internal/tools/go.mod builds, so that a user's first
// go tool buf generate can reuse what this repository compiled.
func TestBufVersionIsTheToolsOne(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("../tools/go.mod")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), "\tgithub.com/bufbuild/buf "+bufVersion+" ") {
		t.Errorf("internal/tools/go.mod does not require github.com/bufbuild/buf %s: make bufVersion in internal/cli/gomod.go the version there", bufVersion)
	}
}

// Every template renders with a module path.
func TestRenderScaffold(t *testing.T) {
	t.Parallel()
	files, err := renderScaffold("example.com/myshop")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, f := range files {
		got[f.Path] = string(f.Content)
	}
	for name, want := range map[string]string{
		"buf.yaml":                 "- path: third_party/gobus",
		"buf.gen.yaml":             "opt: module=example.com/myshop",
		"main.go":                  `shopv1 "example.com/myshop/gen/shop/v1"`,
		"proto/shop/v1/shop.proto": `option go_package = "example.com/myshop/gen/shop/v1;shopv1";`,
		"third_party/gobus/gobus/v1/options.proto": "package gobus.v1;",
		".gitignore": "/.gobus/",
	} {
		if !strings.Contains(got[name], want) {
			t.Errorf("%s lacks %q:\n%s", name, want, got[name])
		}
	}
	if len(got) != 6 {
		t.Errorf("scaffold has %d files, want 6", len(got))
	}
	if strings.Contains(got["main.go"], "{{") {
		t.Errorf("main.go is not rendered:\n%s", got["main.go"])
	}
}
