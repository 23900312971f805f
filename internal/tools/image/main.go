// Command image writes a minimal OCI image of the takedown binary, without a
// container daemon, as an OCI image layout packed in one tar file:
//
//	CGO_ENABLED=0 go build -trimpath -o build/takedown ./cmd/takedown
//	go run ./internal/tools/image -binary build/takedown -out build/takedown-oci.tar
//
// (`just image` does both.) The image has one layer: /usr/local/bin/takedown
// (the static binary, the entrypoint), /etc/ssl/certs/ca-certificates.crt (for fetch's
// HTTPS downloads), an empty /tmp (mode 1777) and /work (the working
// directory, where the default workspace ./takedown-work lands; mount a volume
// there). It runs as uid/gid 65534. Every timestamp is zero and the layer is
// built from sorted entries, so the same binary and certificates give the same
// image digest. Load it with `skopeo copy oci-archive:build/takedown-oci.tar
// docker-daemon:takedown:dev`, `podman load -i build/takedown-oci.tar`, or
// push it with `crane push build/takedown-oci.tar REF` after unpacking; see
// docs/scale.md.
package main

import (
	"archive/tar"
	"bytes"
	"cmp"
	"compress/gzip"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Options say what goes into the image.
type Options struct {
	Binary string // the static takedown binary
	Certs  string // a PEM bundle of CA certificates
	Out    string // the OCI layout tar file to write
	Arch   string // GOARCH the binary was built for
	Ref    string // the image's ref name annotation, e.g. takedown:dev
	// Level is the layer's gzip level (0: gzip.DefaultCompression).
	Level int
}

func main() {
	var o Options
	flag.StringVar(&o.Binary, "binary", "build/takedown", "the static takedown binary (CGO_ENABLED=0)")
	flag.StringVar(&o.Certs, "certs", "/etc/ssl/certs/ca-certificates.crt", "PEM bundle of CA certificates (Debian: apt-get install ca-certificates)")
	flag.StringVar(&o.Out, "out", "build/takedown-oci.tar", "OCI image layout tar file to write")
	flag.StringVar(&o.Arch, "arch", runtime.GOARCH, "GOARCH the binary was built for")
	flag.StringVar(&o.Ref, "ref", "takedown:dev", "image reference name recorded in the layout's index")
	flag.Parse()
	d, err := Build(o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
	fmt.Printf("wrote %s: OCI image layout, manifest %s (linux/%s)\n", o.Out, d, o.Arch)
}

// Paths inside the image.
const (
	BinaryPath = "usr/local/bin/takedown"
	CertsPath  = "etc/ssl/certs/ca-certificates.crt"
	WorkDir    = "/work"
	nobody     = 65534
)

// Config is the image's run configuration; the Dockerfile beside the
// justfile sets the same (a test compares them).
func Config() v1.Config {
	return v1.Config{
		Entrypoint: []string{"/" + BinaryPath},
		Cmd:        []string{"--help"},
		Env: []string{
			"PATH=/usr/local/bin",
			"SSL_CERT_FILE=/" + CertsPath,
			"TMPDIR=/tmp",
			"HOME=" + WorkDir,
		},
		WorkingDir: WorkDir,
		User:       fmt.Sprintf("%d:%d", nobody, nobody),
		Volumes:    map[string]struct{}{WorkDir: {}},
		Labels: map[string]string{
			"org.opencontainers.image.title":       "takedown",
			"org.opencontainers.image.description": "reproducible pipeline for published platform takedown archives",
			"org.opencontainers.image.source":      "https://github.com/takedown-research/takedown",
		},
	}
}

// Build writes the image and returns its manifest digest.
func Build(o Options) (v1.Hash, error) {
	bin, err := os.ReadFile(o.Binary)
	if err != nil {
		return v1.Hash{}, fmt.Errorf("binary: %w (build it with CGO_ENABLED=0 go build -o %s ./cmd/takedown)", err, o.Binary)
	}
	certs, err := os.ReadFile(o.Certs)
	if err != nil {
		return v1.Hash{}, fmt.Errorf("certificates: %w (on Debian: apt-get install ca-certificates, or pass -certs)", err)
	}
	layerTar, err := rootfs([]entry{
		{name: "etc/", dir: true, mode: 0o755},
		{name: "etc/ssl/", dir: true, mode: 0o755},
		{name: "etc/ssl/certs/", dir: true, mode: 0o755},
		{name: CertsPath, mode: 0o644, data: certs},
		{name: "tmp/", dir: true, mode: 0o1777},
		{name: "usr/", dir: true, mode: 0o755},
		{name: "usr/local/", dir: true, mode: 0o755},
		{name: "usr/local/bin/", dir: true, mode: 0o755},
		{name: BinaryPath, mode: 0o755, data: bin},
		{name: "work/", dir: true, mode: 0o777},
	})
	if err != nil {
		return v1.Hash{}, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	}, tarball.WithMediaType(types.OCILayer), tarball.WithCompressionLevel(cmp.Or(o.Level, gzip.DefaultCompression)))
	if err != nil {
		return v1.Hash{}, fmt.Errorf("layer: %w", err)
	}
	base := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	base = mutate.ConfigMediaType(base, types.OCIConfigJSON)
	img, err := mutate.Append(base, mutate.Addendum{
		Layer:     layer,
		MediaType: types.OCILayer,
		History:   v1.History{CreatedBy: "takedown internal/tools/image", Created: v1.Time{Time: time.Unix(0, 0).UTC()}},
	})
	if err != nil {
		return v1.Hash{}, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return v1.Hash{}, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", o.Arch
	cf.Created = v1.Time{Time: time.Unix(0, 0).UTC()}
	cf.Config = Config()
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return v1.Hash{}, err
	}
	digest, err := img.Digest()
	if err != nil {
		return v1.Hash{}, err
	}
	dir, err := os.MkdirTemp(filepath.Dir(o.Out), ".oci-layout-")
	if err != nil {
		return v1.Hash{}, err
	}
	defer os.RemoveAll(dir)
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return v1.Hash{}, fmt.Errorf("layout: %w", err)
	}
	err = p.AppendImage(img,
		layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": o.Ref}),
		layout.WithPlatform(v1.Platform{OS: "linux", Architecture: o.Arch}))
	if err != nil {
		return v1.Hash{}, fmt.Errorf("layout: %w", err)
	}
	if err := packDir(dir, o.Out); err != nil {
		return v1.Hash{}, err
	}
	return digest, nil
}

// entry is one file or directory of the image's file system.
type entry struct {
	name string
	dir  bool
	mode int64
	data []byte
}

// rootfs returns the layer: a tar of the entries, owned by root, with zero
// times.
func rootfs(es []entry) ([]byte, error) {
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, e := range es {
		h := &tar.Header{Name: e.name, Mode: e.mode, ModTime: time.Unix(0, 0), Format: tar.FormatPAX}
		if e.dir {
			h.Typeflag = tar.TypeDir
		} else {
			h.Typeflag = tar.TypeReg
			h.Size = int64(len(e.data))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(e.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// packDir writes the files under dir into a tar at out, sorted by path,
// with zero times, so the same layout gives the same bytes.
func packDir(dir, out string) error {
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != dir {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return err
	}
	slices.Sort(files)
	tmp := out + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(f)
	werr := func() error {
		for _, p := range files {
			rel, _ := filepath.Rel(dir, p)
			rel = filepath.ToSlash(rel)
			st, err := os.Stat(p)
			if err != nil {
				return err
			}
			h := &tar.Header{Name: rel, Mode: 0o644, ModTime: time.Unix(0, 0), Format: tar.FormatPAX}
			if st.IsDir() {
				h.Typeflag, h.Name, h.Mode = tar.TypeDir, rel+"/", 0o755
				if err := tw.WriteHeader(h); err != nil {
					return err
				}
				continue
			}
			h.Typeflag, h.Size = tar.TypeReg, st.Size()
			if err := tw.WriteHeader(h); err != nil {
				return err
			}
			src, err := os.Open(p)
			if err != nil {
				return err
			}
			_, err = io.Copy(tw, src)
			src.Close()
			if err != nil {
				return err
			}
		}
		return tw.Close()
	}()
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		os.Remove(tmp)
		return errors.Join(errors.New("write "+out), werr)
	}
	return os.Rename(tmp, out)
}
