// Package sinkurl reads the URLs of the zap sink schemes that logfanin
// registers ("append" in package atomicwrite, "logfanin" in package sink):
// the checks of the URL's shape, field by field as zap's own RegisterSink
// does, and the value syntax their options share.
package sinkurl

import (
	"fmt"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
)

// URL is a checked sink URL with its options, each given at most once.
type URL struct {
	u      *url.URL
	prefix string
	opts   map[string]string
}

// Parse checks that u has the given scheme, an absolute path or none (only
// if pathOptional), and no opaque part, user info, host or fragment. The
// prefix starts every error message, e.g. "atomicwrite".
func Parse(u *url.URL, scheme, prefix string, pathOptional bool) (*URL, error) {
	s := &URL{u: u, prefix: prefix}
	switch {
	case u.Scheme != scheme:
		return nil, s.Errorf("scheme %q is not %q", u.Scheme, scheme)
	case u.Opaque != "":
		return nil, s.Errorf("relative path %q: use %s:///absolute/path", u.Opaque, scheme)
	case u.User != nil:
		return nil, s.Errorf("user info not allowed")
	case u.Host != "":
		return nil, s.Errorf("host %q not allowed: use %s:///absolute/path", u.Host, scheme)
	case u.Fragment != "":
		return nil, s.Errorf("fragment %q not allowed", u.Fragment)
	case u.Path == "" && !pathOptional, u.Path != "" && !path.IsAbs(u.Path):
		return nil, s.Errorf("path %q is not absolute", u.Path)
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return nil, s.Errorf("query: %v", err)
	}
	s.opts = make(map[string]string, len(q))
	for key, vals := range q {
		if len(vals) != 1 {
			return nil, s.Errorf("option %q given %d times", key, len(vals))
		}
		s.opts[key] = vals[0]
	}
	return s, nil
}

// Path is the URL's path, empty if it has none.
func (s *URL) Path() string { return s.u.Path }

// Has reports whether the option key was given.
func (s *URL) Has(key string) bool { _, ok := s.opts[key]; return ok }

// Options calls fn for every option, in the order of their keys, and stops
// at the first error, which it returns naming the option.
func (s *URL) Options(fn func(key, value string) error) error {
	keys := make([]string, 0, len(s.opts))
	for k := range s.opts {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if err := fn(k, s.opts[k]); err != nil {
			if _, ok := err.(unknownError); ok {
				return s.Errorf("unknown option %q", k)
			}
			return s.Errorf("option %s=%q: %v", k, s.opts[k], err)
		}
	}
	return nil
}

type unknownError struct{}

func (unknownError) Error() string { return "unknown option" }

// ErrUnknown is what an Options callback returns for a key it does not
// know.
var ErrUnknown error = unknownError{}

// Errorf returns an error about the URL.
func (s *URL) Errorf(format string, args ...any) error {
	return fmt.Errorf("%s: sink URL %q: "+format, append([]any{s.prefix, s.u.Redacted()}, args...)...)
}

// Size reads a byte count: digits, optionally followed by a unit B, KiB,
// MiB or GiB; digits alone count in units of bare.
func Size(v string, bare int64) (int64, error) {
	num, mult := v, bare
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"B", 1}} {
		if n, ok := strings.CutSuffix(v, u.suffix); ok {
			num, mult = n, u.mult
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("want a size in bytes with a unit B, KiB, MiB or GiB")
	}
	return n * mult, nil
}

// Duration reads a non-negative Go duration such as 5ms, and also a
// number of days such as 7d if days is set.
func Duration(v string, days bool) (time.Duration, error) {
	if num, ok := strings.CutSuffix(v, "d"); ok && days {
		n, err := strconv.Atoi(num)
		if err != nil || n < 0 || n > 100000 {
			return 0, fmt.Errorf("want a number of days such as 7d")
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("want a non-negative Go duration such as 5ms")
	}
	return d, nil
}
