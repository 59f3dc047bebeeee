package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
)

// initOptions are the flags of gobus init.
type initOptions struct {
	module    string
	gobusPath string
}

// initReport is what gobus init did, for --json.
type initReport struct {
	Dir     string   `json:"dir"`
	Module  string   `json:"module"`
	Wrote   []string `json:"wrote"`
	Current []string `json:"up_to_date"`
	// Kept are files that exist with other content; Proposed holds what
	// gobus init would have written there.
	Kept     []string          `json:"kept"`
	Proposed map[string]string `json:"proposed,omitempty"`
	GoMod    []string          `json:"go_mod"`
}

func newInitCommand(o *options) *cobra.Command {
	var iopts initOptions
	cmd := &cobra.Command{
		Use:   "init [DIR]",
		Short: "Start a gobus service in a new or existing Go module",
		Long: `init sets up a Go module (DIR, default the current directory) for gobus:

  buf.yaml, buf.gen.yaml          buf workspace; generation of proto/ into gen/
  third_party/gobus/gobus/v1/     the gobus options, vendored for buf
  proto/shop/v1/shop.proto        an example contract: a command and an event
  main.go                         an endpoint with a handler, a subscriber, a send
  .gitignore                      /.gobus/, the embedded server's store

and adds to go.mod the gobus runtime and the tools buf, protoc-gen-go and
protoc-gen-gobus, so that go tool buf generate needs no global install. In a
directory without go.mod it runs go mod init first, with --module or the
directory's name.

init never overwrites a file: one that exists with other content is kept,
and init prints what it would have written. Running it again is harmless.

Before gobus is released, point --gobus-path at a gobus checkout: init then
requires gobus at ` + unreleased + ` and replaces it with
the checkout.

Next: go tool buf generate (its first run compiles buf, a few minutes
once), then go run .`,
		Example: `  mkdir myshop && cd myshop
  gobus init --module example.com/myshop
  go tool buf generate
  go run .`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return fmt.Errorf("gobus init takes one directory, not %d: %s", len(args), strings.Join(args, " "))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			rep, err := runInit(dir, iopts)
			if err != nil {
				return err
			}
			if o.jsonOut {
				return printJSON(o.out, rep)
			}
			printInit(o.out, rep)
			return nil
		},
	}
	cmd.Flags().StringVar(&iopts.module, "module", "", "module path for go mod init, in a directory without go.mod (default: the directory's name)")
	cmd.Flags().StringVar(&iopts.gobusPath, "gobus-path", "", "a local gobus checkout to use instead of a released gobus (writes a replace to go.mod)")
	return cmd
}

// runInit sets up dir as gobus init does.
func runInit(dir string, opts initOptions) (*initReport, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if opts.gobusPath != "" {
		if opts.gobusPath, err = filepath.Abs(opts.gobusPath); err != nil {
			return nil, err
		}
		if err := checkGobusCheckout(opts.gobusPath); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	g := goRunner{dir: dir}
	rep := &initReport{Dir: dir, Proposed: map[string]string{}}
	mod, err := ensureModule(g, opts.module, rep)
	if err != nil {
		return nil, err
	}
	rep.Module = mod.Module.Path
	files, err := renderScaffold(rep.Module)
	if err != nil {
		return nil, err
	}
	// go.mod first: when gobus cannot be found, no file is written yet.
	if err := addRequirements(g, mod, opts.gobusPath, rep); err != nil {
		return nil, err
	}
	for _, f := range files {
		if err := writeNew(dir, f, rep); err != nil {
			return nil, err
		}
	}
	// -e: main.go imports the package buf generate has yet to write.
	if _, err := g.run("mod", "tidy", "-e"); err != nil {
		return nil, err
	}
	rep.GoMod = append(rep.GoMod, "go mod tidy -e")
	return rep, nil
}

// ensureModule reads dir's go.mod, running go mod init first if there is
// none.
func ensureModule(g goRunner, module string, rep *initReport) (*goModule, error) {
	_, err := os.Stat(filepath.Join(g.dir, "go.mod"))
	if errors.Is(err, fs.ErrNotExist) {
		if module == "" {
			module = filepath.Base(g.dir)
		}
		if _, err := g.run("mod", "init", module); err != nil {
			return nil, fmt.Errorf("%w\n(choose the module path with --module, such as --module example.com/myshop)", err)
		}
		rep.GoMod = append(rep.GoMod, "go mod init "+module)
	} else if err != nil {
		return nil, err
	}
	mod, err := g.readModule()
	if err != nil {
		return nil, err
	}
	if mod.Module.Path == gobusModule {
		return nil, fmt.Errorf("%s is gobus itself: run gobus init in a module of your own", g.dir)
	}
	if module != "" && mod.Module.Path != module {
		return nil, fmt.Errorf("--module %s: %s already is module %s", module, filepath.Join(g.dir, "go.mod"), mod.Module.Path)
	}
	return mod, nil
}

// writeNew writes f under dir unless a file is there already.
func writeNew(dir string, f scaffoldFile, rep *initReport) error {
	name := filepath.Join(dir, filepath.FromSlash(f.Path))
	old, err := os.ReadFile(name)
	switch {
	case err == nil && bytes.Equal(old, f.Content):
		rep.Current = append(rep.Current, f.Path)
		return nil
	case err == nil:
		rep.Kept = append(rep.Kept, f.Path)
		rep.Proposed[f.Path] = string(f.Content)
		return nil
	case !errors.Is(err, fs.ErrNotExist):
		return err
	}
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(name, f.Content, 0o644); err != nil {
		return err
	}
	rep.Wrote = append(rep.Wrote, f.Path)
	return nil
}

// addRequirements adds the gobus runtime and the tools to go.mod.
func addRequirements(g goRunner, mod *goModule, gobusPath string, rep *initReport) error {
	edits := gobusEdits(mod, gobusPath)
	for _, t := range []string{toolProtocGenGo, toolProtocGenGobus} {
		if !mod.hasTool(t) {
			edits = append(edits, "-tool="+t)
		}
	}
	steps := [][]string{}
	if len(edits) > 0 {
		steps = append(steps, append([]string{"mod", "edit"}, edits...))
	}
	if !mod.requires(gobusModule) && gobusPath == "" {
		steps = append(steps, []string{"get", gobusModule + "@latest"})
	}
	if !mod.hasTool(toolBuf) {
		steps = append(steps, []string{"get", "-tool", toolBuf + "@" + bufVersion})
	}
	for _, args := range steps {
		if _, err := g.run(args...); err != nil {
			if args[0] == "get" && strings.HasPrefix(args[1], gobusModule) {
				return fmt.Errorf("%w\n(before gobus is released, point gobus init at a checkout with --gobus-path)", err)
			}
			return err
		}
		rep.GoMod = append(rep.GoMod, "go "+strings.Join(args, " "))
	}
	return nil
}

// gobusEdits are the go mod edit flags that make go.mod use the gobus
// checkout at gobusPath, an absolute path, if one is given.
func gobusEdits(mod *goModule, gobusPath string) []string {
	if gobusPath == "" {
		return nil
	}
	var edits []string
	if !mod.requires(gobusModule) {
		edits = append(edits, "-require="+gobusModule+"@"+unreleased)
	}
	if mod.replacement(gobusModule) != gobusPath {
		edits = append(edits, "-replace="+gobusModule+"="+gobusPath)
	}
	return edits
}

// printInit says what gobus init did and what comes next.
func printInit(w io.Writer, rep *initReport) {
	for _, f := range rep.Wrote {
		fmt.Fprintf(w, "wrote    %s\n", f)
	}
	for _, f := range rep.Current {
		fmt.Fprintf(w, "current  %s\n", f)
	}
	for _, step := range rep.GoMod {
		fmt.Fprintf(w, "ran      %s\n", step)
	}
	for _, f := range rep.Kept {
		fmt.Fprintf(w, "\nkept %s: it exists with other content. gobus init would have written:\n", f)
		for _, line := range strings.SplitAfter(strings.TrimRight(rep.Proposed[f], "\n"), "\n") {
			fmt.Fprintf(w, "    %s", strings.TrimRight(line, "\n")+"\n")
		}
	}
	fmt.Fprintf(w, "\nmodule %s is ready for gobus. Next:\n", rep.Module)
	fmt.Fprintln(w, "  go tool buf generate   # after every change to proto/; the first run compiles buf, a few minutes once")
	if _, err := os.Stat(filepath.Join(rep.Dir, "main.go")); err == nil {
		fmt.Fprintln(w, "  go run .")
	}
}
