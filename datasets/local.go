package datasets

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// LocalDir is the folder of a workspace that holds local descriptors.
const LocalDir = "datasets"

var validName = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*(/[a-z0-9][a-z0-9._-]*)*$`)

// ValidateName checks a dataset name: lowercase words of [a-z0-9._-]
// separated by single slashes, like "twitter-io/ira-2018-10".
func ValidateName(name string) error {
	if !validName.MatchString(name) || strings.Contains(name, "..") {
		return fmt.Errorf("dataset name %q: use lowercase letters, digits, '.', '_', '-' and '/' between words (e.g. local/my-release)", name)
	}
	return nil
}

func localPath(root, name string) string {
	return filepath.Join(root, LocalDir, filepath.FromSlash(name)+".json")
}

// Lookup finds a dataset in the workspace at root (local descriptors written
// by AddLocal) or else in the registry.
func Lookup(root, name string) (Descriptor, error) {
	if err := ValidateName(name); err == nil {
		b, err := os.ReadFile(localPath(root, name))
		if err == nil {
			var d Descriptor
			dec := json.NewDecoder(bytes.NewReader(b))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&d); err != nil {
				return Descriptor{}, fmt.Errorf("local dataset %s: %w", localPath(root, name), err)
			}
			return d, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return Descriptor{}, fmt.Errorf("local dataset %s: %w", name, err)
		}
	}
	d, err := Get(name)
	if err != nil && errors.Is(err, ErrUnknown) {
		if local, _ := ListLocal(root); len(local) > 0 {
			names := make([]string, len(local))
			for i, l := range local {
				names[i] = l.Name
			}
			if near := Nearest(name, names, 3); len(near) > 0 {
				return Descriptor{}, fmt.Errorf("%w (local datasets near it: %s)", err, strings.Join(near, ", "))
			}
		}
	}
	return d, err
}

// ListLocal returns the local descriptors of the workspace at root, sorted.
func ListLocal(root string) ([]Descriptor, error) {
	var out []Descriptor
	base := filepath.Join(root, LocalDir)
	err := filepath.WalkDir(base, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if e.IsDir() || !strings.HasSuffix(p, ".json") {
			return nil
		}
		rel, _ := filepath.Rel(base, strings.TrimSuffix(p, ".json"))
		d, err := Lookup(root, filepath.ToSlash(rel))
		if err != nil {
			return err
		}
		out = append(out, d)
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, err
}

// RoleOf guesses a file's role from its name: users, tweets or truth.
func RoleOf(name string) string {
	n := strings.ToLower(filepath.Base(name))
	switch {
	case strings.Contains(n, "truth"):
		return "truth"
	case strings.Contains(n, "user"):
		return "users"
	default:
		return "tweets"
	}
}

// AddLocal writes a descriptor for a researcher's own files into the
// workspace at root. Every file is pinned by its sha256, so later fetches
// of the dataset must find the same bytes. It refuses names of the registry.
func AddLocal(root string, d Descriptor) (string, error) {
	if err := ValidateName(d.Name); err != nil {
		return "", err
	}
	if _, err := Get(d.Name); err == nil {
		return "", fmt.Errorf("dataset %s is in the registry; choose another name for a local dataset", d.Name)
	}
	if len(d.Files) == 0 {
		return "", fmt.Errorf("dataset %s: no files given", d.Name)
	}
	p := localPath(root, d.Name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return "", err
	}
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return "", err
	}
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return "", err
	}
	return p, os.Rename(tmp, p)
}

// HasPaths reports whether every file of the descriptor has a local path,
// as the descriptors written by AddLocal do.
func (d Descriptor) HasPaths() bool {
	for _, f := range d.Files {
		if f.Path == "" {
			return false
		}
	}
	return len(d.Files) > 0
}
