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

	"github.com/takedown-research/takedown/internal/errkind"
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
		d, err := readLocal(root, name)
		if err == nil {
			return d, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return Descriptor{}, err
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

// File roles: the CSV files normalize reads (users, tweets; other formats
// name theirs: seed, posts), the ground truth of a synthetic release, and
// the media archives.
const (
	RoleUsers  = "users"
	RoleTweets = "tweets"
	RoleTruth  = "truth"
	// RoleMedia marks a zip of the release's media files (images, GIFs,
	// videos named by tweet id). It is fetched only with --media; with
	// it, normalize writes the media table.
	RoleMedia = "media"
)

// mediaName matches the published names of media archives:
// ira_tweet_media_hashed_10.zip (2018) and china_052020_hashed_001.zip
// (2019-2021, in the folder china_052020_tweet_media_hashed).
var mediaName = regexp.MustCompile(`^(.+_tweet_media_hashed_[0-9]+|.+_hashed_[0-9]{3})\.zip$`)

// IsMediaName reports whether a file name is that of a media archive.
func IsMediaName(name string) bool {
	n := strings.ToLower(filepath.Base(name))
	return mediaName.MatchString(n) && !strings.Contains(n, "_csv_")
}

// RoleOfFile is the role of a release's file: the one its descriptor
// gives, else the one its name suggests (RoleOf), as for the files the
// generator writes.
func (d Descriptor) RoleOfFile(name string) string {
	for _, f := range d.Files {
		if f.Name == name {
			return f.Role
		}
	}
	return RoleOf(name)
}

// RoleOf guesses a file's role from its name: media (IsMediaName), truth,
// users or tweets.
func RoleOf(name string) string {
	n := strings.ToLower(filepath.Base(name))
	switch {
	case IsMediaName(n):
		return RoleMedia
	case strings.Contains(n, "truth"):
		return "truth"
	case strings.Contains(n, "user"):
		return "users"
	default:
		return "tweets"
	}
}

// FormatAuto is the descriptor format that lets normalize detect each
// file's format from its header.
const FormatAuto = "auto"

// Formats are the archive formats a descriptor may name: FormatAuto, then
// the formats of the normalize stage, in its detection order (a test of
// cmd/takedown checks that they agree with normalize.Formats).
var Formats = []string{FormatAuto, "twitter-io", "fivethirtyeight", "nbc", "reddit", "cnt", "coortweet", "twarc2", "generic"}

// Errors of AddLocal and RemoveLocal. They are mistakes in a command line.
var (
	// ErrBadFormat means a descriptor names a format not in Formats.
	ErrBadFormat = errkind.New(errkind.Usage, "unknown format")
	// ErrExists means a local dataset of that name exists with other files
	// or another format.
	ErrExists = errkind.New(errkind.Usage, "local dataset already exists")
	// ErrNotLocal means a name is not a local dataset of the workspace.
	ErrNotLocal = errkind.New(errkind.Usage, "not a local dataset")
)

// ValidateFormat checks a descriptor's format against Formats.
func ValidateFormat(format string) error {
	for _, f := range Formats {
		if f == format {
			return nil
		}
	}
	return fmt.Errorf("%w %q: want one of %s", ErrBadFormat, format, strings.Join(Formats, ", "))
}

// AddLocal writes a descriptor for a researcher's own files into the
// workspace at root. Every file is pinned by its sha256, so later fetches
// of the dataset must find the same bytes. It refuses names of the registry
// and formats not in Formats. Adding a name again with the same files (by
// name, role and sha256) and format rewrites the descriptor (the files may
// have moved); with other files or another format it is refused (ErrExists)
// naming both: a descriptor's files are pinned, and runs computed from them
// must not silently change meaning. RemoveLocal frees the name.
func AddLocal(root string, d Descriptor) (string, error) {
	if err := ValidateName(d.Name); err != nil {
		return "", err
	}
	if _, err := Get(d.Name); err == nil {
		return "", fmt.Errorf("dataset %s is in the registry; choose another name for a local dataset", d.Name)
	}
	if err := ValidateFormat(d.Format); err != nil {
		return "", fmt.Errorf("dataset %s: %w", d.Name, err)
	}
	if len(d.Files) == 0 {
		return "", fmt.Errorf("dataset %s: no files given", d.Name)
	}
	if old, err := readLocal(root, d.Name); err == nil {
		if err := sameContent(old, d); err != nil {
			return "", err
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	p := localPath(root, d.Name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return "", err
	}
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return "", err
	}
	// A temporary file of its own: tasks of a scheduler that run a study's
	// datasets at once in one workspace each write the same descriptors.
	f, err := os.CreateTemp(filepath.Dir(p), filepath.Base(p)+".*.tmp")
	if err != nil {
		return "", err
	}
	tmp := f.Name()
	_, err = f.Write(append(b, '\n'))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, 0o644)
	}
	if err == nil {
		err = os.Rename(tmp, p)
	}
	if err != nil {
		os.Remove(tmp)
		return "", err
	}
	return p, nil
}

// readLocal reads the local descriptor of name; fs.ErrNotExist when there
// is none.
func readLocal(root, name string) (Descriptor, error) {
	b, err := os.ReadFile(localPath(root, name))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return Descriptor{}, err
		}
		return Descriptor{}, fmt.Errorf("local dataset %s: %w", name, err)
	}
	var d Descriptor
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		return Descriptor{}, fmt.Errorf("local dataset %s: %w", localPath(root, name), err)
	}
	return d, nil
}

// sameContent reports, as an ErrExists error, how d differs from the
// descriptor old of the same name: its files (name, role, sha256, in any
// order) or its format. Paths, title and citation may change.
func sameContent(old, d Descriptor) error {
	key := func(ds Descriptor) []string {
		var out []string
		for _, f := range ds.Files {
			out = append(out, f.Name+" "+f.Role+" "+f.SHA256)
		}
		sort.Strings(out)
		return out
	}
	if old.Format == d.Format && old.Map == d.Map && strings.Join(key(old), "\n") == strings.Join(key(d), "\n") {
		return nil
	}
	list := func(ds Descriptor) string {
		var out []string
		for _, f := range ds.Files {
			out = append(out, fmt.Sprintf("%s (%s, sha256 %.12s)", f.Name, f.Role, f.SHA256))
		}
		return strings.Join(out, ", ")
	}
	what := "other files"
	if old.Format != d.Format {
		what = fmt.Sprintf("another format (it has %s, this add gives %s)", old.Format, d.Format)
		if strings.Join(key(old), "\n") != strings.Join(key(d), "\n") {
			what = "other files and " + what
		}
	} else if old.Map != d.Map {
		what = fmt.Sprintf("another column map (it has %q, this add gives %q)", old.Map, d.Map)
		if strings.Join(key(old), "\n") != strings.Join(key(d), "\n") {
			what = "other files and " + what
		}
	}
	return fmt.Errorf("%w: %s has %s: it has %s; this add gives %s. To replace it, remove it first (takedown datasets remove %s), or add these files under another name",
		ErrExists, d.Name, what, list(old), list(d), d.Name)
}

// RemoveLocal removes the local descriptor of name from the workspace at
// root. Fetched files and runs stay (they are keyed by content); the name
// can then be added again.
func RemoveLocal(root, name string) (string, error) {
	if err := ValidateName(name); err != nil {
		return "", err
	}
	p := localPath(root, name)
	if err := os.Remove(p); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			if _, err := Get(name); err == nil {
				return "", fmt.Errorf("%w: %s is a registry release (only datasets added with takedown datasets add can be removed)", ErrNotLocal, name)
			}
			return "", fmt.Errorf("%w: this workspace has no %s (takedown datasets list shows the local datasets)", ErrNotLocal, name)
		}
		return "", err
	}
	return p, nil
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
