// Package codetest checks that the error codes the services can answer are
// documented, as configtest does for settings. It finds the codes in the Go
// sources rather than in a hand-kept list, so a code added anywhere is
// caught without anyone remembering to register it.
//
// The rule it relies on: an error code travels in something named code. A
// code is a string literal that is
//   - an argument for a parameter named code (httperr.New(status, code, …),
//     httperr.BadRequest(code, …), or any helper of the module with such a
//     parameter),
//   - assigned to a variable or field named code or Code (code := "x",
//     Error{Code: "x"}),
//   - returned by a function whose result is named code,
//
// or a constant with such a literal value used in one of those places. An
// argument for a code parameter that is none of these (and not itself a
// variable, field or call result named code) is reported as unresolved, so
// no code can slip past unchecked.
package codetest

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// Found is one error code and where it appears in the source.
type Found struct {
	Code string
	Pos  string // file:line, relative to the scanned root
}

// scan is the state of one Collect.
type scan struct {
	fset   *token.FileSet
	root   string
	module string
	// params maps "importpath.Func" (or "importpath.Method" for methods)
	// to the indices of its parameters named code.
	params map[string][]int
	// results holds the functions ("importpath.Func") whose result is
	// named code.
	results map[string]bool
	files   []parsedFile
	consts  map[string]map[string]string // import path → constant → value
	found   []Found
	errs    []error
}

type parsedFile struct {
	pkg     string // import path
	file    *ast.File
	imports map[string]string // local name → import path
	consts  map[string]string // the package's string constants
}

// Collect returns every error code in the non-test Go sources of the module
// rooted at root (skipping test/, testdata and hidden directories), and the
// places where a code argument could not be resolved to a literal.
func Collect(root string) ([]Found, []error) {
	s := &scan{fset: token.NewFileSet(), root: root, params: map[string][]int{}, results: map[string]bool{}}
	if err := s.parse(); err != nil {
		return nil, []error{err}
	}
	for _, f := range s.files {
		s.declarations(f)
	}
	for _, f := range s.files {
		s.codes(f)
	}
	return s.found, s.errs
}

// parse reads go.mod's module path and parses every non-test Go file.
func (s *scan) parse() error {
	mod, err := os.ReadFile(filepath.Join(s.root, "go.mod"))
	if err != nil {
		return fmt.Errorf("codetest: %w", err)
	}
	m := regexp.MustCompile(`(?m)^module\s+(\S+)`).FindSubmatch(mod)
	if m == nil {
		return fmt.Errorf("codetest: no module line in go.mod")
	}
	s.module = string(m[1])
	s.consts = map[string]map[string]string{}
	err = filepath.WalkDir(s.root, s.visit)
	if err != nil {
		return fmt.Errorf("codetest: %w", err)
	}
	return nil
}

// visit parses one non-test Go file for parse's walk; it skips hidden
// directories, testdata and the end-to-end tests (test/).
func (s *scan) visit(path string, d fs.DirEntry, err error) error {
	if err != nil {
		return err
	}
	rel, _ := filepath.Rel(s.root, path)
	if d.IsDir() {
		name := d.Name()
		if rel != "." && (strings.HasPrefix(name, ".") || name == "testdata" || rel == "test") {
			return filepath.SkipDir
		}
		return nil
	}
	if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
		return nil
	}
	file, err := parser.ParseFile(s.fset, path, nil, parser.SkipObjectResolution)
	if err != nil {
		return err
	}
	pkg := s.module
	if dir := filepath.ToSlash(filepath.Dir(rel)); dir != "." {
		pkg += "/" + dir
	}
	if s.consts[pkg] == nil {
		s.consts[pkg] = map[string]string{}
	}
	s.files = append(s.files, parsedFile{pkg: pkg, file: file, imports: importsOf(file), consts: s.consts[pkg]})
	return nil
}

func importsOf(f *ast.File) map[string]string {
	out := map[string]string{}
	for _, im := range f.Imports {
		p, _ := strconv.Unquote(im.Path.Value)
		name := p[strings.LastIndex(p, "/")+1:]
		if im.Name != nil {
			name = im.Name.Name
		}
		out[name] = p
	}
	return out
}

// declarations records the functions with code parameters or a code
// result, and the package's string constants.
func (s *scan) declarations(f parsedFile) {
	for _, decl := range f.file.Decls {
		switch d := decl.(type) {
		case *ast.FuncDecl:
			s.funcDecl(f.pkg+"."+d.Name.Name, d.Type)
		case *ast.GenDecl:
			if d.Tok == token.CONST {
				stringConsts(f.consts, d)
			}
		}
	}
}

// funcDecl records which parameters of the function key (of type ft) are
// named code, and whether its one result is.
func (s *scan) funcDecl(key string, ft *ast.FuncType) {
	i := 0
	for _, field := range ft.Params.List {
		for _, name := range field.Names {
			if isCodeName(name.Name) {
				s.params[key] = append(s.params[key], i)
			}
			i++
		}
		if len(field.Names) == 0 {
			i++
		}
	}
	if r := ft.Results; r != nil && len(r.List) == 1 && len(r.List[0].Names) == 1 && isCodeName(r.List[0].Names[0].Name) {
		s.results[key] = true
	}
}

// stringConsts records the string constants of a const declaration.
func stringConsts(consts map[string]string, d *ast.GenDecl) {
	for _, spec := range d.Specs {
		vs := spec.(*ast.ValueSpec)
		for i, name := range vs.Names {
			if i < len(vs.Values) {
				if v, ok := stringLit(vs.Values[i]); ok {
					consts[name.Name] = v
				}
			}
		}
	}
}

func isCodeName(name string) bool { return name == "code" || name == "Code" }

func stringLit(e ast.Expr) (string, bool) {
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", false
	}
	v, err := strconv.Unquote(lit.Value)
	return v, err == nil
}

// RequireDocumented fails t for every code of Collect(root) that none of
// the files at docs mentions as a whole word (in backquotes or not), and
// for every unresolved code argument.
func RequireDocumented(t testing.TB, root string, docs ...string) {
	t.Helper()
	found, errs := Collect(root)
	for _, err := range errs {
		t.Error(err)
	}
	if len(found) == 0 {
		t.Fatal("codetest: no error codes found: is root the module root?")
	}
	var text strings.Builder
	for _, p := range docs {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatalf("codetest: %v", err)
		}
		text.Write(b)
	}
	seen := map[string]bool{}
	for _, f := range found {
		if seen[f.Code] {
			continue
		}
		seen[f.Code] = true
		// A whole word: documenting too_many_connections_from_ip does
		// not document too_many_connections.
		if !regexp.MustCompile(`(^|[^A-Za-z0-9_])` + regexp.QuoteMeta(f.Code) + `($|[^A-Za-z0-9_])`).MatchString(text.String()) {
			t.Errorf("error code %q (%s) is documented in none of %v", f.Code, f.Pos, docs)
		}
	}
}

// Codes returns the distinct codes of found, sorted.
func Codes(found []Found) []string {
	var out []string
	for _, f := range found {
		out = append(out, f.Code)
	}
	slices.Sort(out)
	return slices.Compact(out)
}
