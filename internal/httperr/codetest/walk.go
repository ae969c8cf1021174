package codetest

import (
	"fmt"
	"go/ast"
	"path/filepath"
)

// codes collects the codes of one file.
func (s *scan) codes(f parsedFile) {
	for _, decl := range f.file.Decls {
		if d, ok := decl.(*ast.FuncDecl); ok {
			if d.Body != nil {
				s.walk(f, d.Body, s.results[f.pkg+"."+d.Name.Name])
			}
			continue
		}
		s.walk(f, decl, false)
	}
}

// walk inspects n; returns count as codes when inCodeFunc (the enclosing
// function's result is named code). Function literals have their own
// returns.
func (s *scan) walk(f parsedFile, n ast.Node, inCodeFunc bool) {
	ast.Inspect(n, func(n ast.Node) bool { return s.node(f, n, inCodeFunc) })
}

// node records the codes that n itself sets, and reports whether walk
// goes on into n's children.
func (s *scan) node(f parsedFile, n ast.Node, inCodeFunc bool) bool {
	switch n := n.(type) {
	case *ast.FuncLit:
		s.walk(f, n.Body, false)
		return false
	case *ast.CallExpr:
		s.call(f, n)
	case *ast.AssignStmt:
		if len(n.Lhs) == len(n.Rhs) {
			for i, lhs := range n.Lhs {
				s.named(f, lastName(lhs), n.Rhs[i])
			}
		}
	case *ast.ValueSpec:
		if len(n.Names) == len(n.Values) {
			for i, name := range n.Names {
				s.named(f, name.Name, n.Values[i])
			}
		}
	case *ast.KeyValueExpr:
		if k, ok := n.Key.(*ast.Ident); ok {
			s.named(f, k.Name, n.Value)
		}
	case *ast.ReturnStmt:
		if inCodeFunc && len(n.Results) == 1 {
			s.literal(f, n.Results[0])
		}
	}
	return true
}

// call records the arguments a call passes to code parameters.
func (s *scan) call(f parsedFile, n *ast.CallExpr) {
	key := s.callee(f, n.Fun)
	for _, i := range s.params[key] {
		if i < len(n.Args) {
			s.arg(f, n.Args[i], key)
		}
	}
}

// named records value when it is given to something named code.
func (s *scan) named(f parsedFile, name string, value ast.Expr) {
	if isCodeName(name) {
		s.literal(f, value)
	}
}

// callee names the function a call expression calls, as declarations
// keys it: "importpath.Name".
func (s *scan) callee(f parsedFile, fun ast.Expr) string {
	switch fn := fun.(type) {
	case *ast.Ident:
		return f.pkg + "." + fn.Name
	case *ast.SelectorExpr:
		if x, ok := fn.X.(*ast.Ident); ok {
			if p, ok := f.imports[x.Name]; ok {
				return p + "." + fn.Sel.Name
			}
		}
		return f.pkg + "." + fn.Sel.Name // a method of this package
	}
	return ""
}

// literal records e when it is a string literal or a string constant.
func (s *scan) literal(f parsedFile, e ast.Expr) bool {
	if v, ok := stringLit(e); ok {
		s.add(v, e)
		return true
	}
	switch x := e.(type) {
	case *ast.Ident:
		if v, ok := f.consts[x.Name]; ok {
			s.add(v, e)
			return true
		}
	case *ast.SelectorExpr:
		if pkg, ok := x.X.(*ast.Ident); ok {
			if v, ok := s.consts[f.imports[pkg.Name]][x.Sel.Name]; ok {
				s.add(v, e)
				return true
			}
		}
	}
	return false
}

// arg records the argument e of a code parameter of callee, or reports it
// when it cannot be resolved.
func (s *scan) arg(f parsedFile, e ast.Expr, callee string) {
	if s.literal(f, e) {
		return
	}
	switch x := e.(type) {
	case *ast.Ident, *ast.SelectorExpr:
		if isCodeName(lastName(x)) {
			return // carries codes that were collected where they were set
		}
	case *ast.CallExpr:
		if s.results[s.callee(f, x.Fun)] {
			return // its returns were collected
		}
	}
	s.errs = append(s.errs, fmt.Errorf("%s: the code given to %s is not a string literal, a constant or something named code, so codetest cannot check that it is documented", s.pos(e), callee))
}

func lastName(e ast.Expr) string {
	switch x := e.(type) {
	case *ast.Ident:
		return x.Name
	case *ast.SelectorExpr:
		return x.Sel.Name
	}
	return ""
}

func (s *scan) add(value string, e ast.Expr) {
	s.found = append(s.found, Found{Code: value, Pos: s.pos(e)})
}

func (s *scan) pos(e ast.Node) string {
	p := s.fset.Position(e.Pos())
	rel, err := filepath.Rel(s.root, p.Filename)
	if err != nil {
		rel = p.Filename
	}
	return fmt.Sprintf("%s:%d", filepath.ToSlash(rel), p.Line)
}
