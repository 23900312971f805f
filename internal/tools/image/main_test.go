package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/layout"
)

// TestImage builds the static binary, writes the image twice (same bytes),
// unpacks its layer from the layout as a container runtime would, and runs
// the binary from the unpacked file system: --version, then the demo's
// fetch and status in a fresh workspace.
func TestImage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the takedown binary")
	}
	if runtime.GOOS != "linux" {
		t.Skip("the image is linux; its binary runs here only on linux")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "takedown")
	build := exec.Command(goTool(t), "build", "-o", bin, "./cmd/takedown")
	build.Dir = filepath.Join("..", "..", "..")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	certs := filepath.Join(dir, "certs.pem")
	pem := []byte("-----BEGIN CERTIFICATE-----\nnot a real certificate\n-----END CERTIFICATE-----\n")
	if err := os.WriteFile(certs, pem, 0o644); err != nil {
		t.Fatal(err)
	}
	o := Options{Binary: bin, Certs: certs, Out: filepath.Join(dir, "a.tar"), Arch: runtime.GOARCH, Ref: "takedown:test",
		Level: gzip.BestSpeed}
	d1, err := Build(o)
	if err != nil {
		t.Fatal(err)
	}
	o.Out = filepath.Join(dir, "b.tar")
	d2, err := Build(o)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(filepath.Join(dir, "a.tar"))
	b, _ := os.ReadFile(filepath.Join(dir, "b.tar"))
	if d1 != d2 || !bytes.Equal(a, b) {
		t.Fatalf("two builds differ: manifests %s and %s, %d and %d bytes", d1, d2, len(a), len(b))
	}

	// The layout, as skopeo or podman read it.
	lay := filepath.Join(dir, "layout")
	untar(t, bytes.NewReader(a), lay)
	idx, err := layout.ImageIndexFromPath(lay)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 1 || im.Manifests[0].Annotations["org.opencontainers.image.ref.name"] != "takedown:test" ||
		im.Manifests[0].Digest != d1 {
		t.Fatalf("index: %+v, want one manifest %s named takedown:test", im.Manifests, d1)
	}
	img, err := idx.Image(d1)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(cf.Config.Entrypoint, " "); got != "/usr/local/bin/takedown" || cf.Config.WorkingDir != "/work" ||
		cf.Config.User != "65534:65534" || cf.OS != "linux" || cf.Architecture != runtime.GOARCH {
		t.Errorf("config: entrypoint %q, workdir %q, user %q, %s/%s", got, cf.Config.WorkingDir, cf.Config.User, cf.OS, cf.Architecture)
	}
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("layers: %d, %v; want 1", len(layers), err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(dir, "rootfs")
	untar(t, rc, root)
	rc.Close()

	if got, _ := os.ReadFile(filepath.Join(root, CertsPath)); !bytes.Equal(got, pem) {
		t.Errorf("%s in the image: %q, want the certificates given", CertsPath, got)
	}
	for _, d := range []string{"tmp", "work"} {
		if st, err := os.Stat(filepath.Join(root, d)); err != nil || !st.IsDir() {
			t.Errorf("/%s missing from the image: %v", d, err)
		}
	}
	exe := filepath.Join(root, BinaryPath)
	st, err := os.Stat(exe)
	if err != nil || st.Mode().Perm()&0o111 == 0 {
		t.Fatalf("/%s: %v, mode %v; want an executable", BinaryPath, err, st.Mode())
	}
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(exe, args...)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), cf.Config.Env...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("takedown %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	if out := run("--version"); !strings.HasPrefix(out, "takedown version ") {
		t.Errorf("--version printed %q", out)
	}
	ws := filepath.Join(dir, "ws")
	if out := run("-w", ws, "run", "--to", "fetch"); !strings.Contains(out, "fetch") {
		t.Errorf("run --to fetch printed %q", out)
	}
	out := run("-w", ws, "status")
	for _, want := range []string{"dataset demo", "fetch       current", "normalize   not run"} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
}

func goTool(t *testing.T) string {
	p := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(p); err == nil {
		return p
	}
	p, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to build the binary with")
	}
	return p
}

// untar extracts regular files and directories of a tar stream under dir.
func untar(t *testing.T, r io.Reader, dir string) {
	t.Helper()
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, filepath.FromSlash(h.Name))
		if !strings.HasPrefix(p, filepath.Clean(dir)+string(filepath.Separator)) {
			t.Fatalf("tar entry %q escapes %s", h.Name, dir)
		}
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, os.FileMode(h.Mode)&0o777)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.Copy(f, tr); err != nil {
				t.Fatal(err)
			}
			f.Close()
		default:
			t.Fatalf("tar entry %q of unexpected type %c", h.Name, h.Typeflag)
		}
	}
}

// TestDockerfile: the Dockerfile sets what Config sets.
func TestDockerfile(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	var final []string // the lines of the last stage
	for line := range strings.Lines(string(b)) {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "FROM ") {
			final = nil
		}
		if line != "" && !strings.HasPrefix(line, "#") {
			final = append(final, line)
		}
	}
	c := Config()
	want := []string{
		`ENTRYPOINT ["` + strings.Join(c.Entrypoint, `", "`) + `"]`,
		`CMD ["` + strings.Join(c.Cmd, `", "`) + `"]`,
		"WORKDIR " + c.WorkingDir,
		"USER " + c.User,
		"VOLUME " + WorkDir,
		"COPY --from=build /etc/ssl/certs/ca-certificates.crt /" + CertsPath,
	}
	for _, e := range c.Env {
		want = append(want, "ENV "+e)
	}
	for _, w := range want {
		if !slices.Contains(final, w) {
			t.Errorf("the Dockerfile's final stage lacks %q", w)
		}
	}
	if build := string(b); !strings.Contains(build, "CGO_ENABLED=0 go build") || !strings.Contains(build, "-o /out/"+BinaryPath+" ./cmd/takedown") {
		t.Errorf("the Dockerfile does not build a static binary at /%s", BinaryPath)
	}
}
