// Package vitrine, at the repository's root, holds no code: only tests of
// rules that bind the whole tree rather than one package. The size rule
// lives here, not beside internal/modules/imports_test.go, because it is
// about no package in particular (it covers deploy/ as well as
// internal/), and the root is where a reader looks for what binds the
// whole tree. It reads files from the root by path, which also reaches
// deploy/deploytest and deploy/tools, modules of their own that
// `go list ./...` does not list.
package vitrine

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sizeLimit is the most lines a file and a function may have where it
// applies.
type sizeLimit struct {
	file, function int
	where          string
}

// Issue 18's limits. internal/modules is the wiring of the whole program,
// read top to bottom to see what runs with what: it is held to less.
var (
	codeLimit    = sizeLimit{file: 450, function: 80, where: "under internal/ and deploy/"}
	modulesLimit = sizeLimit{file: 250, function: 60, where: "under internal/modules/"}
)

// sizedRoots are the trees the limits apply to.
var sizedRoots = []string{"internal", "deploy"}

// TestSizes keeps files and functions small enough to take in at once: no
// Go file under internal/ or deploy/ over 450 lines, no function over 80
// (under internal/modules: 250 and 60). A function is counted from its
// func keyword to its closing brace, a file by its lines; a function
// literal in a top-level var counts as a function. Tests and generated
// files (those with the standard "// Code generated ... DO NOT EDIT."
// line) are left out.
func TestSizes(t *testing.T) {
	for _, root := range sizedRoots {
		files := 0
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if ignoredByGo(path, d.Name()) {
					return filepath.SkipDir
				}
				return nil
			}
			if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return nil
			}
			files++
			for _, problem := range oversized(t, filepath.ToSlash(path)) {
				t.Error(problem)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if files == 0 {
			t.Errorf("no Go file found under %s/: the test must run from the repository's root", root)
		}
	}
	if t.Failed() {
		t.Log("Split by what the code does: a file holds one thing and is named for it; " +
			"a long function becomes its steps, each a function named for what it does. " +
			"Fewer, denser lines are not the fix.")
	}
}

// ignoredByGo says whether the go command skips the directory: testdata,
// and names starting with "." or "_".
func ignoredByGo(path, name string) bool {
	return path != "." && (name == "testdata" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_"))
}

// limitOf returns the limits of the file at path (slash-separated).
func limitOf(path string) sizeLimit {
	if strings.HasPrefix(path, "internal/modules/") {
		return modulesLimit
	}
	return codeLimit
}

// oversized returns a message for the file at path if it is over its line
// limit, and one for each of its functions over theirs; none for a
// generated file.
func oversized(t *testing.T, path string) []string {
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, src, parser.ParseComments|parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	if ast.IsGenerated(f) {
		return nil
	}
	limit := limitOf(path)
	var out []string
	if n := lineCount(src); n > limit.file {
		out = append(out, fmt.Sprintf("%s: %d lines, over the limit of %d for a file %s",
			path, n, limit.file, limit.where))
	}
	for _, fn := range functions(f) {
		start, end := fset.Position(fn.node.Pos()), fset.Position(fn.node.End())
		if n := end.Line - start.Line + 1; n > limit.function {
			out = append(out, fmt.Sprintf("%s:%d: %s: %d lines, over the limit of %d for a function %s",
				path, start.Line, fn.name, n, limit.function, limit.where))
		}
	}
	return out
}

// lineCount counts lines as wc -l does, and a last line without a newline.
func lineCount(src []byte) int {
	n := bytes.Count(src, []byte("\n"))
	if len(src) > 0 && src[len(src)-1] != '\n' {
		n++
	}
	return n
}

// function is a function of a file and the name it is reported by.
type function struct {
	name string
	node ast.Node
}

// functions returns the functions and methods of f, and the outermost
// function literals of its top-level var declarations (named after the
// var). Literals inside a function count toward that function.
func functions(f *ast.File) []function {
	var out []function
	for _, decl := range f.Decls {
		switch decl := decl.(type) {
		case *ast.FuncDecl:
			out = append(out, function{name: funcName(decl), node: decl})
		case *ast.GenDecl:
			for _, spec := range decl.Specs {
				vs, ok := spec.(*ast.ValueSpec)
				if !ok {
					continue
				}
				for _, v := range vs.Values {
					ast.Inspect(v, func(n ast.Node) bool {
						lit, ok := n.(*ast.FuncLit)
						if ok {
							out = append(out, function{name: "function literal in var " + vs.Names[0].Name, node: lit})
						}
						return !ok
					})
				}
			}
		}
	}
	return out
}

// funcName names a function as Go does in a stack trace: F, (T).M or
// (*T).M.
func funcName(fd *ast.FuncDecl) string {
	if fd.Recv == nil || len(fd.Recv.List) == 0 {
		return fd.Name.Name
	}
	recv := fd.Recv.List[0].Type
	star := ""
	if s, ok := recv.(*ast.StarExpr); ok {
		star, recv = "*", s.X
	}
	switch r := recv.(type) {
	case *ast.IndexExpr: // T[P]
		recv = r.X
	case *ast.IndexListExpr: // T[P, Q]
		recv = r.X
	}
	name := "?"
	if id, ok := recv.(*ast.Ident); ok {
		name = id.Name
	}
	return "(" + star + name + ")." + fd.Name.Name
}
