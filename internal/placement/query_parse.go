package placement

// Parsing the cluster query language. The grammar, with "and" binding
// tighter than "or" (ECS leaves precedence to parentheses):
//
//	expr      = and { ("or" | "||") and }
//	and       = term { ("and" | "&&") term }
//	term      = ("not" | "!") term | "(" expr ")" | predicate
//	predicate = subject ( unaryOp | binaryOp value | listOp "[" value { "," value } "]" )
//
// Tokens depend on where the parser is: a value is anything up to
// whitespace or one of ",[]()", so "service:production", "t2.*" and
// "1.14.5" need no quotes, while a subject, an operator or a connector
// stops at the operator characters, so "attribute:a==b" reads as three.

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ParseExpression parses a cluster query language expression. Its errors
// are *ExpressionError.
func ParseExpression(s string) (*Expression, error) {
	if n := utf8.RuneCountInString(s); n > maxExpressionLength {
		return nil, &ExpressionError{Pos: maxExpressionLength + 1,
			Msg: fmt.Sprintf("expression longer than %d characters (it has %d)", maxExpressionLength, n)}
	}
	if strings.TrimLeft(s, spaces) == "" {
		return nil, &ExpressionError{Pos: 1, Msg: "empty expression"}
	}
	p := &parser{src: s}
	root, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tokEOF {
		return nil, p.unexpected(t)
	}
	return &Expression{root: root, tasks: p.tasks}, nil
}

const (
	spaces      = " \t\n\v\f\r"
	punctuation = "()[],"
	opChars     = "=!<>~&|"
	quotes      = `'"`
)

type parser struct {
	src   string
	pos   int  // byte offset of the next unread byte
	tasks bool // a predicate reads task:group or runningTasksCount
}

type tokenKind uint8

const (
	tokEOF    tokenKind = iota
	tokPunct            // one of punctuation
	tokSymbol           // a run of opChars
	tokQuoted           // a quoted string, out of place
	tokWord             // a run of anything else
)

type token struct {
	kind     tokenKind
	text     string
	off, end int // byte offsets
}

// peek reads the next token after whitespace without consuming it.
func (p *parser) peek() token {
	off := p.pos
	for off < len(p.src) && strings.IndexByte(spaces, p.src[off]) >= 0 {
		off++
	}
	t := token{kind: tokEOF, off: off, end: off}
	if off == len(p.src) {
		return t
	}
	c := p.src[off]
	switch {
	case strings.IndexByte(punctuation, c) >= 0:
		t.kind, t.end = tokPunct, off+1
	case strings.IndexByte(quotes, c) >= 0:
		t.kind, t.end = tokQuoted, len(p.src)
		if i := strings.IndexByte(p.src[off+1:], c); i >= 0 {
			t.end = off + 1 + i + 1
		}
	case strings.IndexByte(opChars, c) >= 0:
		t.kind, t.end = tokSymbol, p.scan(off, func(c byte) bool { return strings.IndexByte(opChars, c) >= 0 })
	default:
		t.kind, t.end = tokWord, p.scan(off, isWordByte)
	}
	t.text = p.src[off:t.end]
	return t
}

func isWordByte(c byte) bool {
	return !strings.ContainsRune(spaces+punctuation+opChars+quotes, rune(c))
}

// scan is the end of the run of bytes from off that satisfy in.
func (p *parser) scan(off int, in func(byte) bool) int {
	for off < len(p.src) && in(p.src[off]) {
		off++
	}
	return off
}

// acceptConnector consumes the word or symbol of a boolean connector.
// Symbols match as prefixes so that "a exists&&!b exists" reads.
func (p *parser) acceptConnector(word, symbol string) bool {
	t := p.peek()
	switch {
	case t.kind == tokWord && strings.EqualFold(t.text, word):
		p.pos = t.end
	case t.kind == tokSymbol && strings.HasPrefix(t.text, symbol):
		p.pos = t.off + len(symbol)
	default:
		return false
	}
	return true
}

func (p *parser) parseOr() (node, error) {
	var terms anyOf
	for {
		x, err := p.parseAnd()
		if err != nil {
			return nil, err
		}
		terms = flatten(terms, x)
		if !p.acceptConnector("or", "||") {
			break
		}
	}
	if len(terms) == 1 {
		return terms[0], nil
	}
	return terms, nil
}

func (p *parser) parseAnd() (node, error) {
	var terms allOf
	for {
		x, err := p.parseTerm()
		if err != nil {
			return nil, err
		}
		terms = flatten(terms, x)
		if !p.acceptConnector("and", "&&") {
			break
		}
	}
	if len(terms) == 1 {
		return terms[0], nil
	}
	return terms, nil
}

// flatten appends x to a conjunction or disjunction, splicing in x's own
// terms when it is the same kind: (a and b) and c is a and b and c.
func flatten[S allOf | anyOf](terms S, x node) S {
	if same, ok := x.(S); ok {
		return append(terms, same...)
	}
	return append(terms, x)
}

func (p *parser) parseTerm() (node, error) {
	t := p.peek()
	switch {
	case t.kind == tokPunct && t.text == "(":
		p.pos = t.end
		x, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		switch c := p.peek(); {
		case c.kind == tokPunct && c.text == ")":
			p.pos = c.end
			return x, nil
		case c.kind == tokEOF:
			return nil, p.errAt(t.off, `unclosed "("`)
		default:
			return nil, p.unexpected(c)
		}
	case t.kind == tokSymbol && strings.Trim(t.text, "!") == "":
		// One "!" of a run: "!!x" is not(not(x)).
		p.pos = t.off + 1
		return p.parseNegation()
	case t.kind == tokWord && strings.EqualFold(t.text, "not"):
		p.pos = t.end
		return p.parseNegation()
	case t.kind == tokWord && !strings.EqualFold(t.text, "and") && !strings.EqualFold(t.text, "or"):
		return p.parsePredicate(t)
	}
	return nil, p.unexpected(t)
}

func (p *parser) parseNegation() (node, error) {
	x, err := p.parseTerm()
	if err != nil {
		return nil, err
	}
	return negation{x}, nil
}

// unexpected is the error for a token that cannot come where it is.
func (p *parser) unexpected(t token) error {
	if t.kind == tokEOF {
		return p.errAt(t.off, "unexpected end of expression")
	}
	return p.errAt(t.off, "unexpected %q", t.text)
}

// errAt is an *ExpressionError at byte offset off.
func (p *parser) errAt(off int, format string, args ...any) error {
	return &ExpressionError{
		Pos: utf8.RuneCountInString(p.src[:off]) + 1,
		Msg: fmt.Sprintf(format, args...),
	}
}

func (p *parser) parsePredicate(t token) (node, error) {
	pr := &predicate{}
	if err := p.parseSubject(pr, t); err != nil {
		return nil, err
	}
	p.pos = t.end
	opOff, err := p.parseOperator(pr, t.text)
	if err != nil {
		return nil, err
	}
	if allowedOps[pr.subject]&(1<<pr.op) == 0 {
		return nil, p.errAt(opOff, "operator %q does not apply to %s", p.src[opOff:p.pos], subjectNames[pr.subject])
	}
	pr.test, pr.negated = pr.op.positive()
	if pr.subject == subjTaskGroup || pr.subject == subjRunningTasksCount {
		p.tasks = true
	}
	written := p.src[opOff:p.pos]
	switch pr.test {
	case opExists:
		return pr, nil
	case opIn:
		return pr, p.parseList(pr, written)
	}
	v, off, err := p.parseValue(written)
	if err != nil {
		return nil, err
	}
	if v, err = p.typeArgument(pr, v, off); err != nil {
		return nil, err
	}
	pr.values = []string{v}
	return pr, nil
}

// parseSubject reads the subject word t. Subject names are matched without
// regard to case; attribute names are kept as written.
func (p *parser) parseSubject(pr *predicate, t token) error {
	if prefix, name, ok := strings.Cut(t.text, ":"); ok && strings.EqualFold(prefix, "attribute") {
		nameOff := t.off + len(prefix) + 1
		if name == "" {
			return p.errAt(nameOff, `expected an attribute name after "attribute:"`)
		}
		// ECS attribute names are letters, digits and "-_./\".
		for i, r := range name {
			if !isAttributeNameRune(r) {
				return p.errAt(nameOff+i, "invalid character %q in attribute name", r)
			}
		}
		pr.subject, pr.name = subjAttribute, name
		return nil
	}
	s, ok := subjects[strings.ToLower(t.text)]
	if !ok {
		return p.errAt(t.off, "unknown subject %q", t.text)
	}
	pr.subject = s
	return nil
}

func isAttributeNameRune(r rune) bool {
	return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' ||
		strings.ContainsRune(`-_./\`, r)
}

// parseOperator reads the operator after a subject and returns its offset.
func (p *parser) parseOperator(pr *predicate, subject string) (int, error) {
	t := p.peek()
	text := t.text
	if t.kind == tokSymbol && text == "!" {
		// "!in" and "!exists" are a "!" and a word.
		text = p.src[t.off:p.scan(t.end, isWordByte)]
	}
	o, ok := operators[strings.ToLower(text)]
	switch {
	case ok:
		pr.op, p.pos = o, t.off+len(text)
		return t.off, nil
	case t.kind == tokSymbol:
		return 0, p.errAt(t.off, "unknown operator %q", text)
	}
	return 0, p.errAt(t.off, "expected an operator after %q", subject)
}

// parseValue reads a bare or quoted value after what (for messages) and
// returns it with its offset.
func (p *parser) parseValue(what string) (string, int, error) {
	t := p.peek()
	switch {
	case t.kind == tokEOF:
		return "", t.off, p.errAt(t.off, "expected a value after %q", what)
	case t.kind == tokPunct:
		return "", t.off, p.errAt(t.off, "expected a value after %q, found %q", what, t.text)
	case t.kind == tokQuoted:
		if len(t.text) < 2 || t.text[len(t.text)-1] != t.text[0] {
			return "", t.off, p.errAt(t.off, "unclosed quote")
		}
		p.pos = t.end
		return t.text[1 : len(t.text)-1], t.off, nil
	}
	end := p.scan(t.off, func(c byte) bool { return strings.IndexByte(valueStops, c) < 0 })
	p.pos = end
	return p.src[t.off:end], t.off, nil
}

// parseList reads "[a, b, …]" after the operator op, typing each value.
func (p *parser) parseList(pr *predicate, op string) error {
	open := p.peek()
	if open.kind != tokPunct || open.text != "[" {
		return p.errAt(open.off, "expected %q after %q", "[", op)
	}
	p.pos = open.end
	if t := p.peek(); t.kind == tokPunct && t.text == "]" {
		return p.errAt(open.off, "empty list")
	}
	for after := "["; ; after = "," {
		v, off, err := p.parseValue(after)
		if err != nil {
			return err
		}
		if v, err = p.typeArgument(pr, v, off); err != nil {
			return err
		}
		pr.values = append(pr.values, v)
		switch t := p.peek(); {
		case t.kind == tokPunct && t.text == "]":
			p.pos = t.end
			return nil
		case t.kind == tokPunct && t.text == ",":
			p.pos = t.end
		case t.kind == tokEOF:
			return p.errAt(open.off, `unclosed "["`)
		default:
			return p.unexpected(t)
		}
	}
}

// typeArgument checks a value against its subject and operator, keeps its
// typed form so that matching only compares, and returns the value as
// string comparisons should see it.
func (p *parser) typeArgument(pr *predicate, v string, off int) (string, error) {
	if pr.test == opMatches {
		re, err := compileFullMatch(v)
		if err != nil {
			return "", p.errAt(off, "invalid regular expression %q: %s", v, err)
		}
		pr.re = re
		return v, nil
	}
	switch pr.subject {
	case subjAttribute:
		pr.num, pr.number = parseDecimal(v)
	case subjAgentConnected:
		// Lower-cased, as matching reads the host's value.
		if b := strings.ToLower(v); b == "true" || b == "false" {
			return b, nil
		}
		return "", p.errAt(off, "agentConnected is true or false, not %q", v)
	case subjAgentVersion:
		if _, ok := versionCore(v); !ok {
			return "", p.errAt(off, "invalid agent version %q: want dotted numbers like 1.14.5", v)
		}
	case subjRegisteredAt:
		from, to, ok := parseDate(v)
		if !ok {
			return "", p.errAt(off, "invalid date %q: want 2018-06-18, 2018-06-18T22:28:28, 2018-06-18T22:28:28Z or 2018-06-18T22:28:28+00:00", v)
		}
		pr.from, pr.to = from, to
	case subjRunningTasksCount:
		n, err := strconv.Atoi(v)
		if err != nil {
			return "", p.errAt(off, "invalid task count %q: want an integer", v)
		}
		pr.count = n
	}
	return v, nil
}
