package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A module that imports only the runtime selects versions among gobus's
// requirements, not among those of the tools gobus builds with (buf,
// staticcheck), gets only tagged releases of protobuf, and builds the
// OpenTelemetry API but no SDK. (The OpenTelemetry modules are in its
// graph since the runtime uses the API; buf's own tree brings connect,
// cel and the buf.build modules, which must not be.)
func TestImporterModuleGraph(t *testing.T) {
	skipSlow(t)
	t.Parallel()
	dir := t.TempDir()
	goMod := "module example.com/importer\n\ngo 1.26\n\nrequire github.com/gobusdev/gobus v0.0.0-00010101000000-000000000000\n\nreplace github.com/gobusdev/gobus => " + gobusRoot(t) + "\n"
	mainGo := "package main\n\nimport gobus \"github.com/gobusdev/gobus/runtime\"\n\nvar _ = gobus.Connect\n\nfunc main() {}\n"
	for name, content := range map[string]string{"go.mod": goMod, "main.go": mainGo} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	run(t, dir, "go", "mod", "tidy")
	all := run(t, dir, "go", "list", "-m", "all")
	t.Logf("go list -m all: %d modules", strings.Count(all, "\n"))
	for _, tool := range []string{"github.com/bufbuild/buf ", "honnef.co/go/tools ", "github.com/docker/", "github.com/quic-go/", "connectrpc.com/", "buf.build/", "cel.dev/"} {
		if strings.Contains(all, tool) {
			t.Errorf("the importer's module graph holds %s, a dependency of gobus's tools:\n%s", tool, all)
		}
	}
	deps := run(t, dir, "go", "list", "-deps", ".")
	if strings.Contains(deps, "go.opentelemetry.io/otel/sdk") {
		t.Errorf("the importer builds an OpenTelemetry SDK; the runtime must use the API only:\n%s", deps)
	}
	for _, line := range strings.Split(all, "\n") {
		if strings.HasPrefix(line, "google.golang.org/protobuf ") && strings.Contains(line, "-0.") {
			t.Errorf("the importer gets a pre-release: %s", line)
		}
	}
}
