// Package study reads a study file (takedown.yaml): a paper's datasets and
// the parameters of every stage, global and per dataset, with optional
// named variants and sweeps whose runs all stay addressable. It turns the
// file into jobs, one per dataset and variant, each with its whole
// parameter set; the runner runs them as it runs flags. Every problem is a
// usage error naming the file, line and key.
package study

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/token"

	"github.com/takedown-research/takedown/datasets"
	"github.com/takedown-research/takedown/internal/errkind"
	"github.com/takedown-research/takedown/internal/runner"
)

// FileName is the study file a folder's commands look for.
const FileName = "takedown.yaml"

// ErrStudy is a study file that cannot be used: the message names the
// file, line and key.
var ErrStudy = errkind.New(errkind.Usage, "study file")

// Study is a parsed, checked study file.
type Study struct {
	Path   string // the file, absolute
	SHA256 string // of its bytes
	Name   string
	// Datasets in the order of the file, each with its parameters (the
	// study's, then the dataset's own on top).
	Datasets []Dataset
	// Variants in the order of the file: named variants first, then the
	// points of the sweep.
	Variants []Variant
}

// Dataset is one dataset of a study.
type Dataset struct {
	Name string
	// Local is the descriptor to register for a dataset given by its
	// files; nil for a registry dataset.
	Local  *datasets.Descriptor
	Params runner.Params
}

// Variant is a named parameter set applied over every dataset's own.
type Variant struct {
	Name string
	// Params per dataset name.
	Params map[string]runner.Params
}

// Job is one run of a study: a dataset under the study's parameters
// (Variant "") or under a variant.
type Job struct {
	Dataset string
	Variant string
	Params  runner.Params
}

// Jobs lists the runs of the study: every dataset, then every variant of
// every dataset.
func (s *Study) Jobs() []Job {
	var out []Job
	for _, d := range s.Datasets {
		out = append(out, Job{Dataset: d.Name, Params: d.Params})
	}
	for _, v := range s.Variants {
		for _, d := range s.Datasets {
			out = append(out, Job{Dataset: d.Name, Variant: v.Name, Params: v.Params[d.Name]})
		}
	}
	return out
}

// Find returns the study file of a folder (dir/takedown.yaml), or "" when
// there is none.
func Find(dir string) string {
	p := filepath.Join(dir, FileName)
	if _, err := os.Stat(p); err == nil {
		return p
	}
	return ""
}

type rawStudy struct {
	Name     string       `yaml:"name"`
	Datasets []rawDataset `yaml:"datasets"`
	Params   ast.Node     `yaml:"params"`
	Variants ast.Node     `yaml:"variants"`
	Sweep    ast.Node     `yaml:"sweep"`
}

type rawDataset struct {
	Name   string    `yaml:"name"`
	Title  string    `yaml:"title"`
	Format string    `yaml:"format"`
	Map    string    `yaml:"map"`
	Files  []rawFile `yaml:"files"`
	Params ast.Node  `yaml:"params"`
}

type rawFile struct {
	Path   string `yaml:"path"`
	SHA256 string `yaml:"sha256"`
}

var (
	hexDigest   = regexp.MustCompile(`^[0-9a-f]{64}$`)
	variantName = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)
	// derived are parameters the runner sets from others or from the
	// dataset: a study cannot set them.
	derived = map[string]string{
		"fingerprint.normalizer_version": "the version of the text rules",
		"fingerprint.minhash":            "set when cluster.signals has near_text",
		"fingerprint.toolkit":            "set when cluster.compat is cnt",
		"summarize.published":            "taken from the dataset's descriptor",
	}
)

// Load reads and checks the study file at path. Local dataset files are
// resolved against the file's folder; their sha256 is checked when the
// jobs run (by fetch), not here.
func Load(path string) (*Study, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	src, err := os.ReadFile(abs)
	if err != nil {
		return nil, fmt.Errorf("%w: %w (`takedown study init` writes a starting %s)", ErrStudy, err, FileName)
	}
	sum := sha256.Sum256(src)
	p := &parser{path: path, src: src}
	var raw rawStudy
	if err := yaml.UnmarshalWithOptions(src, &raw, yaml.Strict()); err != nil {
		return nil, p.yamlErr(err, "")
	}
	s := &Study{Path: abs, SHA256: hex.EncodeToString(sum[:]), Name: raw.Name}
	if s.Name == "" {
		return nil, p.errf(nil, "the study has no name: add `name: my-study` at the top")
	}
	if len(raw.Datasets) == 0 {
		return nil, p.errf(nil, "the study names no datasets: add a `datasets:` list (e.g. `- name: demo`)")
	}
	global := runner.DefaultParams()
	if err := p.decodeParams(raw.Params, &global, "params"); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for i, rd := range raw.Datasets {
		where := fmt.Sprintf("datasets[%d]", i)
		if rd.Name == "" {
			return nil, p.errf(nil, "%s has no name", where)
		}
		if err := datasets.ValidateName(rd.Name); err != nil {
			return nil, p.errf(nil, "%s: %v", where, err)
		}
		if seen[rd.Name] {
			return nil, p.errf(nil, "%s: dataset %s is listed twice: give each dataset once (variants and sweeps give it other parameters)", where, rd.Name)
		}
		seen[rd.Name] = true
		d := Dataset{Name: rd.Name, Params: global}
		if len(rd.Files) == 0 {
			if rd.Format != "" || rd.Title != "" || rd.Map != "" {
				return nil, p.errf(nil, "%s (%s): format, map and title are for local datasets given by their files", where, rd.Name)
			}
			if _, err := datasets.Get(rd.Name); err != nil {
				return nil, p.errf(nil, "%s: %v; a dataset of your own needs `files:` (path and sha256 of each)", where, err)
			}
		} else {
			local, err := p.localDataset(filepath.Dir(abs), where, rd)
			if err != nil {
				return nil, err
			}
			d.Local = local
		}
		if err := p.decodeParams(rd.Params, &d.Params, where+".params"); err != nil {
			return nil, err
		}
		if err := validate(d.Params); err != nil {
			return nil, p.errf(firstNode(rd.Params, raw.Params), "parameters of dataset %s: %v", rd.Name, err)
		}
		s.Datasets = append(s.Datasets, d)
	}
	if err := p.variants(s, raw); err != nil {
		return nil, err
	}
	return s, nil
}

func firstNode(nodes ...ast.Node) ast.Node {
	for _, n := range nodes {
		if n != nil {
			return n
		}
	}
	return nil
}

// validate runs the runner's checks of a parameter set.
func validate(p runner.Params) error {
	err := p.Validate()
	if err == nil {
		return nil
	}
	// The runner's message starts with its kind; keep what follows.
	msg := err.Error()
	if _, after, ok := strings.Cut(msg, ": "); ok {
		msg = after
	}
	return errors.New(msg)
}

func (p *parser) localDataset(dir, where string, rd rawDataset) (*datasets.Descriptor, error) {
	format := rd.Format
	if format == "" {
		format = "auto"
		if rd.Map != "" {
			format = "generic"
		}
	}
	if err := datasets.ValidateFormat(format); err != nil {
		return nil, p.errf(nil, "%s (%s): %v", where, rd.Name, err)
	}
	if rd.Map != "" {
		prm := runner.DefaultParams()
		prm.Normalize.Format, prm.Normalize.Map = format, rd.Map
		if err := validate(prm); err != nil {
			return nil, p.errf(nil, "%s (%s): %v", where, rd.Name, err)
		}
	}
	d := &datasets.Descriptor{Name: rd.Name, Title: rd.Title, Platform: "local", Format: format, Local: true, Map: rd.Map}
	if d.Title == "" {
		d.Title = rd.Name
	}
	for j, f := range rd.Files {
		fw := fmt.Sprintf("%s.files[%d]", where, j)
		if f.Path == "" {
			return nil, p.errf(nil, "%s has no path", fw)
		}
		if !hexDigest.MatchString(f.SHA256) {
			return nil, p.errf(nil, "%s (%s): sha256 must be the file's 64 lowercase hex digits (`sha256sum %s` prints it); it pins the bytes every rerun must find", fw, f.Path, f.Path)
		}
		path := f.Path
		if !filepath.IsAbs(path) {
			path = filepath.Join(dir, path)
		}
		d.Files = append(d.Files, datasets.File{Name: filepath.Base(path), Role: datasets.RoleOf(path), SHA256: f.SHA256, Path: path})
	}
	return d, nil
}

// variants reads the named variants and the sweep.
func (p *parser) variants(s *Study, raw rawStudy) error {
	names := map[string]bool{}
	add := func(n ast.Node, name string, apply func(*runner.Params) error) error {
		if !variantName.MatchString(name) {
			return p.errf(n, "variant %q: use lowercase letters, digits, '.', '_' and '-'", name)
		}
		if names[name] {
			return p.errf(n, "variant %s is given twice", name)
		}
		names[name] = true
		v := Variant{Name: name, Params: map[string]runner.Params{}}
		for _, d := range s.Datasets {
			prm := d.Params
			if err := apply(&prm); err != nil {
				return err
			}
			if err := validate(prm); err != nil {
				return p.errf(n, "variant %s of dataset %s: %v", name, d.Name, err)
			}
			v.Params[d.Name] = prm
		}
		s.Variants = append(s.Variants, v)
		return nil
	}
	if raw.Variants != nil {
		m, ok := mapping(raw.Variants)
		if !ok {
			return p.errf(raw.Variants, "variants must map names to parameters (e.g. `strict: {cluster: {min_weight: 3}}`)")
		}
		for _, kv := range m.Values {
			name := kv.Key.String()
			if err := add(kv.Key, name, func(prm *runner.Params) error {
				return p.decodeParams(kv.Value, prm, "variants."+name)
			}); err != nil {
				return err
			}
		}
	}
	if raw.Sweep == nil {
		return nil
	}
	m, ok := mapping(raw.Sweep)
	if !ok {
		return p.errf(raw.Sweep, "sweep must map stage.parameter to a list of values (e.g. `cluster.window_seconds: [10, 60, 300]`)")
	}
	type axis struct {
		key    *ast.MappingValueNode
		stage  string
		param  string
		values []ast.Node
	}
	var axes []axis
	for _, kv := range m.Values {
		key := kv.Key.String()
		stage, param, ok := strings.Cut(key, ".")
		if !ok || !slices.Contains(runner.Stages, stage) {
			return p.errf(kv.Key, "sweep key %q: write stage.parameter, e.g. cluster.window_seconds (stages: %s)", key, strings.Join(runner.Stages, ", "))
		}
		seq, ok := kv.Value.(*ast.SequenceNode)
		if !ok || len(seq.Values) == 0 {
			return p.errf(kv.Value, "sweep %s: give a list of values, e.g. [10, 60, 300]", key)
		}
		axes = append(axes, axis{kv, stage, param, seq.Values})
	}
	// The cartesian product, first axis slowest.
	idx := make([]int, len(axes))
	for {
		var parts []string
		var overlays []string
		for i, a := range axes {
			v := a.values[idx[i]]
			val := strings.TrimSpace(v.String())
			parts = append(parts, a.param+"-"+strings.Trim(val, `"'`))
			overlays = append(overlays, fmt.Sprintf("%s:\n  %s: %s\n", a.stage, a.param, val))
		}
		name := strings.Join(parts, "_")
		first := axes[0].values[idx[0]]
		if err := add(first, name, func(prm *runner.Params) error {
			for i, o := range overlays {
				if err := p.decodeText(o, prm, axes[i].values[idx[i]], "sweep."+axes[i].stage+"."+axes[i].param); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return err
		}
		i := len(idx) - 1
		for i >= 0 {
			idx[i]++
			if idx[i] < len(axes[i].values) {
				break
			}
			idx[i] = 0
			i--
		}
		if i < 0 {
			return nil
		}
	}
}

func mapping(n ast.Node) (*ast.MappingNode, bool) {
	switch m := n.(type) {
	case *ast.MappingNode:
		return m, true
	case *ast.MappingValueNode:
		return &ast.MappingNode{Values: []*ast.MappingValueNode{m}}, true
	}
	return nil, false
}

type parser struct {
	path string
	src  []byte
}

// decodeParams decodes a params node (stage -> parameter -> value) onto prm.
func (p *parser) decodeParams(n ast.Node, prm *runner.Params, where string) error {
	if n == nil {
		return nil
	}
	m, ok := mapping(n)
	if !ok {
		return p.errf(n, "%s must map stage names to their parameters (e.g. `cluster: {window_seconds: 60}`)", where)
	}
	for _, kv := range m.Values {
		stage := kv.Key.String()
		if !slices.Contains(runner.Stages, stage) {
			return p.errf(kv.Key, "%s: unknown stage %q (stages: %s)", where, stage, strings.Join(runner.Stages, ", "))
		}
		if sm, ok := mapping(kv.Value); ok {
			for _, pv := range sm.Values {
				if why, ok := derived[stage+"."+pv.Key.String()]; ok {
					return p.errf(pv.Key, "%s.%s.%s is not a parameter (%s)", where, stage, pv.Key.String(), why)
				}
			}
		}
	}
	if err := yaml.NodeToValue(n, prm, yaml.Strict()); err != nil {
		return p.yamlErr(err, where)
	}
	return nil
}

// decodeText decodes a generated params text onto prm; errors point at at.
func (p *parser) decodeText(text string, prm *runner.Params, at ast.Node, where string) error {
	if err := yaml.UnmarshalWithOptions([]byte(text), prm, yaml.Strict()); err != nil {
		msg := err.Error()
		var ye interface{ GetMessage() string }
		if errors.As(err, &ye) {
			msg = ye.GetMessage()
		}
		return p.errf(at, "%s: %s", where, msg)
	}
	return nil
}

// yamlErr turns a go-yaml error into one naming file:line:column.
func (p *parser) yamlErr(err error, where string) error {
	var ye interface {
		GetToken() *token.Token
		GetMessage() string
	}
	if errors.As(err, &ye) && ye.GetToken() != nil {
		pos := ye.GetToken().Position
		msg := ye.GetMessage()
		if key := p.keyAt(pos.Line, pos.Column); key != "" && !strings.Contains(msg, key) {
			msg = fmt.Sprintf("%s: %s", key, msg)
		}
		if where != "" {
			msg = where + ": " + msg
		}
		return fmt.Errorf("%w: %s:%d:%d: %s%s", ErrStudy, p.path, pos.Line, pos.Column, msg, hint(msg))
	}
	return fmt.Errorf("%w: %s: %v", ErrStudy, p.path, err)
}

// keyAt is the mapping key written before column col of a line of the
// file (the key of the value there), or "".
func (p *parser) keyAt(line, col int) string {
	lines := strings.Split(string(p.src), "\n")
	if line < 1 || line > len(lines) {
		return ""
	}
	l := lines[line-1]
	if col >= 1 && col-1 <= len(l) {
		l = l[:col-1]
	}
	l = strings.TrimRight(l, " ")
	if !strings.HasSuffix(l, ":") {
		// The token is the key itself (an unknown field).
		return ""
	}
	l = strings.TrimSuffix(l, ":")
	if k := strings.LastIndexAny(l, " {,-"); k >= 0 {
		l = l[k+1:]
	}
	return l
}

// hint adds what to do for the common mistakes.
func hint(msg string) string {
	if strings.Contains(msg, "unknown field") {
		return " (docs/study.md lists every key; parameter names are those of the run manifests, e.g. window_seconds, min_weight)"
	}
	return ""
}

// errf is an ErrStudy error at node n (or the file when n is nil).
func (p *parser) errf(n ast.Node, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if n != nil && n.GetToken() != nil {
		pos := n.GetToken().Position
		return fmt.Errorf("%w: %s:%d:%d: %s", ErrStudy, p.path, pos.Line, pos.Column, msg)
	}
	if line := p.lineOf(msg); line > 0 {
		return fmt.Errorf("%w: %s:%d: %s", ErrStudy, p.path, line, msg)
	}
	return fmt.Errorf("%w: %s: %s", ErrStudy, p.path, msg)
}

// lineOf finds the line of a "datasets[i]" entry a message names, for
// errors found after decoding (the entries' nodes are not kept).
func (p *parser) lineOf(msg string) int {
	i := strings.Index(msg, "datasets[")
	if i < 0 {
		return 0
	}
	j := strings.Index(msg[i:], "]")
	n, err := strconv.Atoi(msg[i+len("datasets[") : i+j])
	if err != nil {
		return 0
	}
	// Walk the file's datasets sequence.
	f, err := parseFile(p.src)
	if err != nil {
		return 0
	}
	if m, ok := mapping(f); ok {
		for _, kv := range m.Values {
			if kv.Key.String() == "datasets" {
				if seq, ok := kv.Value.(*ast.SequenceNode); ok && n < len(seq.Values) {
					return seq.Values[n].GetToken().Position.Line
				}
			}
		}
	}
	return 0
}

func parseFile(src []byte) (ast.Node, error) {
	var n ast.Node
	dec := yaml.NewDecoder(bytes.NewReader(src))
	if err := dec.Decode(&n); err != nil {
		return nil, err
	}
	return n, nil
}
