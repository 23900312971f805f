package datasets

import (
	"errors"
	"strings"
	"testing"
)

func TestDescriptorsValid(t *testing.T) {
	all, err := All()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, d := range all {
		if d.Name == "" || d.Format == "" || d.Platform == "" {
			t.Errorf("descriptor %q lacks name, format or platform", d.Name)
		}
		if seen[d.Name] {
			t.Errorf("duplicate descriptor %q", d.Name)
		}
		seen[d.Name] = true
		if len(d.Files) == 0 && len(d.Synth) == 0 {
			t.Errorf("descriptor %q names no files and no generator", d.Name)
		}
	}
	if !seen["demo"] {
		t.Fatal("no demo descriptor")
	}
}

func TestGetUnknownSuggests(t *testing.T) {
	_, err := Get("dem")
	if !errors.Is(err, ErrUnknown) {
		t.Fatalf("err = %v, want ErrUnknown", err)
	}
	if !strings.Contains(err.Error(), "did you mean demo") {
		t.Fatalf("no suggestion in %q", err)
	}
}

func TestNearest(t *testing.T) {
	names := []string{"twitter-io/ira-2018-10", "twitter-io/iran-2019-01", "demo"}
	cases := []struct {
		in   string
		want string
	}{
		{"twitter-io/ira-2018-1", "twitter-io/ira-2018-10"},
		{"demo2", "demo"},
		{"zzzzzzzzzzzzzzzzzzzzzzzzzzz", ""},
	}
	for _, c := range cases {
		got := Nearest(c.in, names, 1)
		if c.want == "" && len(got) != 0 || c.want != "" && (len(got) == 0 || got[0] != c.want) {
			t.Errorf("Nearest(%q) = %v, want %q", c.in, got, c.want)
		}
	}
}

func TestDigestStable(t *testing.T) {
	d, err := Get("demo")
	if err != nil {
		t.Fatal(err)
	}
	if d.Digest() != d.Digest() || len(d.Digest()) != 64 {
		t.Fatal("digest unstable")
	}
	e := d
	e.Title += "x"
	if e.Digest() == d.Digest() {
		t.Fatal("digest ignores a change")
	}
}
