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
	ast.Inspect(n, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.FuncLit:
			s.walk(f, n.Body, false)
			return false
		case *ast.CallExpr:
			key := s.callee(f, n.Fun)
			for _, i := range s.params[key] {
				if i < len(n.Args) {
					s.arg(f, n.Args[i], key)
				}
			}
		case *ast.AssignStmt:
			if len(n.Lhs) == len(n.Rhs) {
				for i, lhs := range n.Lhs {
					if isCodeName(lastName(lhs)) {
						s.literal(f, n.Rhs[i])
					}
				}
			}
		case *ast.ValueSpec:
			if len(n.Names) == len(n.Values) {
				for i, name := range n.Names {
					if isCodeName(name.Name) {
						s.literal(f, n.Values[i])
					}
				}
			}
		case *ast.KeyValueExpr:
			if k, ok := n.Key.(*ast.Ident); ok && isCodeName(k.Name) {
				s.literal(f, n.Value)
			}
		case *ast.ReturnStmt:
			if inCodeFunc && len(n.Results) == 1 {
				s.literal(f, n.Results[0])
			}
		}
		return true
	})
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
