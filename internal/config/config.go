// Package config binds command-line flags to environment variables so each
// setting has one name in both worlds (-listen and SSEGATE_LISTEN_ADDR), one
// default and one help text, and -h prints them all. Precedence: a flag on
// the command line, else the environment variable, else the default.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Set is a group of settings parsed together.
type Set struct {
	fs       *flag.FlagSet
	environ  Env
	settings []setting
	// tolerated are SSEGATE_ names the environment may hold that this Set
	// does not read (see Tolerate).
	tolerated []string
	errs      []error
}

type setting struct {
	flag, env, def, usage string
}

// Env is the environment a Set reads, by variable name (OSEnv() in
// production, a literal map in tests).
type Env map[string]string

// New returns a Set for the program name reading env.
func New(name string, env Env) *Set {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	s := &Set{fs: fs, environ: env}
	fs.Usage = func() { s.PrintUsage(fs.Output()) }
	return s
}

// env returns the environment's value for a setting, or def.
func (s *Set) env(name, def string) string {
	if v, ok := s.environ[name]; ok {
		return v
	}
	return def
}

func (s *Set) add(flagName, env, def, usage string) string {
	s.settings = append(s.settings, setting{flagName, env, def, usage})
	return s.env(env, def)
}

// String binds a string setting.
func (s *Set) String(p *string, flagName, env, def, usage string) {
	s.fs.StringVar(p, flagName, s.add(flagName, env, def, usage), usage)
}

// Int binds an integer setting.
func (s *Set) Int(p *int, flagName, env string, def int, usage string) {
	v := s.add(flagName, env, strconv.Itoa(def), usage)
	n, err := strconv.Atoi(v)
	if err != nil {
		s.errs = append(s.errs, fmt.Errorf("%s=%q: not an integer", env, v))
	}
	s.fs.IntVar(p, flagName, n, usage)
}

// Float binds a floating-point setting.
func (s *Set) Float(p *float64, flagName, env string, def float64, usage string) {
	v := s.add(flagName, env, strconv.FormatFloat(def, 'g', -1, 64), usage)
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		s.errs = append(s.errs, fmt.Errorf("%s=%q: not a number", env, v))
	}
	s.fs.Float64Var(p, flagName, f, usage)
}

// Bool binds a boolean setting.
func (s *Set) Bool(p *bool, flagName, env string, def bool, usage string) {
	v := s.add(flagName, env, strconv.FormatBool(def), usage)
	b, err := strconv.ParseBool(v)
	if err != nil {
		s.errs = append(s.errs, fmt.Errorf("%s=%q: want true or false", env, v))
	}
	s.fs.BoolVar(p, flagName, b, usage)
}

// Duration binds a duration setting (Go syntax: 15s, 1m30s).
func (s *Set) Duration(p *time.Duration, flagName, env string, def time.Duration, usage string) {
	v := s.add(flagName, env, def.String(), usage)
	d, err := time.ParseDuration(v)
	if err != nil {
		s.errs = append(s.errs, fmt.Errorf("%s=%q: not a duration (e.g. 15s)", env, v))
	}
	s.fs.DurationVar(p, flagName, d, usage)
}

// Parse parses args (without the program name). Bad environment values,
// and SSEGATE_ variables no setting reads (a misspelt name must not silently
// leave its default in force), are reported here, together, so a
// misconfigured deployment fails at start.
func (s *Set) Parse(args []string) error {
	if err := s.fs.Parse(args); err != nil {
		return err
	}
	s.errs = append(s.errs, s.unknownEnv()...)
	if s.fs.NArg() > 0 {
		s.errs = append(s.errs, fmt.Errorf("unexpected arguments: %s", strings.Join(s.fs.Args(), " ")))
	}
	return errors.Join(s.errs...)
}

// SetOutput redirects usage and errors (tests).
func (s *Set) SetOutput(w io.Writer) { s.fs.SetOutput(w) }

// PrintUsage writes every setting as a table: flag, variable, default, meaning.
func (s *Set) PrintUsage(w io.Writer) {
	fmt.Fprintf(w, "Usage of %s (flags override environment variables):\n\n", s.fs.Name())
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FLAG\tENVIRONMENT\tDEFAULT\tMEANING")
	for _, st := range s.settings {
		def := st.def
		if def == "" {
			def = `""`
		}
		fmt.Fprintf(tw, "-%s\t%s\t%s\t%s\n", st.flag, st.env, def, st.usage)
	}
	tw.Flush()
}

// List splits a comma-separated setting, dropping empty items.
func List(s string) []string {
	var out []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// OSEnv returns the process environment. Of a variable set twice the last
// value wins, as with os.Getenv.
func OSEnv() Env {
	env := Env{}
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	return env
}

// Value is a setting as it is in force after Parse.
type Value struct {
	Flag, Env, Value string
}

// Values returns every setting with the value in force (flag, else
// environment, else default), in -h order. Secrets are in it as they are:
// mask them before showing them anywhere (the gateway's status page does,
// through package status).
func (s *Set) Values() []Value {
	out := make([]Value, 0, len(s.settings))
	for _, st := range s.settings {
		v := st.def
		if f := s.fs.Lookup(st.flag); f != nil {
			v = f.Value.String()
		}
		out = append(out, Value{Flag: st.flag, Env: st.env, Value: v})
	}
	return out
}
