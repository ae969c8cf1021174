package config

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Prefix starts the name of every ssegate environment variable. A variable
// with it that no setting reads is an error: SSEGATE_REDIS_ULR=… must not
// start the embedded broker, with unauthenticated publishing, instead of
// using Redis.
const Prefix = "SSEGATE_"

// ErrUnknownSetting is wrapped by the error about an SSEGATE_ variable that
// no setting reads.
var ErrUnknownSetting = errors.New("unknown setting")

// Tolerate declares SSEGATE_ variables the environment may hold that this
// Set does not read: another ssegate service's settings in a shared
// environment file, or the test suite's variables.
func (s *Set) Tolerate(names ...string) { s.tolerated = append(s.tolerated, names...) }

// unknownEnv returns one error per SSEGATE_ variable of the environment that
// is neither a setting of s nor tolerated, in name order, each naming the
// known variables closest to it.
func (s *Set) unknownEnv() []error {
	known := slices.Clone(s.tolerated)
	for _, st := range s.settings {
		known = append(known, st.env)
	}
	var errs []error
	for name := range s.environ {
		if strings.HasPrefix(name, Prefix) && !slices.Contains(known, name) {
			errs = append(errs, fmt.Errorf("%w: environment variable %s (closest known: %s; -h lists them all)",
				ErrUnknownSetting, name, strings.Join(Closest(name, known, 3), ", ")))
		}
	}
	slices.SortFunc(errs, func(a, b error) int { return strings.Compare(a.Error(), b.Error()) })
	return errs
}

// Closest returns up to n of candidates nearest to name by edit distance
// (Levenshtein: insertions, deletions and substitutions of bytes), the
// nearest first and, at equal distance, in name order.
func Closest(name string, candidates []string, n int) []string {
	c := slices.Clone(candidates)
	slices.Sort(c)
	c = slices.Compact(c)
	dist := make(map[string]int, len(c))
	for _, k := range c {
		dist[k] = editDistance(name, k)
	}
	slices.SortStableFunc(c, func(a, b string) int { return dist[a] - dist[b] })
	return c[:min(n, len(c))]
}

// editDistance is the Levenshtein distance of a and b, in bytes (names are
// ASCII).
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
