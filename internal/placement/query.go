package placement

// The cluster query language: the expressions of memberOf constraints and
// of ListContainerInstances filters. An expression is parsed once, when a
// request arrives, and then matched against every host the scheduler
// considers, so parsing does all the work that can be done ahead (typed
// arguments, compiled regular expressions) and matching only compares.

import (
	"fmt"
	"strings"
)

// maxExpressionLength is ECS's limit on an expression, in characters.
const maxExpressionLength = 2000

// Expression is a parsed cluster query language expression, made by
// ParseExpression. It is immutable, so one Expression may be matched from
// many goroutines.
type Expression struct {
	root  node
	tasks bool
}

// ExpressionError says what is wrong with an expression and where.
type ExpressionError struct {
	Pos int // 1-based character (not byte) position in the expression
	Msg string
}

func (e *ExpressionError) Error() string {
	return fmt.Sprintf("%s at character %d", e.Msg, e.Pos)
}

// Match reports whether the host satisfies the expression. It does not
// allocate: it runs for every host in every placement decision.
func (e *Expression) Match(h *Host) bool { return e.root.match(h) }

// UsesTasks reports whether the expression reads task:group or
// runningTasksCount, whose values change as tasks are placed; a scheduler
// placing a batch must re-evaluate such an expression after each placement.
func (e *Expression) UsesTasks() bool { return e.tasks }

// String is the expression in canonical form: symbolic operators, "and",
// "or" and "not(…)", single spaces, parentheses only where precedence
// needs them. Parsing it gives an equivalent expression. Being spelled out,
// it can be longer than what was parsed, and so, for an input already near
// the limit, longer than ParseExpression accepts.
func (e *Expression) String() string {
	var b strings.Builder
	e.root.write(&b)
	return b.String()
}

// node is one part of the expression tree.
type node interface {
	match(h *Host) bool
	write(b *strings.Builder)
}

// allOf is a conjunction; the parser flattens nested ones.
type allOf []node

// anyOf is a disjunction; the parser flattens nested ones.
type anyOf []node

// negation is "not(x)".
type negation struct{ x node }

func (n allOf) match(h *Host) bool {
	for _, x := range n {
		if !x.match(h) {
			return false
		}
	}
	return true
}

func (n anyOf) match(h *Host) bool {
	for _, x := range n {
		if x.match(h) {
			return true
		}
	}
	return false
}

func (n negation) match(h *Host) bool { return !n.x.match(h) }

func (n allOf) write(b *strings.Builder) {
	for i, x := range n {
		if i > 0 {
			b.WriteString(" and ")
		}
		// "or" binds looser than "and", so a disjunction inside needs parentheses.
		if _, ok := x.(anyOf); ok {
			b.WriteByte('(')
			x.write(b)
			b.WriteByte(')')
			continue
		}
		x.write(b)
	}
}

func (n anyOf) write(b *strings.Builder) {
	for i, x := range n {
		if i > 0 {
			b.WriteString(" or ")
		}
		x.write(b)
	}
}

func (n negation) write(b *strings.Builder) {
	b.WriteString("not(")
	n.x.write(b)
	b.WriteByte(')')
}

// subject is what a predicate asks about.
type subject uint8

const (
	subjAttribute subject = iota + 1
	subjAgentConnected
	subjAgentVersion
	subjEC2InstanceID
	subjRegisteredAt
	subjRunningTasksCount
	subjTaskGroup
)

// subjectNames are the canonical spellings String uses; an attribute's
// name follows its prefix.
var subjectNames = [...]string{
	subjAttribute:         "attribute:",
	subjAgentConnected:    "agentConnected",
	subjAgentVersion:      "agentVersion",
	subjEC2InstanceID:     "ec2InstanceId",
	subjRegisteredAt:      "registeredAt",
	subjRunningTasksCount: "runningTasksCount",
	subjTaskGroup:         "task:group",
}

// subjects maps the lower-cased names of the subjects that take no name.
var subjects = map[string]subject{
	"agentconnected":    subjAgentConnected,
	"agentversion":      subjAgentVersion,
	"ec2instanceid":     subjEC2InstanceID,
	"registeredat":      subjRegisteredAt,
	"runningtaskscount": subjRunningTasksCount,
	"task:group":        subjTaskGroup,
}

// op is a comparison operator.
type op uint8

const (
	opEq op = iota + 1
	opNe
	opGt
	opGe
	opLt
	opLe
	opExists
	opNotExists
	opIn
	opNotIn
	opMatches
	opNotMatches
)

// opSymbols are the canonical spellings String uses.
var opSymbols = [...]string{
	opEq: "==", opNe: "!=", opGt: ">", opGe: ">=", opLt: "<", opLe: "<=",
	opExists: "exists", opNotExists: "!exists", opIn: "in", opNotIn: "!in",
	opMatches: "=~", opNotMatches: "!~",
}

// operators maps every spelling, lower-cased, to its operator.
var operators = map[string]op{
	"==": opEq, "equals": opEq,
	"!=": opNe, "not_equals": opNe,
	">": opGt, "greater_than": opGt,
	">=": opGe, "greater_than_equal": opGe,
	"<": opLt, "less_than": opLt,
	"<=": opLe, "less_than_equal": opLe,
	"exists":  opExists,
	"!exists": opNotExists, "not_exists": opNotExists,
	"in":  opIn,
	"!in": opNotIn, "not_in": opNotIn,
	"=~": opMatches, "matches": opMatches,
	"!~": opNotMatches, "not_matches": opNotMatches,
}

// positive is the operator a negated one negates, and whether it is negated.
// Matching evaluates only positive operators, so each negated operator is
// exactly the negation of its positive form, missing attributes included.
func (o op) positive() (op, bool) {
	switch o {
	case opNe:
		return opEq, true
	case opNotExists:
		return opExists, true
	case opNotIn:
		return opIn, true
	case opNotMatches:
		return opMatches, true
	}
	return o, false
}

// Operator families, as bits of a mask, for the table of what each subject allows.
const (
	equality  = 1<<opEq | 1<<opNe
	ordering  = 1<<opGt | 1<<opGe | 1<<opLt | 1<<opLe
	existence = 1<<opExists | 1<<opNotExists
	lists     = 1<<opIn | 1<<opNotIn
	patterns  = 1<<opMatches | 1<<opNotMatches
)

// allowedOps follows ECS's table of operators per subject. task:group has
// none listed there; it takes what makes sense of a set of group names.
var allowedOps = [...]uint16{
	subjAttribute:         equality | ordering | existence | lists | patterns,
	subjAgentConnected:    equality | lists | patterns,
	subjAgentVersion:      equality | ordering,
	subjEC2InstanceID:     equality | lists | patterns,
	subjRegisteredAt:      equality | ordering,
	subjRunningTasksCount: equality | ordering,
	subjTaskGroup:         equality | existence | lists | patterns,
}

func (p *predicate) write(b *strings.Builder) {
	b.WriteString(subjectNames[p.subject])
	b.WriteString(p.name)
	b.WriteByte(' ')
	b.WriteString(opSymbols[p.op])
	switch p.op {
	case opExists, opNotExists:
	case opIn, opNotIn:
		b.WriteString(" [")
		for i, v := range p.values {
			if i > 0 {
				b.WriteString(", ")
			}
			writeValue(b, v)
		}
		b.WriteByte(']')
	default:
		b.WriteByte(' ')
		writeValue(b, p.values[0])
	}
}

// valueStops end a bare value; a value holding any of them is quoted.
const valueStops = " \t\n\v\f\r,[]()"

// writeValue writes v bare when it reads back as itself, else quoted. A
// value that needs quotes came quoted, and as the parser has no escapes it
// cannot hold both quote characters.
func writeValue(b *strings.Builder, v string) {
	switch {
	case v != "" && v[0] != '\'' && v[0] != '"' && !strings.ContainsAny(v, valueStops):
		b.WriteString(v)
	case !strings.Contains(v, "'"):
		b.WriteString("'" + v + "'")
	default:
		b.WriteString(`"` + v + `"`)
	}
}
