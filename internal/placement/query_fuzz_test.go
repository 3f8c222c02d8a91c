package placement

import (
	"errors"
	"testing"
	"unicode/utf8"
)

// FuzzParseExpression holds the parser to its promises on any input: it
// never panics, its errors are *ExpressionError inside the input, and what
// it accepts prints as a canonical form that reads back as an equivalent
// expression.
func FuzzParseExpression(f *testing.F) {
	for _, s := range []string{
		"attribute:ecs.instance-type == t2.small",
		"attribute:ecs.availability-zone in [us-east-1a, us-east-1b]",
		"attribute:ecs.instance-type =~ g2.* and attribute:ecs.availability-zone != us-east-1d",
		"task:group == service:production",
		"not(task:group == database)",
		"runningTasksCount == 1",
		"agentVersion < 1.14.5",
		"registeredAt < 2018-02-13",
		"ec2InstanceId in ['i-abcd1234', 'i-wxyx7890']",
		"attribute:stack != prod",
		"(attribute:ecs.instance-type == t2.small or attribute:ecs.instance-type == t2.medium) and attribute:ecs.availability-zone == us-east-1a",
		"attribute:gpu exists || !attribute:gpu not_exists && agentConnected EQUALS TRUE",
		"registeredAt >= 2018-06-18T22:28:28+01:00 or registeredAt <= 2018-06-18T22:28:28Z",
		`attribute:x matches '\Qa)' and task:group !~ "it's"`,
		"attribute:x!in[a,'b c',\"d\"]",
		"!!(attribute:a exists)",
		"attribute:cores greater_than_equal -1.5",
		"attribute:x == 'é' and )",
		"(attribute:gpu exists",
	} {
		f.Add(s)
	}
	hosts := append(queryHosts(), &Host{})
	f.Fuzz(func(t *testing.T, s string) {
		e, err := ParseExpression(s)
		if err != nil {
			var ee *ExpressionError
			if !errors.As(err, &ee) {
				t.Fatalf("ParseExpression(%q) error %T, want *ExpressionError", s, err)
			}
			if n := utf8.RuneCountInString(s); ee.Pos < 1 || ee.Pos > max(n+1, 1) {
				t.Fatalf("ParseExpression(%q): position %d outside 1..%d", s, ee.Pos, n+1)
			}
			return
		}
		canon := e.String()
		again, err := ParseExpression(canon)
		if err != nil {
			if utf8.RuneCountInString(canon) > maxExpressionLength {
				return // spelled out, it grew past the limit; String says it may
			}
			t.Fatalf("ParseExpression(%q).String() = %q, which does not parse: %v", s, canon, err)
		}
		if got := again.String(); got != canon {
			t.Fatalf("canonical form is not stable:\n input %q\n first %q\nsecond %q", s, canon, got)
		}
		if again.UsesTasks() != e.UsesTasks() {
			t.Fatalf("UsesTasks differs between %q and %q", s, canon)
		}
		for _, h := range hosts {
			if a, b := e.Match(h), again.Match(h); a != b {
				t.Fatalf("host %q: %q matches %v, its canonical form %q matches %v", h.ID, s, a, canon, b)
			}
		}
	})
}
