package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gobusdev/gobus/internal/cli"
)

// gobusRoot is this checkout, which the tests give gobus init as
// --gobus-path.
func gobusRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// userEnv is the environment of a user's shell: no GOBUS_URL (the program
// must start the embedded server) and no workspace of ours.
func userEnv() []string {
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "GOBUS_") || strings.HasPrefix(kv, "GOWORK=")
	})
	return append(env, "GOWORK=off")
}

// initIn runs gobus init on dir with this checkout and returns its output.
func initIn(t *testing.T, dir string, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	args = append([]string{"init", dir, "--gobus-path", gobusRoot(t)}, args...)
	if code := cli.Main(args, &out, &errOut); code != 0 {
		t.Fatalf("gobus %s: exit %d\n%s%s", strings.Join(args, " "), code, out.String(), errOut.String())
	}
	return out.String()
}

// run runs name with args in dir, as a user would, and returns its
// output.
func run(t *testing.T, dir, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = userEnv()
	start := time.Now()
	out, err := cmd.CombinedOutput()
	t.Logf("%s %s: %s", name, strings.Join(args, " "), time.Since(start).Round(time.Millisecond))
	if err != nil {
		t.Fatalf("%s %s in %s: %v\n%s", name, strings.Join(args, " "), dir, err, out)
	}
	return string(out)
}

// generateBuildRun takes a module through the README's steps after gobus
// init: generate, build, run. It returns what the program printed.
func generateBuildRun(t *testing.T, dir string) string {
	t.Helper()
	run(t, dir, "go", "tool", "buf", "generate")
	run(t, dir, "go", "build", "-o", "app", ".")
	return run(t, dir, filepath.Join(dir, "app"))
}

func skipSlow(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds a new module with buf (-short skips it)")
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command in PATH")
	}
}

// A new module, as the README's "Start your own service" makes one: gobus
// init, go tool buf generate, go build, and the program it wrote handles
// its command and receives its event on the embedded server.
func TestInitNewModule(t *testing.T) {
	skipSlow(t)
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "myshop")
	out := initIn(t, dir, "--module", "example.com/myshop")
	for _, want := range []string{"wrote    main.go", "wrote    buf.gen.yaml", "ran      go mod init example.com/myshop", "go tool buf generate"} {
		if !strings.Contains(out, want) {
			t.Errorf("gobus init output lacks %q:\n%s", want, out)
		}
	}
	got := generateBuildRun(t, dir)
	for _, want := range []string{"sales: accepted order-", "shipping: saw order-", "done: order", "started an embedded JetStream server"} {
		if !strings.Contains(got, want) {
			t.Errorf("the program's output lacks %q:\n%s", want, got)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "gen", "gobus")); err == nil {
		t.Error("buf generate wrote Go code for the vendored gobus options")
	}
	run(t, dir, "go", "vet", "./...")
}

// An existing module with a contract of its own (a nested message, an enum
// and a oneof) and its own main.go, which gobus init keeps.
func TestInitExistingModule(t *testing.T) {
	skipSlow(t)
	t.Parallel()
	dir := t.TempDir()
	run(t, dir, "go", "mod", "init", "example.com/catalog")
	copyFile(t, "testdata/initown/catalog.proto", filepath.Join(dir, "proto", "catalog", "v1", "catalog.proto"))
	copyFile(t, "testdata/initown/main.go.txt", filepath.Join(dir, "main.go"))
	out := initIn(t, dir)
	if !strings.Contains(out, "kept main.go: it exists with other content") {
		t.Errorf("gobus init does not say it kept main.go:\n%s", out)
	}
	// The example contract's package has no main.go using it, but it must
	// still generate and compile.
	got := generateBuildRun(t, dir)
	if !strings.Contains(got, "catalog: ItemUpdated mug-1 1999 AVAILABILITY_IN_STOCK Blue mug") {
		t.Errorf("the program's output:\n%s", got)
	}
	run(t, dir, "go", "vet", "./...")
}

// Running gobus init again changes nothing, and a file the user changed is
// kept, with what init would have written.
func TestInitAgain(t *testing.T) {
	skipSlow(t)
	t.Parallel()
	dir := t.TempDir()
	initIn(t, dir, "--module", "example.com/again")
	goMod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	mainGo := filepath.Join(dir, "main.go")
	mine, err := os.ReadFile(mainGo)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(mainGo, append(mine, "// Changed by the user.\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Wrote    []string          `json:"wrote"`
		Current  []string          `json:"up_to_date"`
		Kept     []string          `json:"kept"`
		Proposed map[string]string `json:"proposed"`
	}
	if err := json.Unmarshal([]byte(initIn(t, dir, "--json")), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Wrote) != 0 || len(rep.Current) != 5 || !slices.Equal(rep.Kept, []string{"main.go"}) {
		t.Errorf("second run: wrote %v, up to date %v, kept %v; want nothing written, 5 up to date, main.go kept", rep.Wrote, rep.Current, rep.Kept)
	}
	if !strings.Contains(rep.Proposed["main.go"], "shopv1.SendPlaceOrder") {
		t.Errorf("the proposed main.go:\n%s", rep.Proposed["main.go"])
	}
	if again, _ := os.ReadFile(filepath.Join(dir, "go.mod")); !bytes.Equal(again, goMod) {
		t.Errorf("the second run changed go.mod:\n%s\nwas:\n%s", again, goMod)
	}
}

// gobus init refuses what it cannot do, and says why.
func TestInitMistakes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	gobusItself := t.TempDir()
	if err := os.WriteFile(filepath.Join(gobusItself, "go.mod"), []byte("module github.com/gobusdev/gobus\n\ngo 1.26\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"init", dir, "--gobus-path", t.TempDir()}, "give the directory of a gobus checkout"},
		{[]string{"init", dir, "--gobus-path", filepath.Join(gobusRoot(t), "tools", "..", "bench", "watermill")}, "is not module github.com/gobusdev/gobus"},
		{[]string{"init", dir, "a", "b"}, "gobus init takes one directory, not 3"},
		{[]string{"init", gobusItself}, "is gobus itself: run gobus init in a module of your own"},
	} {
		var out, errOut bytes.Buffer
		if code := cli.Main(tc.args, &out, &errOut); code == 0 || !strings.Contains(errOut.String(), tc.want) {
			t.Errorf("gobus %s: exit %d, %s; want an error containing %q", strings.Join(tc.args, " "), code, errOut.String(), tc.want)
		}
	}
	if entries, _ := os.ReadDir(gobusItself); len(entries) != 1 {
		t.Errorf("gobus init wrote into gobus itself: %v", entries)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o644); err != nil {
		t.Fatal(err)
	}
}
