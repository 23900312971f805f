package bundle

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// CFFVersion is the Citation File Format version of CITATION.cff.
const CFFVersion = "1.2.0"

// cff is a CITATION.cff (https://citation-file-format.github.io/), with the
// keys in the order they are written.
type cff struct {
	CFFVersion   string          `yaml:"cff-version"`
	Message      string          `yaml:"message"`
	Type         string          `yaml:"type"`
	Title        string          `yaml:"title"`
	Abstract     string          `yaml:"abstract,omitempty"`
	Authors      []cffPerson     `yaml:"authors"`
	DateReleased string          `yaml:"date-released,omitempty"`
	License      string          `yaml:"license,omitempty"`
	Keywords     []string        `yaml:"keywords,omitempty"`
	Identifiers  []cffIdentifier `yaml:"identifiers,omitempty"`
	References   []cffReference  `yaml:"references,omitempty"`
}

type cffPerson struct {
	FamilyNames string `yaml:"family-names,omitempty"`
	GivenNames  string `yaml:"given-names,omitempty"`
	Name        string `yaml:"name,omitempty"`
}

type cffIdentifier struct {
	Type        string `yaml:"type"`
	Value       string `yaml:"value"`
	Description string `yaml:"description,omitempty"`
}

type cffReference struct {
	Type     string      `yaml:"type"`
	Title    string      `yaml:"title"`
	Authors  []cffPerson `yaml:"authors"`
	Year     int         `yaml:"year,omitempty"`
	Month    int         `yaml:"month,omitempty"`
	Version  string      `yaml:"version,omitempty"`
	URL      string      `yaml:"url,omitempty"`
	License  string      `yaml:"license,omitempty"`
	Notes    string      `yaml:"notes,omitempty"`
	Abstract string      `yaml:"abstract,omitempty"`
}

// person reads an author: "Family, Given" is a person, anything else a name
// (an entity or a name that is not split).
func person(s string) cffPerson {
	if family, given, ok := strings.Cut(s, ","); ok && strings.TrimSpace(family) != "" && strings.TrimSpace(given) != "" {
		return cffPerson{FamilyNames: strings.TrimSpace(family), GivenNames: strings.TrimSpace(given)}
	}
	return cffPerson{Name: strings.TrimSpace(s)}
}

// defaultAuthor stands for the authors when none is given.
const defaultAuthor = "Anonymous (pass takedown pack --author)"

func (p *packed) title() string {
	if p.opts.Title != "" {
		return p.opts.Title
	}
	var names []string
	for _, d := range p.datasets {
		names = append(names, d.desc.Name)
	}
	return "takedown results for " + strings.Join(names, ", ")
}

func (p *packed) authors() []cffPerson {
	var out []cffPerson
	for _, a := range p.opts.Authors {
		if strings.TrimSpace(a) != "" {
			out = append(out, person(a))
		}
	}
	if len(out) == 0 {
		out = []cffPerson{{Name: defaultAuthor}}
	}
	return out
}

// citation builds CITATION.cff: the results as a dataset, the run ids as
// identifiers, and the datasets and the program as references.
func (p *packed) citation() ([]byte, error) {
	c := cff{
		CFFVersion: CFFVersion,
		Message: "If you use these results, please cite them as below, and cite the datasets they were computed from (references). " +
			"`takedown verify` recomputes every output from the bundle.",
		Type:         "dataset",
		Title:        p.title(),
		Abstract:     "Versioned, byte-reproducible tables and reports computed by takedown from platform takedown archives. Each identifier is the run id of one stage run; the bundle's manifests record its parameters, inputs and outputs by sha256.",
		Authors:      p.authors(),
		DateReleased: p.date,
		License:      p.opts.License,
		Keywords:     []string{"information operations", "coordinated inauthentic behaviour", "takedown", "reproducibility"},
	}
	for _, d := range p.datasets {
		for _, r := range d.runs {
			c.Identifiers = append(c.Identifiers, cffIdentifier{
				Type:        "other",
				Value:       "takedown-run:" + r.m.Dataset + "/" + r.m.Stage + "/" + r.m.RunID,
				Description: fmt.Sprintf("run id of the %s stage (version %s) on dataset %s", r.m.Stage, r.m.RunVersion, r.m.Dataset),
			})
		}
		c.References = append(c.References, datasetReference(d))
	}
	c.References = append(c.References, cffReference{
		Type:    "software",
		Title:   "takedown",
		Authors: []cffPerson{{Name: "The takedown authors"}},
		Version: p.opts.Software.Version,
		URL:     repoURL,
		Notes:   "revision " + p.opts.Software.Revision + ", " + p.opts.Software.GoVersion,
	})
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(c); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return append([]byte("# Citation File Format "+CFFVersion+" (https://citation-file-format.github.io/), written by takedown pack.\n"), buf.Bytes()...), nil
}

func datasetReference(d packedDataset) cffReference {
	desc := d.desc
	author := desc.Publisher
	if author == "" {
		author = desc.Platform
	}
	r := cffReference{
		Type:    "data",
		Title:   desc.Title,
		Authors: []cffPerson{{Name: author}},
		Notes:   strings.TrimSpace("Dataset " + desc.Name + " of the takedown registry. " + desc.Citation),
	}
	if r.Title == "" {
		r.Title = desc.Name
	}
	if len(desc.ReleaseDate) >= 4 {
		r.Year, _ = strconv.Atoi(desc.ReleaseDate[:4])
	}
	if len(desc.ReleaseDate) >= 7 {
		if m, err := strconv.Atoi(desc.ReleaseDate[5:7]); err == nil && m >= 1 && m <= 12 {
			r.Month = m
		}
	}
	if len(desc.Announcements) > 0 {
		r.URL = desc.Announcements[0]
	} else {
		for _, f := range desc.Files {
			if f.URL != "" {
				r.URL = f.URL
				break
			}
		}
	}
	return r
}
