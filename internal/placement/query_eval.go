package placement

// Matching a predicate against a host, and the typed values it compares.
// Matching does not allocate: the parser has already typed every argument,
// and host values are compared in place.

import (
	"cmp"
	"errors"
	"regexp"
	"regexp/syntax"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// predicate is "subject operator [argument]".
type predicate struct {
	subject subject
	name    string // the attribute's name, for attribute:<name>
	op      op     // the operator, for String
	test    op     // op's positive form, which match evaluates
	negated bool   // whether op is test's negation

	values []string   // the argument, or the list for in
	re     *fullMatch // for =~
	number bool       // values[0] is a decimal number, num, for attribute ordering
	num    decimal
	count  int // runningTasksCount's argument
	// registeredAt's argument is a span of time [from, to): the whole day
	// for a date, the whole second for a date and time.
	from, to float64
}

func (p *predicate) match(h *Host) bool { return p.holds(h) != p.negated }

// holds evaluates the positive operator p.test.
func (p *predicate) holds(h *Host) bool {
	switch p.subject {
	case subjAttribute:
		v, ok := h.Attributes[p.name]
		if !ok || p.test == opExists {
			return ok
		}
		return p.holdsFor(v)
	case subjEC2InstanceID:
		return p.holdsFor(h.EC2InstanceID)
	case subjAgentConnected:
		return p.holdsFor(strconv.FormatBool(h.AgentConnected))
	case subjAgentVersion:
		c, ok := compareVersions(h.AgentVersion, p.values[0])
		return ok && p.orders(c)
	case subjRegisteredAt:
		return p.holdsAt(h.RegisteredAt)
	case subjRunningTasksCount:
		return p.orders(cmp.Compare(h.RunningTasks, p.count))
	case subjTaskGroup:
		return p.holdsForGroups(h.Groups)
	}
	return false
}

// holdsFor compares a string value. Ordering is numeric when both sides
// are decimal numbers, so "16" > "4"; otherwise it is by bytes.
func (p *predicate) holdsFor(v string) bool {
	switch p.test {
	case opEq:
		return v == p.values[0]
	case opIn:
		return slices.Contains(p.values, v)
	case opMatches:
		return p.re.match(v)
	}
	if p.number {
		if a, ok := parseDecimal(v); ok {
			b, _ := parseDecimal(p.values[0])
			return p.orders(a.compare(b))
		}
	}
	return p.orders(strings.Compare(v, p.values[0]))
}

// holdsForGroups asks about the set of groups with tasks on the host: each
// operator holds when it holds for any one of them.
func (p *predicate) holdsForGroups(groups map[string]int) bool {
	switch p.test {
	case opEq:
		return groups[p.values[0]] > 0
	case opIn:
		for _, v := range p.values {
			if groups[v] > 0 {
				return true
			}
		}
		return false
	}
	for g, n := range groups {
		if n > 0 && (p.test == opExists || p.re.match(g)) {
			return true
		}
	}
	return false
}

// holdsAt compares a registration time with the argument's span, so
// "registeredAt == 2018-02-13" is any time that day and "<=" includes it.
func (p *predicate) holdsAt(t float64) bool {
	switch p.test {
	case opEq:
		return p.from <= t && t < p.to
	case opLt:
		return t < p.from
	case opLe:
		return t < p.to
	case opGt:
		return t >= p.to
	case opGe:
		return t >= p.from
	}
	return false
}

// orders reports whether a comparison result c satisfies p.test.
func (p *predicate) orders(c int) bool {
	switch p.test {
	case opEq:
		return c == 0
	case opGt:
		return c > 0
	case opGe:
		return c >= 0
	case opLt:
		return c < 0
	case opLe:
		return c <= 0
	}
	return false
}

// decimal is a number as digits, so comparing needs no float conversion
// and no size limit: whole has no leading zeros, frac no trailing ones.
type decimal struct {
	neg         bool
	whole, frac string
}

// parseDecimal accepts an optional sign, digits and an optional fraction:
// "7", "-2", "0.5", ".5", "5.". No exponents, no hex, no Inf.
func parseDecimal(s string) (decimal, bool) {
	var d decimal
	if s != "" && (s[0] == '+' || s[0] == '-') {
		d.neg, s = s[0] == '-', s[1:]
	}
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" && frac == "" || !isDigits(whole) || !isDigits(frac) {
		return d, false
	}
	d.whole, d.frac = strings.TrimLeft(whole, "0"), strings.TrimRight(frac, "0")
	if d.whole == "" && d.frac == "" {
		d.neg = false // -0 is 0
	}
	return d, true
}

func (a decimal) compare(b decimal) int {
	if a.neg != b.neg {
		if a.neg {
			return -1
		}
		return 1
	}
	c := compareDigits(a.whole, b.whole)
	if c == 0 {
		// Without trailing zeros, fractions order as their digit strings.
		c = strings.Compare(a.frac, b.frac)
	}
	if a.neg {
		return -c
	}
	return c
}

// compareDigits orders two unsigned decimal integers of any length.
func compareDigits(a, b string) int {
	a, b = strings.TrimLeft(a, "0"), strings.TrimLeft(b, "0")
	if c := cmp.Compare(len(a), len(b)); c != 0 {
		return c
	}
	return strings.Compare(a, b)
}

func isDigits(s string) bool {
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// versionCore is the dotted numbers of a version: an optional "v" and any
// "-…" or "+…" suffix are dropped, so "v1.14.5-rc1" compares as 1.14.5.
func versionCore(s string) (string, bool) {
	s = strings.TrimPrefix(s, "v")
	if i := strings.IndexAny(s, "-+"); i >= 0 {
		s = s[:i]
	}
	if s == "" {
		return "", false
	}
	for rest := s; rest != ""; {
		var part string
		part, rest, _ = strings.Cut(rest, ".")
		if part == "" || !isDigits(part) {
			return "", false
		}
	}
	if s[len(s)-1] == '.' {
		return "", false
	}
	return s, true
}

// compareVersions orders two versions part by part, missing parts being
// zero (1.14 == 1.14.0). ok is false when either is not a version.
func compareVersions(a, b string) (c int, ok bool) {
	a, okA := versionCore(a)
	b, okB := versionCore(b)
	if !okA || !okB {
		return 0, false
	}
	for a != "" || b != "" {
		var x, y string
		x, a, _ = strings.Cut(a, ".")
		y, b, _ = strings.Cut(b, ".")
		if c := compareDigits(x, y); c != 0 {
			return c, true
		}
	}
	return 0, true
}

// fullMatch is a regular expression that must match a whole value, as
// Java's String.matches does, in RE2 syntax.
type fullMatch struct {
	re *regexp.Regexp
	// A literal then ".*", as in "t2.*", is the common memberOf pattern;
	// testing its prefix takes a tenth of the time the regexp takes.
	prefix   string
	isPrefix bool
}

func (m *fullMatch) match(v string) bool {
	if m.isPrefix {
		return strings.HasPrefix(v, m.prefix) && strings.IndexByte(v[len(m.prefix):], '\n') < 0
	}
	return m.re.MatchString(v)
}

func compileFullMatch(pattern string) (*fullMatch, error) {
	// Parsed alone first, so that "a)|(b" cannot reach around the anchors.
	tree, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		if se := (*syntax.Error)(nil); errors.As(err, &se) {
			return nil, errors.New(string(se.Code)) // without the pattern, which the caller quotes
		}
		return nil, err
	}
	re, err := regexp.Compile(`^(?:` + pattern + `)$`)
	if err != nil {
		// A pattern that parses alone fails here only when it ends inside
		// \Q…, which would quote the anchor too: end the quote first.
		if re, err = regexp.Compile(`^(?:` + pattern + `\E)$`); err != nil {
			return nil, err
		}
	}
	m := &fullMatch{re: re}
	m.prefix, m.isPrefix = literalThenAny(tree.Simplify())
	return m, nil
}

// literalThenAny reports whether re is a case-sensitive literal followed
// by ".*" (which stops at a newline), and returns the literal.
func literalThenAny(re *syntax.Regexp) (string, bool) {
	if re.Op != syntax.OpConcat || len(re.Sub) != 2 {
		return "", false
	}
	lit, star := re.Sub[0], re.Sub[1]
	if lit.Op != syntax.OpLiteral || lit.Flags&syntax.FoldCase != 0 ||
		star.Op != syntax.OpStar || star.Sub[0].Op != syntax.OpAnyCharNotNL {
		return "", false
	}
	// The regexp reads an invalid byte as U+FFFD; a prefix test would not.
	if slices.Contains(lit.Rune, utf8.RuneError) {
		return "", false
	}
	return string(lit.Rune), true
}

// parseDate reads the registeredAt forms ECS documents and returns the
// span the argument names: its day, or its second. No zone means UTC.
func parseDate(s string) (from, to float64, ok bool) {
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return float64(t.Unix()), float64(t.AddDate(0, 0, 1).Unix()), true
	}
	if strings.ContainsAny(s, ".,") {
		return 0, 0, false // time.Parse would take fractional seconds
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return float64(t.Unix()), float64(t.Unix() + 1), true
		}
	}
	return 0, 0, false
}
