package gengobus_test

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// goldenCases are the folders of testdata/proto, each generated with its
// plugin parameter and compared with testdata/golden/<name>.
var goldenCases = []struct {
	name  string
	param string
}{
	// Commands for two endpoints and events in one file.
	{"two_endpoints", "module=example.com/shop/gen"},
	// Subject overrides, and one subject suffix shared by two endpoints.
	{"subject_override", ""},
	// Nested commands and events, proto2.
	{"nested", "module=example.com"},
	// Endpoints with '-', '_', capitals and digits.
	{"endpoint_names", "module=example.com/ops"},
	// No commands or events: no output file.
	{"no_gobus", "module=example.com"},
	// Two files of one Go package, paths=source_relative.
	{"one_package", "paths=source_relative"},
	// Edition 2023.
	{"editions", "module=example.com"},
	// Commands with replies: several, one from another package, one
	// shared by two commands.
	{"replies", "module=example.com/shop/gen"},
	// Sagas: events of other packages and commands of their own, every
	// if_missing, timeouts, a file with sagas only, integer correlations.
	{"sagas", "module=example.com/shop/gen"},
	// Events with filter fields of each kind, and one without.
	{"filters", "module=example.com"},
}

// TestGolden generates every case of testdata/proto and compares the output
// with testdata/golden. Run go test -run TestGolden -update to rewrite the
// golden files after an intended change to the generated code.
func TestGolden(t *testing.T) {
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srcDir := filepath.Join("testdata", "proto", tc.name)
			goldenDir := filepath.Join("testdata", "golden", tc.name)
			got := responseFiles(t, generateFiles(t, dirResolver(srcDir), tc.param, protoFiles(t, srcDir)...))
			if *update {
				writeGolden(t, goldenDir, got)
				return
			}
			want := readGolden(t, goldenDir)
			for _, name := range sortedKeys(got) {
				w, ok := want[name]
				if !ok {
					t.Errorf("generated %s, which has no golden file (run with -update if it is intended)", name)
					continue
				}
				if d := firstDiff(w, got[name]); d != "" {
					t.Errorf("%s differs from its golden file (run with -update if it is intended):\n%s", name, d)
				}
			}
			for _, name := range sortedKeys(want) {
				if _, ok := got[name]; !ok {
					t.Errorf("%s has a golden file but was not generated", name)
				}
			}
		})
	}
}

// TestGoldenCasesCoverTestdata fails when a folder of testdata/proto or
// testdata/golden has no entry in goldenCases, so no case is forgotten.
func TestGoldenCasesCoverTestdata(t *testing.T) {
	t.Parallel()
	known := map[string]bool{}
	for _, tc := range goldenCases {
		known[tc.name] = true
	}
	for _, dir := range []string{"proto", "golden"} {
		entries, err := os.ReadDir(filepath.Join("testdata", dir))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if !known[e.Name()] {
				t.Errorf("testdata/%s/%s is not in goldenCases", dir, e.Name())
			}
		}
	}
}

// protoFiles lists the .proto files under dir as import paths relative to
// it, sorted.
func protoFiles(t *testing.T, dir string) []string {
	t.Helper()
	var names []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".proto") {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		names = append(names, filepath.ToSlash(rel))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(names) == 0 {
		t.Fatalf("no .proto files in %s", dir)
	}
	slices.Sort(names)
	return names
}

// readGolden maps the generated file names under dir to their expected
// contents; a missing dir means no generated files.
func readGolden(t *testing.T, dir string) map[string]string {
	t.Helper()
	want := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		b, err := os.ReadFile(path)
		want[strings.TrimSuffix(filepath.ToSlash(rel), ".golden")] = string(b)
		return err
	})
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return want
}

// writeGolden replaces the golden files under dir with files.
func writeGolden(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	for name, content := range files {
		path := filepath.Join(dir, filepath.FromSlash(name)+".golden")
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// sortedKeys returns the keys of m in order, for deterministic output.
func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// firstDiff describes the first line where got differs from want, with a
// little context, or returns "" if they are equal.
func firstDiff(want, got string) string {
	if want == got {
		return ""
	}
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	i := 0
	for i < len(w) && i < len(g) && w[i] == g[i] {
		i++
	}
	line := func(lines []string, i int) string {
		if i < len(lines) {
			return lines[i]
		}
		return "<end of file>"
	}
	var b strings.Builder
	for j := max(0, i-2); j < i; j++ {
		b.WriteString("    " + w[j] + "\n")
	}
	b.WriteString("  - " + line(w, i) + "\n")
	b.WriteString("  + " + line(g, i) + "\n")
	return fmt.Sprintf("line %d:\n%s", i+1, b.String())
}
