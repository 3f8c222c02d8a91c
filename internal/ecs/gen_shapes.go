//go:build ignore

// gen_shapes writes shapes.go from the ECS service model (service-2.json,
// plain or gzipped), so every wire name and type matches the model exactly.
//
//	go run gen_shapes.go -model /path/to/ecs/2014-11-13/service-2.json.gz
package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"flag"
	"fmt"
	"go/format"
	"io"
	"log"
	"os"
	"sort"
	"strings"
	"unicode"
)

// operations Gantry serves; their inputs and outputs are the roots of the walk.
var operations = []string{
	"CreateCluster", "DescribeClusters", "ListClusters", "DeleteCluster", "UpdateCluster", "UpdateClusterSettings",
	"RegisterTaskDefinition", "DescribeTaskDefinition", "ListTaskDefinitions", "ListTaskDefinitionFamilies",
	"DeregisterTaskDefinition", "DeleteTaskDefinitions",
	"TagResource", "UntagResource", "ListTagsForResource",
	"RegisterContainerInstance", "DeregisterContainerInstance", "DescribeContainerInstances", "ListContainerInstances",
	"UpdateContainerInstancesState", "PutAttributes", "DeleteAttributes", "ListAttributes",
	"RunTask", "StartTask", "StopTask", "DescribeTasks", "ListTasks",
	"CreateService", "UpdateService", "DeleteService", "DescribeServices", "ListServices",
	"ListServiceDeployments", "DescribeServiceDeployments",
}

type member struct {
	Shape string `json:"shape"`
}

type shape struct {
	Type     string            `json:"type"`
	Box      bool              `json:"box"`
	Enum     []string          `json:"enum"`
	Members  map[string]member `json:"members"`
	Member   *member           `json:"member"`
	Key      *member           `json:"key"`
	Value    *member           `json:"value"`
	Required []string          `json:"required"`
}

type model struct {
	Operations map[string]struct {
		Input  *member `json:"input"`
		Output *member `json:"output"`
	} `json:"operations"`
	Shapes map[string]shape `json:"shapes"`
}

// order keeps member order as the model lists it, for readable output.
type orderedShapes map[string][]string

func main() {
	path := flag.String("model", "", "path to the ECS service-2.json(.gz)")
	out := flag.String("out", "shapes.go", "output file")
	flag.Parse()
	raw, err := readModel(*path)
	if err != nil {
		log.Fatal(err)
	}
	var m model
	if err := json.Unmarshal(raw, &m); err != nil {
		log.Fatal(err)
	}
	order, err := memberOrder(raw)
	if err != nil {
		log.Fatal(err)
	}
	g := &gen{m: m, order: order, seen: map[string]bool{}}
	for _, op := range operations {
		o, ok := m.Operations[op]
		if !ok {
			log.Fatalf("operation %s not in model", op)
		}
		if o.Input != nil {
			g.visit(o.Input.Shape)
		}
		if o.Output != nil {
			g.visit(o.Output.Shape)
		}
	}
	src, err := format.Source(g.render())
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(*out, src, 0o644); err != nil {
		log.Fatal(err)
	}
}

func readModel(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		if r, err = gzip.NewReader(f); err != nil {
			return nil, err
		}
	}
	return io.ReadAll(r)
}

// memberOrder recovers each structure's member order, which map decoding loses.
func memberOrder(raw []byte) (orderedShapes, error) {
	var top struct {
		Shapes map[string]json.RawMessage `json:"shapes"`
	}
	if err := json.Unmarshal(raw, &top); err != nil {
		return nil, err
	}
	order := orderedShapes{}
	for name, body := range top.Shapes {
		var s struct {
			Members json.RawMessage `json:"members"`
		}
		if err := json.Unmarshal(body, &s); err != nil || len(s.Members) == 0 {
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(s.Members))
		dec.Token() // {
		for dec.More() {
			k, _ := dec.Token()
			order[name] = append(order[name], k.(string))
			var skip json.RawMessage
			dec.Decode(&skip)
		}
	}
	return order, nil
}

type gen struct {
	m       model
	order   orderedShapes
	seen    map[string]bool
	structs []string
	enums   []string
}

func (g *gen) visit(name string) {
	if g.seen[name] {
		return
	}
	g.seen[name] = true
	s := g.m.Shapes[name]
	switch {
	case s.Type == "structure":
		g.structs = append(g.structs, name)
		for _, mem := range s.Members {
			g.visit(mem.Shape)
		}
	case s.Type == "list":
		g.visit(s.Member.Shape)
	case s.Type == "map":
		g.visit(s.Key.Shape)
		g.visit(s.Value.Shape)
	case s.Type == "string" && len(s.Enum) > 0:
		g.enums = append(g.enums, name)
	}
}

func (g *gen) goType(name string) string {
	s := g.m.Shapes[name]
	switch s.Type {
	case "string":
		if len(s.Enum) > 0 {
			return name
		}
		return "string"
	case "integer":
		return "int32"
	case "long":
		return "int64"
	case "boolean":
		return "bool"
	case "double", "float":
		return "float64"
	case "timestamp":
		return "Timestamp"
	case "blob":
		return "[]byte"
	case "structure":
		return name
	case "list":
		return "[]" + g.goType(s.Member.Shape)
	case "map":
		return "map[" + g.goType(s.Key.Shape) + "]" + g.goType(s.Value.Shape)
	}
	log.Fatalf("shape %s: unknown type %q", name, s.Type)
	return ""
}

// fieldType: structures are pointers; boxed scalars are pointers so that
// "unset" and zero differ; unboxed scalars are always present on the wire.
func (g *gen) fieldType(name string) (typ string, always bool) {
	s := g.m.Shapes[name]
	t := g.goType(name)
	switch s.Type {
	case "structure":
		return "*" + t, false
	case "integer", "long", "boolean", "double", "float":
		if s.Box {
			return "*" + t, false
		}
		return t, true
	}
	return t, false
}

func (g *gen) render() []byte {
	var b bytes.Buffer
	b.WriteString("// Code generated by gen_shapes.go from the ECS service model. DO NOT EDIT.\n\npackage ecs\n\n")
	sort.Strings(g.structs)
	for _, name := range g.structs {
		s := g.m.Shapes[name]
		req := map[string]bool{}
		for _, r := range s.Required {
			req[r] = true
		}
		fmt.Fprintf(&b, "type %s struct {\n", name)
		for _, mn := range g.order[name] {
			typ, always := g.fieldType(s.Members[mn].Shape)
			tag := mn + ",omitzero"
			if always {
				tag = mn
			}
			comment := ""
			if req[mn] {
				comment = " // required"
			}
			fmt.Fprintf(&b, "\t%s %s `json:%q`%s\n", exported(mn), typ, tag, comment)
		}
		b.WriteString("}\n\n")
	}
	sort.Strings(g.enums)
	for _, name := range g.enums {
		s := g.m.Shapes[name]
		fmt.Fprintf(&b, "type %s string\n\nconst (\n", name)
		for _, v := range s.Enum {
			fmt.Fprintf(&b, "\t%s%s %s = %q\n", name, constName(v), name, v)
		}
		b.WriteString(")\n\n")
		fmt.Fprintf(&b, "// Values lists every %s the model allows.\nfunc (%s) Values() []%s {\n\treturn []%s{", name, name, name, name)
		for i, v := range s.Enum {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%q", v)
		}
		b.WriteString("}\n}\n\n")
	}
	return b.Bytes()
}

func exported(s string) string {
	r := []rune(s)
	r[0] = unicode.ToUpper(r[0])
	return string(r)
}

func constName(v string) string {
	var b strings.Builder
	up := true
	for _, r := range v {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			up = true
			continue
		}
		if up {
			r = unicode.ToUpper(r)
			up = false
		}
		b.WriteRune(r)
	}
	return b.String()
}
