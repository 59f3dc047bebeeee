package gengobus_test

import (
	"bufio"
	"bytes"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"testing"
)

// repoRoot is the root of the gobus module, relative to this package.
const repoRoot = "../.."

// committedModules are the buf modules of this repository whose generated
// code is checked in, relative to repoRoot.
var committedModules = []string{"internal/testproto", "examples/orders/contracts"}

// TestCommittedCodeIsFresh regenerates the checked-in contracts in process,
// as go tool -modfile=internal/tools/go.mod buf generate would (one plugin run per directory, parameter
// module=github.com/gobusdev/gobus), and fails if a committed .gobus.go file
// differs, is missing or is left over.
func TestCommittedCodeIsFresh(t *testing.T) {
	t.Parallel()
	for _, module := range committedModules {
		root := filepath.Join(repoRoot, module)
		byDir := map[string][]string{}
		for _, name := range protoFiles(t, root) {
			byDir[path.Dir(name)] = append(byDir[path.Dir(name)], name)
		}
		for dir, names := range byDir {
			t.Run(path.Join(module, dir), func(t *testing.T) {
				t.Parallel()
				got := responseFiles(t, generateFiles(t, dirResolver(root), "module=github.com/gobusdev/gobus", names...))
				for _, name := range sortedKeys(got) {
					want, err := os.ReadFile(filepath.Join(repoRoot, filepath.FromSlash(name)))
					if err != nil {
						t.Errorf("%v: run go tool -modfile=internal/tools/go.mod buf generate", err)
						continue
					}
					if d := firstDiff(string(want), got[name]); d != "" {
						t.Errorf("%s is stale: run go tool -modfile=internal/tools/go.mod buf generate\n%s", name, d)
					}
				}
				committed, err := filepath.Glob(filepath.Join(root, filepath.FromSlash(dir), "*.gobus.go"))
				if err != nil {
					t.Fatal(err)
				}
				for _, c := range committed {
					rel, err := filepath.Rel(repoRoot, c)
					if err != nil {
						t.Fatal(err)
					}
					if _, ok := got[filepath.ToSlash(rel)]; !ok {
						t.Errorf("%s is not generated from any .proto file: delete it", rel)
					}
				}
			})
		}
	}
}

// TestGeneratedCodeTypeChecks type-checks small programs against the
// committed internal/testproto code: the generated API must accept what a
// contract allows and reject what it forbids, such as publishing a command.
// It reads the export data of the compiled packages (go list -export), which
// the build cache makes fast; type-checking the runtime and NATS from
// source takes too long for a unit test.
func TestGeneratedCodeTypeChecks(t *testing.T) {
	t.Parallel()
	const testproto = "github.com/gobusdev/gobus/internal/testproto/gobustest/v1"
	exports := exportData(t, "github.com/gobusdev/gobus/runtime", testproto)
	tests := []struct {
		name string
		body string
		want string // a part of the type error, or "" if the body is valid
	}{
		{"send a command", `return v1.SendWork(ctx, d, &v1.Work{Id: "w"})`, ""},
		{"publish an event", `return v1.PublishWorkDone(ctx, d, &v1.WorkDone{Id: "w"}, gobus.WithMessageID("m"))`, ""},
		{"send through the generic function", `return gobus.Send(ctx, d, v1.AuditRoute, &v1.Audit{})`, ""},
		{"publish a command", `return gobus.Publish(ctx, d, v1.WorkRoute, &v1.Work{})`, "does not match"},
		{"no publisher for a command", `return v1.PublishWork(ctx, d, &v1.Work{})`, "undefined: v1.PublishWork"},
		{"send an event", `return gobus.Send(ctx, d, v1.WorkDoneRoute, &v1.WorkDone{})`, "does not match"},
		{"no sender for an event", `return v1.SendWorkDone(ctx, d, &v1.WorkDone{})`, "undefined: v1.SendWorkDone"},
		{"send the wrong message", `return v1.SendWork(ctx, d, &v1.Audit{})`, "cannot use"},
		{"send with a publish option", `var o gobus.PublishOption; return v1.SendWork(ctx, d, &v1.Work{}, o)`, "cannot use"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			src := `package p

import (
	"context"

	gobus "github.com/gobusdev/gobus/runtime"
	v1 "` + testproto + `"
)

func f(ctx context.Context, d gobus.Dispatcher) error {
	` + tc.body + `
}
`
			err := typeCheck(src, exports)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("valid code does not type-check: %v", err)
			case tc.want != "" && err == nil:
				t.Errorf("code that must not compile type-checks:\n%s", tc.body)
			case tc.want != "" && !strings.Contains(err.Error(), tc.want):
				t.Errorf("type error %q lacks %q", err, tc.want)
			}
		})
	}
}

// exportData maps the import path of pkgs and all their dependencies to
// their compiled export data files, building what the cache lacks. It
// skips the test when no go command is at hand.
func exportData(t *testing.T, pkgs ...string) map[string]string {
	t.Helper()
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go command to compile the packages: %v", err)
	}
	args := append([]string{"list", "-export", "-deps", "-f", "{{if .Export}}{{.ImportPath}}={{.Export}}{{end}}"}, pkgs...)
	cmd := exec.Command(goCmd, args...)
	cmd.Dir = repoRoot
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -export: %v\n%s", err, stderr.String())
	}
	exports := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if pkg, file, ok := strings.Cut(sc.Text(), "="); ok {
			exports[pkg] = file
		}
	}
	return exports
}

// typeCheck type-checks src as the only file of a package, importing from
// the export data files in exports, and returns the first type error.
func typeCheck(src string, exports map[string]string) error {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "p.go", src, 0)
	if err != nil {
		return err
	}
	lookup := func(path string) (io.ReadCloser, error) {
		file, ok := exports[path]
		if !ok {
			return nil, os.ErrNotExist
		}
		return os.Open(file)
	}
	conf := types.Config{Importer: importer.ForCompiler(fset, "gc", lookup)}
	_, err = conf.Check("p", fset, []*ast.File{f}, nil)
	return err
}
