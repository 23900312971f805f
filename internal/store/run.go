package store

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Run is a published run as found on disk: its directory, the id that
// directory is named by, its manifest and the sha256 of the manifest file's
// bytes. ReadRun is the only way to get one from disk, and it checks that
// the manifest describes that directory, so a Run's ID is always the
// directory's name.
type Run struct {
	Dataset        string
	Stage          string
	ID             string
	Dir            string
	Manifest       *Manifest
	ManifestSHA256 string
}

// ReadRun reads the run runs/<dataset>/<stage>/<id> and checks its manifest:
// that it parses, has a known version, names this dataset, stage and run id,
// and (when it records its run version) that its own dataset, stage,
// version, parameters and inputs hash to that run id. A missing directory
// gives an error wrapping fs.ErrNotExist; any other problem one wrapping
// ErrDamaged that says what is wrong. Output files are not hashed here: see
// CheckOutputs.
func (w *Workspace) ReadRun(dataset, stage, id string) (*Run, error) {
	dir := w.RunDir(dataset, stage, id)
	p := filepath.Join(dir, ManifestName)
	if w.remote != nil {
		// On object storage a run exists when its manifest does: it is
		// uploaded last (remote.go).
		p = dir + "/" + ManifestName
		if _, err := Stat(p); err != nil {
			return nil, fmt.Errorf("run %s of %s %s: %w", id, dataset, stage, err)
		}
	} else if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("run %s of %s %s: %w", id, dataset, stage, err)
	}
	b, err := readPath(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s: manifest.json missing", ErrDamaged, dir)
		}
		return nil, fmt.Errorf("%w: %s: %w", ErrDamaged, dir, err)
	}
	sum := sha256.Sum256(b)
	m, err := decodeManifest(p, b)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrDamaged, err)
	}
	if why := m.describes(dataset, stage, id); why != "" {
		return nil, fmt.Errorf("%w: %s: %s", ErrDamaged, p, why)
	}
	return &Run{Dataset: dataset, Stage: stage, ID: id, Dir: dir, Manifest: m, ManifestSHA256: hex.EncodeToString(sum[:])}, nil
}

// describes says why m is not the manifest of run id of dataset's stage, or
// "" when it is.
func (m *Manifest) describes(dataset, stage, id string) string {
	switch {
	case m.RunID != id:
		return fmt.Sprintf("manifest says run id %q, its directory is %s", m.RunID, id)
	case m.Dataset != dataset || m.Stage != stage:
		return fmt.Sprintf("manifest says %s %s, its directory is under %s/%s", m.Dataset, m.Stage, dataset, stage)
	case m.RunVersion == "":
		return ""
	}
	again, err := RunID(m.Dataset, m.Stage, m.RunVersion, m.Params, m.Inputs)
	if err != nil {
		return fmt.Sprintf("manifest parameters do not encode: %v", err)
	}
	if again != id {
		return fmt.Sprintf("manifest edited: its parameters and inputs hash to run id %s, not %s", again, id)
	}
	return ""
}

// ManifestSHA256 returns the sha256 of the manifest file of the run in dir.
func ManifestSHA256(dir string) (string, error) {
	d, _, err := FileDigest(filepath.Join(dir, ManifestName))
	return d, err
}

// decodeManifest parses manifest bytes read from p.
func decodeManifest(p string, b []byte) (*Manifest, error) {
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("read manifest %s: %w", p, err)
	}
	if m.ManifestVersion != ManifestVersion {
		return nil, fmt.Errorf("read manifest %s: %w %d (this program reads %d)", p, ErrManifestVersion, m.ManifestVersion, ManifestVersion)
	}
	return &m, nil
}
