package bundle

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/takedown-research/takedown/internal/store"
)

// Profiles and vocabularies the RO-Crate metadata conforms to.
const (
	CrateSpec          = "https://w3id.org/ro/crate/1.1"
	ProcessRunCrate    = "https://w3id.org/ro/wfrun/process/0.5"
	WorkflowRunCrate   = "https://w3id.org/ro/wfrun/workflow/0.5"
	WorkflowROCrate    = "https://w3id.org/workflowhub/workflow-ro-crate/1.0"
	crateContext       = "https://w3id.org/ro/crate/1.1/context"
	workflowRunContext = "https://w3id.org/ro/terms/workflow-run/context"
	repoURL            = "https://github.com/takedown-research/takedown"
	goLanguage         = "https://go.dev/"
	completedStatus    = "http://schema.org/CompletedActionStatus"
	parquetMediaType   = "application/vnd.apache.parquet"
	spdxPrefix         = "https://spdx.org/licenses/"
	// formalParameterProfile is the Bioschemas profile FormalParameter
	// entities follow.
	formalParameterProfile = "https://bioschemas.org/profiles/FormalParameter/1.0-RELEASE"
	workflowDescription    = "takedown's pipeline: fetch lands a release's files, normalize parses them into accounts, posts and rejects tables, fingerprint computes content keys per post, cluster finds coordinated account groups, summarize writes summary tables and reports. Every stage run is identified by the hash of its dataset, stage version, parameters and input digests."
)

// ref is a JSON-LD reference to an entity.
type ref = map[string]string

func id(s string) ref { return ref{"@id": s} }

// graph collects entities in the order they are added; an @id added twice
// keeps its first entity.
type graph struct {
	entities []map[string]any
	seen     map[string]bool
}

func (g *graph) add(e map[string]any) {
	k := e["@id"].(string)
	if g.seen[k] {
		return
	}
	g.seen[k] = true
	g.entities = append(g.entities, e)
}

func mediaType(name string) string {
	switch strings.ToLower(path.Ext(name)) {
	case ".parquet":
		return parquetMediaType
	case ".html":
		return "text/html"
	case ".md":
		return "text/markdown"
	case ".json", ".lock":
		return "application/json"
	case ".cff", ".yaml", ".yml":
		return "application/yaml"
	case ".zip":
		return "application/zip"
	case ".gz":
		return "application/gzip"
	case ".csv":
		return "text/csv"
	}
	return "application/octet-stream"
}

// crate builds ro-crate-metadata.json: RO-Crate 1.1 conforming to the
// Workflow Run Crate and Process Run Crate profiles. The pipeline is the
// main workflow; each stage run is a CreateAction whose instrument is the
// stage (a SoftwareApplication at its run version), whose object lists its
// inputs (by sha256, and URL for sources) and parameters (PropertyValue),
// and whose result lists its outputs (sha256, contentSize); each dataset's
// whole run is a CreateAction of the workflow.
func (p *packed) crate() ([]byte, error) {
	g := &graph{seen: map[string]bool{}}
	g.add(map[string]any{
		"@id": CrateName, "@type": "CreativeWork",
		"about":      id("./"),
		"conformsTo": []ref{id(CrateSpec), id(WorkflowROCrate)},
	})
	root := map[string]any{
		"@id": "./", "@type": "Dataset",
		"name":        p.title(),
		"description": "Results of takedown runs with everything needed to recompute them: run manifests, takedown.lock, descriptors, summary tables and reports. Verify with: takedown verify BUNDLE",
		"conformsTo":  []ref{id(ProcessRunCrate), id(WorkflowRunCrate), id(WorkflowROCrate)},
		"mainEntity":  id(repoURL),
	}
	if p.date != "" {
		root["datePublished"] = p.date
	}
	if p.opts.License != "" {
		root["license"] = id(spdxPrefix + p.opts.License)
	}
	g.add(root)
	// The authors given ran the runs: they are the crate's authors and
	// each action's agent.
	var agents []ref
	for i, a := range p.opts.Authors {
		c := person(a)
		if c == (cffPerson{Name: ""}) {
			continue
		}
		e := map[string]any{"@id": fmt.Sprintf("#author-%d", i+1), "@type": "Organization", "name": c.Name}
		if c.FamilyNames != "" {
			e["@type"], e["name"], e["familyName"], e["givenName"] = "Person", c.GivenNames+" "+c.FamilyNames, c.FamilyNames, c.GivenNames
		}
		g.add(e)
		agents = append(agents, id(e["@id"].(string)))
	}
	if len(agents) > 0 {
		root["author"] = agents
	}
	for _, pr := range []struct{ url, name, version string }{
		{ProcessRunCrate, "Process Run Crate", "0.5"},
		{WorkflowRunCrate, "Workflow Run Crate", "0.5"},
		{WorkflowROCrate, "Workflow RO-Crate", "1.0"},
	} {
		g.add(map[string]any{"@id": pr.url, "@type": "CreativeWork", "name": pr.name, "version": pr.version})
	}
	if p.opts.License != "" {
		g.add(map[string]any{"@id": spdxPrefix + p.opts.License, "@type": "CreativeWork", "name": p.opts.License, "identifier": p.opts.License})
	}
	g.add(map[string]any{
		"@id": repoURL, "@type": []string{"File", "SoftwareSourceCode", "ComputationalWorkflow"},
		"name":                "takedown pipeline",
		"description":         workflowDescription,
		"version":             p.opts.Software.Version,
		"url":                 repoURL,
		"programmingLanguage": id(goLanguage),
		"identifier":          "revision " + p.opts.Software.Revision,
	})
	g.add(map[string]any{"@id": goLanguage, "@type": "ComputerLanguage", "name": "Go", "url": goLanguage, "version": p.opts.Software.GoVersion})

	var hasPart []ref
	files := map[string]bool{}
	for _, e := range p.entries {
		files[e.name] = true
	}
	hasPart = append(hasPart, id(repoURL))
	var mentions, citations []ref
	for _, d := range p.datasets {
		dsID := "#dataset/" + d.desc.Name
		citations = append(citations, id(dsID))
		cit := map[string]any{"@id": dsID, "@type": "CreativeWork", "name": d.desc.Title, "description": d.desc.Citation, "identifier": d.desc.Name}
		if d.desc.ReleaseDate != "" {
			cit["datePublished"] = d.desc.ReleaseDate
		}
		if r := datasetReference(d); r.URL != "" {
			cit["url"] = r.URL
		}
		if d.desc.Licence != "" {
			cit["license"] = d.desc.Licence
		}
		g.add(cit)
		descFile := DescriptorPath(d.desc.Name)
		g.add(map[string]any{
			"@id": descFile, "@type": "File", "name": "descriptor of " + d.desc.Name,
			"encodingFormat": "application/json", "sha256": d.descSHA,
			"description": "The dataset's descriptor; the sha256 of its canonical form, " + d.desc.Digest() + ", is an input of the fetch run.",
			"about":       id(dsID),
		})
		// Sources, by sha256 and URL (or their copy in the bundle).
		srcIDs := map[string]string{}
		var srcRefs []ref
		for _, s := range d.sources {
			sid := "#source/" + s.SHA256
			switch {
			case s.Bundled:
				sid = SourcePath(s.SHA256)
			case s.URL != "":
				sid = s.URL
			}
			srcIDs[s.SHA256] = sid
			e := map[string]any{
				"@id": sid, "@type": "File", "name": s.Name, "sha256": s.SHA256,
				"contentSize": strconv.FormatInt(s.Bytes, 10), "encodingFormat": mediaType(s.Name),
				"description": "source file (" + s.Role + ") of " + d.desc.Name,
			}
			if s.URL != "" {
				e["url"] = s.URL
			}
			if !s.Bundled {
				e["description"] = e["description"].(string) + "; not in the bundle: takedown verify fetches it by URL or from --from-dir and checks its sha256"
			}
			g.add(e)
			srcRefs = append(srcRefs, id(sid))
		}
		outID := func(r *store.Manifest, file string, bundled bool) string {
			if bundled {
				return RunPath(r.Dataset, r.Stage, r.RunID, file)
			}
			return "#output/" + path.Join(r.Dataset, r.Stage, r.RunID, file)
		}
		bundledOf := map[string]map[string]bool{}
		for _, r := range d.runs {
			bundledOf[r.m.RunID] = r.bundled
		}
		var wfResults []ref
		start, end := "", ""
		for _, r := range d.runs {
			m := r.m
			swID := fmt.Sprintf("#software/takedown-%s-%s", m.Stage, m.RunVersion)
			params, err := propertyValues(m, swID)
			if err != nil {
				return nil, err
			}
			var formal []ref
			for _, pv := range params {
				formal = append(formal, pv["exampleOfWork"].(ref))
			}
			g.add(map[string]any{
				"@id": swID, "@type": "SoftwareApplication", "name": "takedown " + m.Stage,
				"softwareVersion": m.RunVersion, "url": repoURL, "isPartOf": id(repoURL),
				"description": fmt.Sprintf("the %s stage at stage version %d; its run version (stage version + Parquet writer version) enters every run id", m.Stage, m.StageVersion),
				"input":       nonNil(formal),
			})
			var object, result []ref
			for _, in := range m.Inputs {
				kind, rest, _ := strings.Cut(in.Name, "/")
				switch {
				case in.RunID != "":
					iid := outID(&store.Manifest{Dataset: m.Dataset, Stage: kind, RunID: in.RunID}, rest, bundledOf[in.RunID][rest])
					g.add(map[string]any{"@id": iid, "@type": "File", "name": rest, "sha256": in.SHA256, "contentSize": strconv.FormatInt(in.Bytes, 10),
						"description": "output of " + kind + " run " + in.RunID + ", which is not in the bundle"})
					object = append(object, id(iid))
				case kind == "descriptor":
					object = append(object, id(descFile))
				case srcIDs[in.SHA256] != "":
					object = append(object, id(srcIDs[in.SHA256]))
				default:
					iid := "#input/" + in.SHA256
					g.add(map[string]any{"@id": iid, "@type": "File", "name": rest, "sha256": in.SHA256, "contentSize": strconv.FormatInt(in.Bytes, 10)})
					object = append(object, id(iid))
				}
			}
			for _, pv := range params {
				fp := pv["exampleOfWork"].(ref)["@id"]
				g.add(map[string]any{
					"@id": fp, "@type": "FormalParameter", "name": pv["name"], "additionalType": pv["additionalType"],
					"conformsTo": id(formalParameterProfile), "description": "parameter of takedown " + m.Stage,
				})
				delete(pv, "additionalType")
				g.add(pv)
				object = append(object, id(pv["@id"].(string)))
			}
			for _, o := range m.Outputs {
				bundled := r.bundled[o.File]
				oid := outID(m, o.File, bundled)
				e := map[string]any{
					"@id": oid, "@type": "File", "name": o.File, "sha256": o.SHA256,
					"contentSize": strconv.FormatInt(o.Bytes, 10), "encodingFormat": mediaType(o.File),
				}
				var notes []string
				if o.Rows != nil {
					notes = append(notes, fmt.Sprintf("%d rows, table layout version %d", *o.Rows, o.TableVersion))
				}
				if !bundled {
					notes = append(notes, "not in the bundle: takedown verify recomputes it")
				}
				if len(notes) > 0 {
					e["description"] = strings.Join(notes, "; ")
				}
				g.add(e)
				result = append(result, id(oid))
				if m.Stage == "summarize" {
					wfResults = append(wfResults, id(oid))
				}
			}
			mf := RunPath(m.Dataset, m.Stage, m.RunID, store.ManifestName)
			actID := "#run/" + path.Join(m.Dataset, m.Stage, m.RunID)
			g.add(map[string]any{
				"@id": actID, "@type": "CreateAction",
				"name":         fmt.Sprintf("takedown %s of %s (run %s)", m.Stage, m.Dataset, m.RunID),
				"identifier":   m.RunID,
				"instrument":   id(swID),
				"object":       nonNil(object),
				"result":       nonNil(result),
				"startTime":    m.Timings.StartedAt,
				"endTime":      m.Timings.FinishedAt,
				"actionStatus": id(completedStatus),
				"agent":        nonNil(agents),
				"subjectOf":    id(mf),
				"description":  fmt.Sprintf("code version %s, revision %s, %s", m.Code.Version, m.Code.Revision, m.Code.GoVersion),
			})
			g.add(map[string]any{"@id": mf, "@type": "File", "name": "manifest of run " + m.RunID, "encodingFormat": "application/json", "about": id(actID)})
			mentions = append(mentions, id(actID))
			if start == "" || m.Timings.StartedAt < start {
				start = m.Timings.StartedAt
			}
			if m.Timings.FinishedAt > end {
				end = m.Timings.FinishedAt
			}
		}
		wfAct := "#workflow-run/" + d.desc.Name
		g.add(map[string]any{
			"@id": wfAct, "@type": "CreateAction",
			"name":       "takedown pipeline on " + d.desc.Name,
			"identifier": d.desc.Name,
			"instrument": id(repoURL),
			"object":     nonNil(append([]ref{id(descFile)}, srcRefs...)),
			"result":     nonNil(wfResults),
			"startTime":  start,
			"endTime":    end,
			"about":      id(dsID),
		})
		mentions = append([]ref{id(wfAct)}, mentions...)
	}
	for _, e := range p.entries {
		if e.name == CrateName {
			continue
		}
		hasPart = append(hasPart, id(e.name))
		if !g.seen[e.name] {
			fe := map[string]any{"@id": e.name, "@type": "File", "name": path.Base(e.name), "encodingFormat": mediaType(e.name)}
			switch e.name {
			case LockName:
				fe["description"] = "takedown.lock: the current run of each stage of the packed datasets, with output and manifest digests"
			case CitationName:
				fe["description"] = "how to cite these results and the datasets (Citation File Format " + CFFVersion + ")"
			default:
				if p.opts.Study != "" && e.name == path.Base(p.opts.Study) {
					fe["description"] = "the study file that names the datasets and parameters"
				}
			}
			if e.data != nil {
				fe["sha256"] = sha(e.data)
				fe["contentSize"] = strconv.Itoa(len(e.data))
			}
			g.add(fe)
		}
	}
	sort.SliceStable(hasPart[1:], func(i, j int) bool { return hasPart[1+i]["@id"] < hasPart[1+j]["@id"] })
	root["hasPart"] = hasPart
	root["mentions"] = nonNil(mentions)
	root["citation"] = nonNil(citations)
	doc := map[string]any{
		"@context": []string{crateContext, workflowRunContext},
		"@graph":   g.entities,
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func nonNil(r []ref) []ref {
	if r == nil {
		return []ref{}
	}
	return r
}

// propertyValues turns a run's parameters (a JSON object) into one
// PropertyValue per top-level key, an example of the stage's
// FormalParameter of that name; a value that is not a string is its JSON
// text. additionalType (the FormalParameter's) is taken from the JSON kind.
func propertyValues(m *store.Manifest, swID string) ([]map[string]any, error) {
	var params map[string]json.RawMessage
	if len(m.Params) > 0 && string(m.Params) != "null" {
		if err := json.Unmarshal(m.Params, &params); err != nil {
			return nil, fmt.Errorf("run %s: parameters are not a JSON object: %w", m.RunID, err)
		}
	}
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []map[string]any
	for _, k := range keys {
		raw := strings.TrimSpace(string(params[k]))
		v, kind := raw, "Text"
		var s string
		switch {
		case json.Unmarshal(params[k], &s) == nil:
			v = s
		case raw == "true" || raw == "false":
			kind = "Boolean"
		case strings.HasPrefix(raw, "{"):
			kind = "PropertyValue"
		case strings.HasPrefix(raw, "[") || raw == "null":
		case strings.ContainsAny(raw, ".eE"):
			kind = "Float"
		default:
			kind = "Integer"
		}
		out = append(out, map[string]any{
			"@id":   fmt.Sprintf("#param/%s/%s", m.RunID, k),
			"@type": "PropertyValue", "name": k, "value": v,
			"exampleOfWork":  id(swID + "/param/" + k),
			"additionalType": kind,
		})
	}
	return out, nil
}
