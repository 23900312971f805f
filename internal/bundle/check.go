package bundle

import (
	"encoding/json"
	"fmt"
	"net/url"
	"sort"

	"gopkg.in/yaml.v3"
)

// CheckCrate checks RO-Crate metadata structurally: the metadata descriptor
// ro-crate-metadata.json is about the root "./", which conforms to the
// Workflow Run Crate and Process Run Crate profiles; every @id referenced
// is an entity of the @graph or an absolute URL; no @id is defined twice;
// and every CreateAction has an instrument, an object and a result.
func CheckCrate(data []byte) []string {
	var doc struct {
		Context any              `json:"@context"`
		Graph   []map[string]any `json:"@graph"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return []string{"not JSON: " + err.Error()}
	}
	var probs []string
	if doc.Context == nil {
		probs = append(probs, "no @context")
	}
	ents := map[string]map[string]any{}
	for i, e := range doc.Graph {
		k, ok := e["@id"].(string)
		if !ok || k == "" {
			probs = append(probs, fmt.Sprintf("entity %d has no @id", i))
			continue
		}
		if _, dup := ents[k]; dup {
			probs = append(probs, "@id "+k+" is defined twice")
		}
		if e["@type"] == nil {
			probs = append(probs, "entity "+k+" has no @type")
		}
		ents[k] = e
	}
	desc, ok := ents[CrateName]
	switch {
	case !ok:
		probs = append(probs, "no metadata descriptor "+CrateName)
	case refID(desc["about"]) != "./":
		probs = append(probs, CrateName+" is not about ./")
	case !refersTo(desc["conformsTo"], CrateSpec):
		probs = append(probs, CrateName+" does not conform to "+CrateSpec)
	}
	root, ok := ents["./"]
	if !ok {
		probs = append(probs, "no root data entity ./")
	} else {
		for _, p := range []string{WorkflowRunCrate, ProcessRunCrate} {
			if !refersTo(root["conformsTo"], p) {
				probs = append(probs, "./ does not conform to "+p)
			}
		}
		for _, k := range []string{"name", "description", "datePublished", "license", "mainEntity"} {
			if root[k] == nil {
				probs = append(probs, "./ has no "+k)
			}
		}
	}
	keys := make([]string, 0, len(ents))
	for k := range ents {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		e := ents[k]
		for prop, v := range e {
			if prop == "@id" || prop == "@type" {
				continue
			}
			for _, r := range refs(v) {
				if _, ok := ents[r]; ok {
					continue
				}
				if u, err := url.Parse(r); err == nil && u.IsAbs() && u.Host != "" {
					continue
				}
				probs = append(probs, fmt.Sprintf("%s.%s refers to %s, which is neither an entity nor an absolute URL", k, prop, r))
			}
		}
		if hasType(e, "CreateAction") {
			for _, prop := range []string{"instrument", "object", "result"} {
				if e[prop] == nil {
					probs = append(probs, "CreateAction "+k+" has no "+prop)
				}
			}
			if in := refID(e["instrument"]); in != "" && ents[in] != nil && !hasType(ents[in], "SoftwareApplication") && !hasType(ents[in], "ComputationalWorkflow") {
				probs = append(probs, "CreateAction "+k+" has instrument "+in+", neither a SoftwareApplication nor a ComputationalWorkflow")
			}
		}
	}
	sort.Strings(probs)
	return probs
}

func refID(v any) string {
	if m, ok := v.(map[string]any); ok {
		s, _ := m["@id"].(string)
		return s
	}
	return ""
}

// refs lists the @id references in a property value.
func refs(v any) []string {
	switch x := v.(type) {
	case map[string]any:
		if s, ok := x["@id"].(string); ok {
			return []string{s}
		}
	case []any:
		var out []string
		for _, e := range x {
			out = append(out, refs(e)...)
		}
		return out
	}
	return nil
}

func refersTo(v any, target string) bool {
	for _, r := range refs(v) {
		if r == target {
			return true
		}
	}
	return false
}

func hasType(e map[string]any, t string) bool {
	switch x := e["@type"].(type) {
	case string:
		return x == t
	case []any:
		for _, s := range x {
			if s == t {
				return true
			}
		}
	}
	return false
}

// CheckCitation checks a CITATION.cff: it parses as YAML and has the keys
// CFF 1.2.0 requires (cff-version, message, title, authors, each author
// with a name or family names), and each identifier and reference has the
// keys it requires.
func CheckCitation(data []byte) []string {
	var c map[string]any
	if err := yaml.Unmarshal(data, &c); err != nil {
		return []string{"not YAML: " + err.Error()}
	}
	var probs []string
	if c["cff-version"] != CFFVersion {
		probs = append(probs, fmt.Sprintf("cff-version is %v, want %s", c["cff-version"], CFFVersion))
	}
	for _, k := range []string{"message", "title"} {
		if s, _ := c[k].(string); s == "" {
			probs = append(probs, "no "+k)
		}
	}
	probs = append(probs, checkAuthors("authors", c["authors"])...)
	ids, _ := c["identifiers"].([]any)
	for i, v := range ids {
		m, _ := v.(map[string]any)
		if m["type"] == nil || m["value"] == nil {
			probs = append(probs, fmt.Sprintf("identifier %d lacks type or value", i))
		}
	}
	refs, _ := c["references"].([]any)
	for i, v := range refs {
		m, _ := v.(map[string]any)
		if m["type"] == nil || m["title"] == nil {
			probs = append(probs, fmt.Sprintf("reference %d lacks type or title", i))
		}
		probs = append(probs, checkAuthors(fmt.Sprintf("reference %d authors", i), m["authors"])...)
	}
	return probs
}

func checkAuthors(what string, v any) []string {
	list, _ := v.([]any)
	if len(list) == 0 {
		return []string{what + ": none"}
	}
	var probs []string
	for i, a := range list {
		m, _ := a.(map[string]any)
		if m["name"] == nil && m["family-names"] == nil {
			probs = append(probs, fmt.Sprintf("%s: author %d has neither name nor family-names", what, i))
		}
	}
	return probs
}
