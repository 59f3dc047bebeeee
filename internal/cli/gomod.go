package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

const (
	// gobusModule is the module path of gobus.
	gobusModule = "github.com/gobusdev/gobus"
	// unreleased is the version gobus init requires with --gobus-path:
	// the replace supplies the code, and go get, which would look the
	// module up, is not needed.
	unreleased = "v0.0.0-00010101000000-000000000000"
	// bufVersion is the buf that gobus init adds as a tool; it is the one
	// of this repository's internal/tools/go.mod, so that both build the same buf.
	bufVersion = "v1.75.0"
)

// The tools gobus init adds to the user's go.mod.
const (
	toolBuf            = "github.com/bufbuild/buf/cmd/buf"
	toolProtocGenGo    = "google.golang.org/protobuf/cmd/protoc-gen-go"
	toolProtocGenGobus = gobusModule + "/cmd/protoc-gen-gobus"
)

// goModule is the part of go mod edit -json that gobus init reads.
type goModule struct {
	Module  struct{ Path string }
	Require []struct{ Path, Version string }
	Replace []struct {
		Old struct{ Path string }
		New struct{ Path string }
	}
	Tool []struct{ Path string }
}

func (m *goModule) requires(path string) bool {
	for _, r := range m.Require {
		if r.Path == path {
			return true
		}
	}
	return false
}

func (m *goModule) hasTool(path string) bool {
	for _, t := range m.Tool {
		if t.Path == path {
			return true
		}
	}
	return false
}

// replacement returns where go.mod replaces path, or "".
func (m *goModule) replacement(path string) string {
	for _, r := range m.Replace {
		if r.Old.Path == path {
			return r.New.Path
		}
	}
	return ""
}

// goRunner runs the go command in a module's directory.
type goRunner struct{ dir string }

// run runs go with args and returns its combined output; a failure says
// which command failed and what go printed.
func (g goRunner) run(args ...string) ([]byte, error) {
	cmd := exec.Command("go", args...)
	cmd.Dir = g.dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return out.Bytes(), fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, strings.TrimSpace(out.String()))
	}
	return out.Bytes(), nil
}

// readModule reads go.mod in the runner's directory.
func (g goRunner) readModule() (*goModule, error) {
	out, err := g.run("mod", "edit", "-json")
	if err != nil {
		return nil, err
	}
	var m goModule
	if err := json.Unmarshal(out, &m); err != nil {
		return nil, fmt.Errorf("reading go.mod: %w", err)
	}
	return &m, nil
}

// checkGobusCheckout fails unless dir holds the gobus module.
func checkGobusCheckout(dir string) error {
	data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		return fmt.Errorf("--gobus-path %s: %w (give the directory of a gobus checkout, the one with its go.mod)", dir, err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.TrimSpace(line) == "module "+gobusModule {
			return nil
		}
	}
	return fmt.Errorf("--gobus-path %s: its go.mod is not module %s", dir, gobusModule)
}
