package bundle

import (
	"strings"
	"testing"
)

func TestCheckCrate(t *testing.T) {
	const good = `{"@context":"https://w3id.org/ro/crate/1.1/context","@graph":[
{"@id":"ro-crate-metadata.json","@type":"CreativeWork","about":{"@id":"./"},"conformsTo":{"@id":"https://w3id.org/ro/crate/1.1"}},
{"@id":"./","@type":"Dataset","name":"n","description":"d","datePublished":"2020-01-01","license":{"@id":"https://spdx.org/licenses/CC0-1.0"},
 "mainEntity":{"@id":"https://example.org/wf"},"conformsTo":[{"@id":"https://w3id.org/ro/wfrun/process/0.5"},{"@id":"https://w3id.org/ro/wfrun/workflow/0.5"}],"mentions":[{"@id":"#a"}]},
{"@id":"#a","@type":"CreateAction","instrument":{"@id":"#s"},"object":[{"@id":"in.csv"}],"result":[]},
{"@id":"#s","@type":"SoftwareApplication"},
{"@id":"in.csv","@type":"File"}]}`
	for _, tc := range []struct {
		name, edit, replace, want string
	}{
		{"good", "", "", ""},
		{"dangling reference", `{"@id":"in.csv"}]`, `{"@id":"other.csv"}]`, "refers to other.csv"},
		{"no root", `"@id":"./","@type"`, `"@id":"./x","@type"`, "no root data entity"},
		{"descriptor not about root", `"about":{"@id":"./"}`, `"about":{"@id":"#s"}`, "is not about ./"},
		{"no profile", `{"@id":"https://w3id.org/ro/wfrun/workflow/0.5"}`, `{"@id":"https://example.org/p"}`, "does not conform to https://w3id.org/ro/wfrun/workflow/0.5"},
		{"action without instrument", `"instrument":{"@id":"#s"},`, ``, "has no instrument"},
		{"instrument not software", `"instrument":{"@id":"#s"}`, `"instrument":{"@id":"in.csv"}`, "neither a SoftwareApplication"},
		{"duplicate id", `{"@id":"in.csv","@type":"File"}`, `{"@id":"in.csv","@type":"File"},{"@id":"in.csv","@type":"File"}`, "defined twice"},
		{"not json", `{"@context"`, `{@context`, "not JSON"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := good
			if tc.edit != "" {
				if !strings.Contains(doc, tc.edit) {
					t.Fatalf("edit %q not in the document", tc.edit)
				}
				doc = strings.Replace(doc, tc.edit, tc.replace, 1)
			}
			probs := CheckCrate([]byte(doc))
			if tc.want == "" {
				if len(probs) > 0 {
					t.Fatalf("problems in a good crate: %v", probs)
				}
				return
			}
			if !strings.Contains(strings.Join(probs, "\n"), tc.want) {
				t.Fatalf("problems %v, want one with %q", probs, tc.want)
			}
		})
	}
}

func TestCheckCitation(t *testing.T) {
	for _, tc := range []struct{ name, doc, want string }{
		{"good", "cff-version: 1.2.0\nmessage: m\ntitle: t\nauthors:\n  - name: x\n", ""},
		{"person", "cff-version: 1.2.0\nmessage: m\ntitle: t\nauthors:\n  - family-names: F\n    given-names: G\n", ""},
		{"no authors", "cff-version: 1.2.0\nmessage: m\ntitle: t\n", "authors: none"},
		{"no message", "cff-version: 1.2.0\ntitle: t\nauthors:\n  - name: x\n", "no message"},
		{"old version", "cff-version: 1.1.0\nmessage: m\ntitle: t\nauthors:\n  - name: x\n", "cff-version"},
		{"nameless author", "cff-version: 1.2.0\nmessage: m\ntitle: t\nauthors:\n  - given-names: G\n", "neither name"},
		{"bad reference", "cff-version: 1.2.0\nmessage: m\ntitle: t\nauthors:\n  - name: x\nreferences:\n  - type: data\n", "lacks type or title"},
		{"not yaml", "cff-version: [1.2.0\n", "not YAML"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			probs := CheckCitation([]byte(tc.doc))
			got := strings.Join(probs, "\n")
			if tc.want == "" && got != "" || tc.want != "" && !strings.Contains(got, tc.want) {
				t.Fatalf("problems %q, want %q", got, tc.want)
			}
		})
	}
}

func TestPerson(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want cffPerson
	}{
		{"Doe, Jane", cffPerson{FamilyNames: "Doe", GivenNames: "Jane"}},
		{"  van der Berg ,  Ana ", cffPerson{FamilyNames: "van der Berg", GivenNames: "Ana"}},
		{"Research Lab", cffPerson{Name: "Research Lab"}},
		{"Lab, ", cffPerson{Name: "Lab,"}},
	} {
		if got := person(tc.in); got != tc.want {
			t.Errorf("person(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
}
