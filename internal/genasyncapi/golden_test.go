package genasyncapi_test

import (
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/golden")

// TestGolden generates each folder of testdata/proto and compares the
// documents with testdata/golden/<folder>; -update rewrites them.
// .ci/node validates the golden documents with @asyncapi/parser.
func TestGolden(t *testing.T) {
	cases, err := os.ReadDir(filepath.Join("testdata", "proto"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		t.Run(c.Name(), func(t *testing.T) {
			t.Parallel()
			src := filepath.Join("testdata", "proto", c.Name())
			golden := filepath.Join("testdata", "golden", c.Name())
			got := generate(t, dirResolver(src), protoFiles(t, src)...)
			if *update {
				_ = os.RemoveAll(golden)
				for name, content := range got {
					write(t, filepath.Join(golden, name), content)
				}
				return
			}
			want := map[string]string{}
			entries, _ := os.ReadDir(golden)
			for _, e := range entries {
				b, err := os.ReadFile(filepath.Join(golden, e.Name()))
				if err != nil {
					t.Fatal(err)
				}
				want[e.Name()] = string(b)
			}
			if g, w := keys(got), keys(want); !slices.Equal(g, w) {
				t.Fatalf("generated %v, golden files %v (run with -update if intended)", g, w)
			}
			for name := range got {
				if got[name] != want[name] {
					t.Errorf("%s differs from its golden file (run go test -run TestGolden -update if intended):\n%s", name, firstDiff(want[name], got[name]))
				}
			}
		})
	}
}

// TestOrdersDocumentsAreFresh generates the orders contracts and compares
// them with the committed docs/asyncapi, which buf generate writes.
func TestOrdersDocumentsAreFresh(t *testing.T) {
	t.Parallel()
	src := filepath.Join("..", "..", "examples", "orders", "contracts")
	got := generate(t, dirResolver(src), protoFiles(t, src)...)
	if len(got) != 3 {
		t.Errorf("generated %v, want the three packages of the orders example", keys(got))
	}
	for name, content := range got {
		b, err := os.ReadFile(filepath.Join("..", "..", "docs", "asyncapi", name))
		if err != nil {
			t.Errorf("docs/asyncapi/%s: %v (run go tool -modfile=internal/tools/go.mod buf generate)", name, err)
			continue
		}
		if string(b) != content {
			t.Errorf("docs/asyncapi/%s is stale (run go tool -modfile=internal/tools/go.mod buf generate):\n%s", name, firstDiff(string(b), content))
		}
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func keys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// firstDiff shows the first line where want and got differ.
func firstDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < max(len(w), len(g)); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return "line " + strconv.Itoa(i+1) + ":\n  want: " + wl + "\n  got:  " + gl
		}
	}
	return ""
}
