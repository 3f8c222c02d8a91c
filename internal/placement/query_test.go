package placement

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// queryHosts are the instances every expression test runs against; a test
// names the hosts it expects to match, in this order.
func queryHosts() []*Host {
	at := func(s string) float64 {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			panic(err)
		}
		return float64(t.UnixNano()) / 1e9
	}
	return []*Host{
		{ID: "small", Attributes: map[string]string{
			"ecs.instance-type": "t2.small", "ecs.availability-zone": "us-east-1a", "stack": "prod", "cores": "2"},
			AgentConnected: true, AgentVersion: "1.14.4", EC2InstanceID: "i-abcd1234",
			RegisteredAt: at("2018-02-12T10:00:00Z"), RunningTasks: 1,
			Groups: map[string]int{"service:production": 1}},
		{ID: "medium", Attributes: map[string]string{
			"ecs.instance-type": "t2.medium", "ecs.availability-zone": "us-east-1b", "stack": "test", "cores": "16"},
			AgentConnected: true, AgentVersion: "1.14.5", EC2InstanceID: "i-wxyx7890",
			RegisteredAt: at("2018-02-13T00:00:00Z")},
		{ID: "gpu", Attributes: map[string]string{
			"ecs.instance-type": "g2.2xlarge", "ecs.availability-zone": "us-east-1d", "gpu": "", "cores": "8.0"},
			AgentVersion: "1.9.0", EC2InstanceID: "i-00000001",
			RegisteredAt: at("2018-06-18T22:28:28.5Z"), RunningTasks: 3,
			Groups: map[string]int{"database": 2, "service:production": 1}},
		{ID: "gpu-b", Attributes: map[string]string{
			"ecs.instance-type": "g2.8xlarge", "ecs.availability-zone": "us-east-1b", "gpu": "4", "cores": "32"},
			AgentConnected: true, AgentVersion: "v1.20.0", EC2InstanceID: "i-00000002",
			RegisteredAt: at("2018-02-13T12:00:00Z"), RunningTasks: 2,
			Groups: map[string]int{"database": 1}},
		{ID: "t3", Attributes: map[string]string{
			"ecs.instance-type": "t3.micro", "ecs.availability-zone": "us-east-1a"},
			AgentConnected: true, AgentVersion: "dev",
			RegisteredAt: at("2019-01-01T00:00:00Z"), RunningTasks: 2,
			Groups: map[string]int{"service:web": 2, "service:production": 0}},
	}
}

var allQueryHosts = []string{"small", "medium", "gpu", "gpu-b", "t3"}

// queryMatches parses expr and names the queryHosts it matches.
func queryMatches(t *testing.T, expr string) []string {
	t.Helper()
	e, err := ParseExpression(expr)
	if err != nil {
		t.Fatalf("ParseExpression(%q): %v", expr, err)
	}
	got := []string{}
	for _, h := range queryHosts() {
		if e.Match(h) {
			got = append(got, h.ID)
		}
	}
	return got
}

type queryCase struct {
	expr string
	want []string
}

func runQueryCases(t *testing.T, tests []queryCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, queryMatches(t, tt.expr)); diff != "" {
				t.Errorf("hosts matched (-want +got):\n%s", diff)
			}
		})
	}
}

// TestQueryDocumentedExamples runs every example of ECS's documentation.
func TestQueryDocumentedExamples(t *testing.T) {
	runQueryCases(t, []queryCase{
		{"attribute:ecs.instance-type == t2.small", []string{"small"}},
		{"attribute:ecs.availability-zone in [us-east-1a, us-east-1b]", []string{"small", "medium", "gpu-b", "t3"}},
		{"attribute:ecs.instance-type =~ g2.* and attribute:ecs.availability-zone != us-east-1d", []string{"gpu-b"}},
		{"task:group == service:production", []string{"small", "gpu"}},
		{"not(task:group == database)", []string{"small", "medium", "t3"}},
		{"runningTasksCount == 1", []string{"small"}},
		{"agentVersion < 1.14.5", []string{"small", "gpu"}},
		{"registeredAt < 2018-02-13", []string{"small"}},
		{"ec2InstanceId in ['i-abcd1234', 'i-wxyx7890']", []string{"small", "medium"}},
		{"attribute:stack == prod", []string{"small"}},
		{"attribute:stack != prod", []string{"medium", "gpu", "gpu-b", "t3"}},
		{"attribute:ecs.instance-type in [t2.small, t2.medium]", []string{"small", "medium"}},
		{"attribute:ecs.instance-type =~ t2.* and attribute:ecs.availability-zone == us-east-1a", []string{"small"}},
		{"(attribute:ecs.instance-type == t2.small or attribute:ecs.instance-type == t2.medium) and attribute:ecs.availability-zone == us-east-1a", []string{"small"}},
		{"attribute:ecs.instance-type =~ t3.*", []string{"t3"}},
		{"attribute:gpu exists", []string{"gpu", "gpu-b"}},
		{"attribute:gpu !exists", []string{"small", "medium", "t3"}},
		{"agentConnected == true", []string{"small", "medium", "gpu-b", "t3"}},
	})
}

func TestQueryOperatorSpellings(t *testing.T) {
	notProd := []string{"medium", "gpu", "gpu-b", "t3"}
	runQueryCases(t, []queryCase{
		{"attribute:stack == prod", []string{"small"}},
		{"attribute:stack equals prod", []string{"small"}},
		{"attribute:stack EQUALS prod", []string{"small"}},
		{"attribute:stack != prod", notProd},
		{"attribute:stack not_equals prod", notProd},
		{"runningTasksCount > 1", []string{"gpu", "gpu-b", "t3"}},
		{"runningTasksCount greater_than 1", []string{"gpu", "gpu-b", "t3"}},
		{"runningTasksCount >= 2", []string{"gpu", "gpu-b", "t3"}},
		{"runningTasksCount greater_than_equal 2", []string{"gpu", "gpu-b", "t3"}},
		{"runningTasksCount < 2", []string{"small", "medium"}},
		{"runningTasksCount less_than 2", []string{"small", "medium"}},
		{"runningTasksCount <= 1", []string{"small", "medium"}},
		{"runningTasksCount Less_Than_Equal 1", []string{"small", "medium"}},
		{"attribute:stack exists", []string{"small", "medium"}},
		{"attribute:stack !exists", []string{"gpu", "gpu-b", "t3"}},
		{"attribute:stack not_exists", []string{"gpu", "gpu-b", "t3"}},
		{"attribute:stack in [prod, staging]", []string{"small"}},
		{"attribute:stack !in [prod, staging]", notProd},
		{"attribute:stack not_in [prod, staging]", notProd},
		{"attribute:stack =~ pro.*", []string{"small"}},
		{"attribute:stack matches pro.*", []string{"small"}},
		{"attribute:stack !~ pro.*", notProd},
		{"attribute:stack not_matches pro.*", notProd},
		{"attribute:stack exists && runningTasksCount == 0", []string{"medium"}},
		{"attribute:stack exists AND runningTasksCount == 0", []string{"medium"}},
		{"attribute:gpu exists || attribute:stack == prod", []string{"small", "gpu", "gpu-b"}},
		{"attribute:gpu exists Or attribute:stack == prod", []string{"small", "gpu", "gpu-b"}},
		{"!attribute:gpu exists", []string{"small", "medium", "t3"}},
		{"!(attribute:gpu exists)", []string{"small", "medium", "t3"}},
		{"NOT (attribute:gpu exists)", []string{"small", "medium", "t3"}},
		{"not attribute:gpu exists", []string{"small", "medium", "t3"}},
	})
}

func TestQueryPrecedence(t *testing.T) {
	runQueryCases(t, []queryCase{
		// and binds tighter than or.
		{"attribute:ecs.availability-zone == us-east-1a or attribute:stack == test and runningTasksCount == 0", []string{"small", "medium", "t3"}},
		{"(attribute:ecs.availability-zone == us-east-1a or attribute:stack == test) and runningTasksCount == 0", []string{"medium"}},
		{"runningTasksCount == 0 and attribute:stack == test or attribute:ecs.availability-zone == us-east-1a", []string{"small", "medium", "t3"}},
		// not binds tighter than and.
		{"not attribute:gpu exists and agentConnected == true", []string{"small", "medium", "t3"}},
		{"not (attribute:gpu exists and agentConnected == true)", []string{"small", "medium", "gpu", "t3"}},
		{"!!attribute:gpu exists", []string{"gpu", "gpu-b"}},
		{"not not(not(attribute:gpu exists))", []string{"small", "medium", "t3"}},
		{"((attribute:gpu exists))", []string{"gpu", "gpu-b"}},
		{"attribute:gpu exists and (attribute:cores == 32 or (agentConnected == false))", []string{"gpu", "gpu-b"}},
		// Without spaces.
		{"attribute:stack==prod and(runningTasksCount>0)", []string{"small"}},
		// A bare value runs to whitespace, so this compares with "prod&&agentConnected==true".
		{"attribute:stack==prod&&agentConnected==true", []string{}},
		{"attribute:gpu exists&&!attribute:stack exists||attribute:stack==prod", []string{"small", "gpu", "gpu-b"}},
		{"not(task:group==database)and(attribute:stack in[prod,test])", []string{"small", "medium"}},
		{"\tattribute:stack\n==\r\nprod ", []string{"small"}},
	})
}

func TestQuerySubjects(t *testing.T) {
	runQueryCases(t, []queryCase{
		// Attributes: a missing one fails every positive operator.
		{"attribute:cores > 4", []string{"medium", "gpu", "gpu-b"}}, // numeric, not "16" < "4"
		{"attribute:cores >= 8", []string{"medium", "gpu", "gpu-b"}},
		{"attribute:cores <= 8", []string{"small", "gpu"}},
		{"attribute:cores < -1.5", []string{}},
		{"attribute:cores == 8", []string{}}, // == compares strings: "8.0" is not "8"
		{"attribute:cores == 8.0", []string{"gpu"}},
		{"attribute:stack > prod", []string{"medium"}}, // "test" > "prod" as strings
		{"attribute:stack < zzz", []string{"small", "medium"}},
		{"attribute:ecs.instance-type > 2", []string{"small", "medium", "gpu", "gpu-b", "t3"}}, // not numbers: "t…" > "2"
		{"attribute:gpu == ''", []string{"gpu"}},
		{"attribute:gpu == \"\"", []string{"gpu"}},
		{"attribute:gpu in ['', 4]", []string{"gpu", "gpu-b"}},
		{"attribute:ecs.instance-type =~ t2", []string{}}, // whole value, not a substring
		{"attribute:ecs.instance-type =~ t2.small|t2.medium", []string{"small", "medium"}},
		{`attribute:ecs.instance-type =~ 'g2\.(2|8)xlarge'`, []string{"gpu", "gpu-b"}},
		{"attribute:ecs.instance-type =~ '(?i)T2.*'", []string{"small", "medium"}},
		{"attribute:nothing != x", allQueryHosts},
		{"attribute:nothing !in [x]", allQueryHosts},
		{"attribute:nothing !~ .*", allQueryHosts},
		{"attribute:nothing < x", []string{}},
		{"attribute:nothing >= x", []string{}},
		{"ATTRIBUTE:stack == prod", []string{"small"}},
		{"attribute:Stack == prod", []string{}}, // attribute names keep their case

		{"agentConnected == FALSE", []string{"gpu"}},
		{"agentConnected != true", []string{"gpu"}},
		{"agentConnected in [false]", []string{"gpu"}},
		{"agentConnected !in [false]", []string{"small", "medium", "gpu-b", "t3"}},
		{"agentConnected =~ f.*", []string{"gpu"}},
		{"agentConnected !~ f.*", []string{"small", "medium", "gpu-b", "t3"}},

		// Versions compare part by part; "dev" is no version, so only != holds.
		{"agentVersion >= 1.14.5", []string{"medium", "gpu-b"}},
		{"agentVersion > 1.9", []string{"small", "medium", "gpu-b"}},
		{"agentVersion <= 1.14.5", []string{"small", "medium", "gpu"}},
		{"agentVersion == 1.14.5.0", []string{"medium"}},
		{"agentVersion == v1.20.0-rc1", []string{"gpu-b"}},
		{"agentVersion != 1.14.5", []string{"small", "gpu", "gpu-b", "t3"}},

		{"ec2InstanceId == i-abcd1234", []string{"small"}},
		{"ec2InstanceId != i-abcd1234", []string{"medium", "gpu", "gpu-b", "t3"}},
		{"ec2InstanceId =~ i-0+2", []string{"gpu-b"}},
		{"ec2InstanceId !~ i-0.*", []string{"small", "medium", "t3"}},
		{"ec2InstanceId == ''", []string{"t3"}},

		// A date is its whole day, a date and time its whole second.
		{"registeredAt == 2018-02-13", []string{"medium", "gpu-b"}},
		{"registeredAt != 2018-02-13", []string{"small", "gpu", "t3"}},
		{"registeredAt <= 2018-02-13", []string{"small", "medium", "gpu-b"}},
		{"registeredAt > 2018-02-13", []string{"gpu", "t3"}},
		{"registeredAt >= 2018-02-13", []string{"medium", "gpu", "gpu-b", "t3"}},
		{"registeredAt >= 2018-02-13T12:00:00Z", []string{"gpu", "gpu-b", "t3"}},
		{"registeredAt == 2018-06-18T22:28:28+00:00", []string{"gpu"}},
		{"registeredAt == 2018-06-18T23:28:28+01:00", []string{"gpu"}},
		{"registeredAt == 2018-06-18T22:28:28Z", []string{"gpu"}},
		{"registeredAt < 2018-06-18T22:28:28", []string{"small", "medium", "gpu-b"}},
		{"registeredAt > 2018-06-18T22:28:28", []string{"t3"}},

		{"runningTasksCount == 0", []string{"medium"}},
		{"runningTasksCount != 0", []string{"small", "gpu", "gpu-b", "t3"}},
		{"runningTasksCount > -1", allQueryHosts},

		// task:group asks about the set of groups with tasks on the host.
		{"task:group exists", []string{"small", "gpu", "gpu-b", "t3"}},
		{"task:group !exists", []string{"medium"}},
		{"task:group == database", []string{"gpu", "gpu-b"}},
		{"task:group != database", []string{"small", "medium", "t3"}},
		{"task:group in [database, service:web]", []string{"gpu", "gpu-b", "t3"}},
		{"task:group not_in [database, service:web]", []string{"small", "medium"}},
		{"task:group =~ service:.*", []string{"small", "gpu", "t3"}},
		{"task:group !~ service:.*", []string{"medium", "gpu-b"}},
		{"task:group == service:production", []string{"small", "gpu"}}, // t3's count is 0
	})
}

func TestQueryUsesTasks(t *testing.T) {
	tests := []struct {
		expr string
		want bool
	}{
		{"attribute:stack == prod", false},
		{"agentConnected == true and agentVersion > 1 and registeredAt > 2018-01-01 and ec2InstanceId =~ i-.*", false},
		{"task:group == database", true},
		{"not(task:group == database)", true},
		{"runningTasksCount < 3", true},
		{"attribute:stack == prod or (agentConnected == true and runningTasksCount == 0)", true},
	}
	for _, tt := range tests {
		e, err := ParseExpression(tt.expr)
		if err != nil {
			t.Fatalf("ParseExpression(%q): %v", tt.expr, err)
		}
		if got := e.UsesTasks(); got != tt.want {
			t.Errorf("ParseExpression(%q).UsesTasks() = %v, want %v", tt.expr, got, tt.want)
		}
	}
}

func TestExpressionString(t *testing.T) {
	tests := []struct{ in, want string }{
		{"attribute:ecs.instance-type EQUALS t2.small", "attribute:ecs.instance-type == t2.small"},
		{"not(task:group == database)", "not(task:group == database)"},
		{"!attribute:gpu exists", "not(attribute:gpu exists)"},
		{"attribute:gpu not_exists", "attribute:gpu !exists"},
		{"attribute:a exists || attribute:b exists && attribute:c exists", "attribute:a exists or attribute:b exists and attribute:c exists"},
		{"(attribute:a exists or attribute:b exists) and attribute:c exists", "(attribute:a exists or attribute:b exists) and attribute:c exists"},
		{"((attribute:a exists and attribute:b exists)) and attribute:c exists", "attribute:a exists and attribute:b exists and attribute:c exists"},
		{"attribute:a exists or (attribute:b exists or attribute:c exists)", "attribute:a exists or attribute:b exists or attribute:c exists"},
		{"not(attribute:a exists or attribute:b exists)", "not(attribute:a exists or attribute:b exists)"},
		{"ec2InstanceId in ['i-abcd1234', \"i-wxyx7890\"]", "ec2InstanceId in [i-abcd1234, i-wxyx7890]"},
		{"attribute:x not_in ['a b',c]", "attribute:x !in ['a b', c]"},
		{"attribute:x == 'a b'", "attribute:x == 'a b'"},
		{`attribute:x == "it's here"`, `attribute:x == "it's here"`},
		{`attribute:x == it's`, `attribute:x == it's`},
		{`attribute:x == "'q"`, `attribute:x == "'q"`},
		{"attribute:x == ''", "attribute:x == ''"},
		{"attribute:x == 'f(x)'", "attribute:x == 'f(x)'"},
		{"attribute:x matches 'g2\\.(2|8)xlarge'", "attribute:x =~ 'g2\\.(2|8)xlarge'"},
		{"AGENTCONNECTED == TRUE", "agentConnected == true"},
		{"registeredAt<2018-02-13", "registeredAt < 2018-02-13"},
		{"Task:Group==service:production", "task:group == service:production"},
		{"runningTasksCount greater_than_equal 01", "runningTasksCount >= 01"},
	}
	for _, tt := range tests {
		e, err := ParseExpression(tt.in)
		if err != nil {
			t.Fatalf("ParseExpression(%q): %v", tt.in, err)
		}
		if got := e.String(); got != tt.want {
			t.Errorf("ParseExpression(%q).String() = %q, want %q", tt.in, got, tt.want)
		}
		if again, err := ParseExpression(tt.want); err != nil || again.String() != tt.want {
			t.Errorf("ParseExpression(%q) = %v, %v; want it to read back as itself", tt.want, again, err)
		}
	}
}

func TestParseExpressionErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "empty expression at character 1"},
		{" \t ", "empty expression at character 1"},
		{strings.Repeat("a", 2001), "expression longer than 2000 characters (it has 2001) at character 2001"},
		{"attribute:ecs.instance-type t2.small", `expected an operator after "attribute:ecs.instance-type" at character 29`},
		{"attribute:x", `expected an operator after "attribute:x" at character 12`},
		{"attribute:x exists exists", `unexpected "exists" at character 20`},
		{"attribute:x === y", `unknown operator "===" at character 13`},
		{"attribute:x !inside [a]", `unknown operator "!inside" at character 13`},
		{"attribute:x ! exists", `unknown operator "!" at character 13`},
		{"(attribute:gpu exists", `unclosed "(" at character 1`},
		{"attribute:a exists and ((attribute:gpu exists)", `unclosed "(" at character 24`},
		{"foo == bar", `unknown subject "foo" at character 1`},
		{"agentconnected == true and bar exists", `unknown subject "bar" at character 28`},
		{"attribute: == x", `expected an attribute name after "attribute:" at character 11`},
		{"attribute:g$pu exists", `invalid character '$' in attribute name at character 12`},
		{"attribute:é exists", `invalid character 'é' in attribute name at character 11`},
		{"attribute:gpu exists == x", `unexpected "==" at character 22`},
		{"attribute:gpu exists and", "unexpected end of expression at character 25"},
		{"attribute:gpu exists)", `unexpected ")" at character 21`},
		{"attribute:gpu exists or or", `unexpected "or" at character 25`},
		{"not", "unexpected end of expression at character 4"},
		{"()", `unexpected ")" at character 2`},
		{"!= x", `unexpected "!=" at character 1`},
		{"'attribute:x' exists", `unexpected "'attribute:x'" at character 1`},
		{"attribute:x == 'é' and )", `unexpected ")" at character 24`},
		{"agentConnected > true", `operator ">" does not apply to agentConnected at character 16`},
		{"agentConnected exists", `operator "exists" does not apply to agentConnected at character 16`},
		{"runningTasksCount =~ 1", `operator "=~" does not apply to runningTasksCount at character 19`},
		{"runningTasksCount matches 1", `operator "matches" does not apply to runningTasksCount at character 19`},
		{"agentVersion in [1.2]", `operator "in" does not apply to agentVersion at character 14`},
		{"registeredAt !exists", `operator "!exists" does not apply to registeredAt at character 14`},
		{"ec2InstanceId < i-1", `operator "<" does not apply to ec2InstanceId at character 15`},
		{"task:group > a", `operator ">" does not apply to task:group at character 12`},
		{"runningTasksCount > many", `invalid task count "many": want an integer at character 21`},
		{"runningTasksCount == 1.5", `invalid task count "1.5": want an integer at character 22`},
		{"agentVersion < 1.x", `invalid agent version "1.x": want dotted numbers like 1.14.5 at character 16`},
		{"agentVersion < 1..2", `invalid agent version "1..2": want dotted numbers like 1.14.5 at character 16`},
		{"registeredAt < 2018-13-01", `invalid date "2018-13-01": want 2018-06-18, 2018-06-18T22:28:28, 2018-06-18T22:28:28Z or 2018-06-18T22:28:28+00:00 at character 16`},
		{"registeredAt < '2018-06-18T22:28:28.5Z'", `invalid date "2018-06-18T22:28:28.5Z": want 2018-06-18, 2018-06-18T22:28:28, 2018-06-18T22:28:28Z or 2018-06-18T22:28:28+00:00 at character 16`},
		{"agentConnected == yes", `agentConnected is true or false, not "yes" at character 19`},
		{"agentConnected in [true, 1]", `agentConnected is true or false, not "1" at character 26`},
		{"attribute:x =~ '('", `invalid regular expression "(": missing closing ) at character 16`},
		{"attribute:x =~ 'a)|(b'", `invalid regular expression "a)|(b": unexpected ) at character 16`},
		{"task:group =~ 'a**'", `invalid regular expression "a**": invalid nested repetition operator at character 15`},
		{"attribute:x ==", `expected a value after "==" at character 15`},
		{"attribute:x equals )", `expected a value after "equals", found ")" at character 20`},
		{"attribute:x == [a]", `expected a value after "==", found "[" at character 16`},
		{"attribute:x == 'abc", "unclosed quote at character 16"},
		{`attribute:x == "`, "unclosed quote at character 16"},
		{"attribute:x in a", `expected "[" after "in" at character 16`},
		{"attribute:x not_in", `expected "[" after "not_in" at character 19`},
		{"attribute:x in [ ]", "empty list at character 16"},
		{"attribute:x in [a, b", `unclosed "[" at character 16`},
		{"attribute:x in [a,]", `expected a value after ",", found "]" at character 19`},
		{"attribute:x in [a b]", `unexpected "b" at character 19`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			e, err := ParseExpression(tt.in)
			var ee *ExpressionError
			if !errors.As(err, &ee) {
				t.Fatalf("ParseExpression(%q) = %v, %v; want an *ExpressionError", tt.in, e, err)
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("error:\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestQueryLengthLimit(t *testing.T) {
	// 2000 characters is allowed, counted as characters, not bytes.
	pad := strings.Repeat("é", 2000-len("attribute:x == "))
	if _, err := ParseExpression("attribute:x == " + pad); err != nil {
		t.Errorf("a 2000-character expression: %v", err)
	}
}

func TestCompileFullMatch(t *testing.T) {
	tests := []struct {
		pattern, value string
		want, isPrefix bool
	}{
		{"t2.*", "t2.small", true, true},
		{"t2.*", "t2", true, true},
		{"t2.*", "xt2.small", false, true},
		{"t2.*", "t2.small\n", false, true}, // "." stops at a newline
		{"t2.*?", "t2.small", true, true},
		{"(?s)t2.*", "t2.small\n", true, false},
		{"(?i)t2.*", "T2.small", true, false},
		{"t2.+", "t2", false, false},
		{`\x{FFFD}.*`, "\xff", true, false}, // the regexp reads an invalid byte as U+FFFD
		{"a|ab", "ab", true, false},         // whole value, even when a shorter branch matches first
		{"small", "t2.small", false, false},
		{`\Qa.b`, "a.b", true, false}, // an open \Q does not quote the anchor
		{`\Qa.b`, "axb", false, false},
		{`x\Q)\E`, "x)", true, false},
		{"a$", "a", true, false},
		{"(?m)a$", "a\nb", false, false},
	}
	for _, tt := range tests {
		re, err := compileFullMatch(tt.pattern)
		if err != nil {
			t.Fatalf("compileFullMatch(%q): %v", tt.pattern, err)
		}
		if got := re.match(tt.value); got != tt.want {
			t.Errorf("compileFullMatch(%q).match(%q) = %v, want %v", tt.pattern, tt.value, got, tt.want)
		}
		if re.isPrefix != tt.isPrefix {
			t.Errorf("compileFullMatch(%q) takes the prefix test: %v, want %v", tt.pattern, re.isPrefix, tt.isPrefix)
		}
		if slow := re.re.MatchString(tt.value); slow != tt.want {
			t.Errorf("compileFullMatch(%q): the regexp says %v for %q, want %v", tt.pattern, slow, tt.value, tt.want)
		}
	}
}

func TestCompareVersionsAndDecimals(t *testing.T) {
	versions := []struct {
		a, b string
		want int
		ok   bool
	}{
		{"1.9.0", "1.14.5", -1, true},
		{"1.14.5", "1.14.5", 0, true},
		{"1.14", "1.14.0.0", 0, true},
		{"v2", "1.99", 1, true},
		{"1.014", "1.14", 0, true},
		{"1.2.3-rc1", "1.2.3+build", 0, true},
		{"99999999999999999999999.1", "99999999999999999999998.9", 1, true},
		{"dev", "1.0", 0, false},
		{"", "1.0", 0, false},
		{"1.", "1.0", 0, false},
		{".1", "1.0", 0, false},
	}
	for _, tt := range versions {
		c, ok := compareVersions(tt.a, tt.b)
		if c != tt.want || ok != tt.ok {
			t.Errorf("compareVersions(%q, %q) = %d, %v; want %d, %v", tt.a, tt.b, c, ok, tt.want, tt.ok)
		}
	}
	decimals := []struct {
		a, b string
		want int
	}{
		{"16", "4", 1},
		{"-16", "4", -1},
		{"-16", "-4", -1},
		{"0.05", "0.5", -1},
		{"1.10", "1.1", 0},
		{"007", "7.", 0},
		{"-0", "+0.0", 0},
		{".5", "0.49", 1},
		{"123456789012345678901234567890", "123456789012345678901234567889", 1},
	}
	for _, tt := range decimals {
		a, okA := parseDecimal(tt.a)
		b, okB := parseDecimal(tt.b)
		if !okA || !okB {
			t.Fatalf("parseDecimal(%q), parseDecimal(%q): %v, %v", tt.a, tt.b, okA, okB)
		}
		if c := a.compare(b); c != tt.want {
			t.Errorf("%s vs %s = %d, want %d", tt.a, tt.b, c, tt.want)
		}
	}
	for _, s := range []string{"", "-", ".", "1e5", "0x10", "Inf", "1.2.3", " 1", "1_000"} {
		if _, ok := parseDecimal(s); ok {
			t.Errorf("parseDecimal(%q) is a number; want not", s)
		}
	}
}

// TestMatchDoesNotAllocate holds Match to its promise on every operator.
func TestMatchDoesNotAllocate(t *testing.T) {
	exprs := []string{
		"attribute:ecs.instance-type =~ t3.* and attribute:ecs.availability-zone in [us-east-1a, us-east-1b]",
		"attribute:cores > 4 or attribute:stack < m or attribute:nothing !exists",
		"agentConnected == true and agentVersion >= 1.14.5 and ec2InstanceId !~ i-0.*",
		"registeredAt <= 2018-02-13 or runningTasksCount != 2",
		"task:group =~ service:.* or task:group in [database] or not(task:group exists)",
	}
	hosts := queryHosts()
	for _, s := range exprs {
		e, err := ParseExpression(s)
		if err != nil {
			t.Fatal(err)
		}
		allocs := testing.AllocsPerRun(100, func() {
			for _, h := range hosts {
				e.Match(h)
			}
		})
		if allocs != 0 {
			t.Errorf("Match(%q) allocates %v times per run of %d hosts", s, allocs, len(hosts))
		}
	}
}

// BenchmarkMatch is a typical memberOf constraint against one host.
func BenchmarkMatch(b *testing.B) {
	e, err := ParseExpression("attribute:ecs.instance-type =~ t3.* and attribute:ecs.availability-zone in [a, b]")
	if err != nil {
		b.Fatal(err)
	}
	h := &Host{Attributes: map[string]string{
		"ecs.instance-type":     "t3.large",
		"ecs.availability-zone": "b",
		"ecs.os-type":           "linux",
		"ecs.cpu-architecture":  "x86_64",
	}}
	b.ReportAllocs()
	for b.Loop() {
		if !e.Match(h) {
			b.Fatal("no match")
		}
	}
}
