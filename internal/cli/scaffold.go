package cli

import (
	"bytes"
	"embed"
	"io/fs"
	"path"
	"strings"
	"text/template"
)

// scaffold holds what gobus init writes: templates (*.tmpl, rendered with
// the module path) and the vendored gobus options, copied as they are.
//
//go:embed all:scaffold
var scaffold embed.FS

// scaffoldData is what the templates see.
type scaffoldData struct {
	Module  string // the module path, such as example.com/myshop
	Command string // the program's name: the module path's last element
}

// scaffoldFile is one file gobus init writes, by its slash-separated path
// relative to the module's root.
type scaffoldFile struct {
	Path    string
	Content []byte
}

// renderScaffold returns the files gobus init writes for module, sorted
// by path.
func renderScaffold(module string) ([]scaffoldFile, error) {
	data := scaffoldData{Module: module, Command: path.Base(module)}
	var files []scaffoldFile
	err := fs.WalkDir(scaffold, "scaffold", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		content, err := scaffold.ReadFile(name)
		if err != nil {
			return err
		}
		rel := strings.TrimPrefix(name, "scaffold/")
		if strings.HasSuffix(rel, ".tmpl") {
			rel = strings.TrimSuffix(rel, ".tmpl")
			if content, err = render(name, content, data); err != nil {
				return err
			}
		}
		files = append(files, scaffoldFile{Path: rel, Content: content})
		return nil
	})
	return files, err
}

func render(name string, text []byte, data scaffoldData) ([]byte, error) {
	t, err := template.New(name).Option("missingkey=error").Parse(string(text))
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	err = t.Execute(&b, data)
	return b.Bytes(), err
}
