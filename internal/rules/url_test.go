package rules

import "testing"

func TestCanonicalURL(t *testing.T) {
	cases := []struct {
		in   string
		want string
		ok   bool
	}{
		{"HTTP://WWW.Example.COM/Path/", "http://example.com/Path", true},
		{"HTTP://WWW.Example.COM:80/Story/?utm_source=tw&b=2&a=1#top", "http://example.com/Story?a=1&b=2", true},
		{"https://example.com:443/a", "https://example.com/a", true},
		{"http://example.com:80/a", "http://example.com/a", true},
		{"http://example.com:8080/a", "http://example.com:8080/a", true},
		{"https://example.com/a#section", "https://example.com/a", true},
		{"https://example.com/a?utm_source=tw&utm_medium=x&id=3", "https://example.com/a?id=3", true},
		{"https://example.com/a?fbclid=abc&gclid=d&ref=tw&igshid=1", "https://example.com/a", true},
		{"https://example.com/a?b=2&a=1&c", "https://example.com/a?a=1&b=2&c", true},
		{"https://example.com/?", "https://example.com", true},
		{"https://example.com///", "https://example.com", true},
		{"https://twitter.com/x/status/1?s=20&t=abc", "https://twitter.com/x/status/1", true},
		{"https://example.com/search?s=20", "https://example.com/search?s=20", true},
		{"example.com/a", "http://example.com/a", true},
		{"https://user:pw@example.com/a", "https://example.com/a", true},
		{"https://example.com./a", "https://example.com/a", true},
		{"https://[2001:db8::1]:443/a", "https://[2001:db8::1]/a", true},
		{"https://example.com/a%20b", "https://example.com/a%20b", true},
		{"  https://example.com/a  ", "https://example.com/a", true},
		{"ftp://example.com/a", "", false},
		{"mailto:a@example.com", "", false},
		{"", "", false},
		{"not a url", "", false},
		{"https://", "", false},
		{"http://www./x", "", false},
		// Case: scheme and host are lowercased, path and query keep theirs.
		{"HTTPS://Example.COM/Read?ID=Abc", "https://example.com/Read?ID=Abc", true},
		// Tracking parameters go whatever their case or encoding.
		{"https://example.com/a?UTM_Source=x&%66bclid=y&id=1", "https://example.com/a?id=1", true},
		// Host-specific tracking parameters go on their host only.
		{"https://www.youtube.com/watch?v=abc&feature=share", "https://youtube.com/watch?v=abc", true},
		{"https://example.com/watch?v=abc&feature=share", "https://example.com/watch?feature=share&v=abc", true},
		// Trailing slashes go, inner ones stay.
		{"https://example.com/a/b//", "https://example.com/a/b", true},
		{"https://example.com/a//b", "https://example.com/a//b", true},
	}
	for _, c := range cases {
		got, ok := CanonicalURL(c.in)
		if got != c.want || ok != c.ok {
			t.Errorf("CanonicalURL(%q) = %q, %v; want %q, %v", c.in, got, ok, c.want, c.ok)
		}
		if ok {
			if again, _ := CanonicalURL(got); again != got {
				t.Errorf("not idempotent: CanonicalURL(%q) = %q", got, again)
			}
		}
	}
}

func TestRegistrableDomain(t *testing.T) {
	cases := map[string]string{
		"https://news.bbc.co.uk/a":  "bbc.co.uk",
		"https://example.com":       "example.com",
		"https://a.b.example.com/x": "example.com",
		"http://127.0.0.1:8080/x":   "127.0.0.1",
		"https://[2001:db8::1]/a":   "2001:db8::1",
		"https://co.uk/a":           "co.uk",
		"https://foo.blogspot.com/": "foo.blogspot.com",
	}
	for in, want := range cases {
		if got := RegistrableDomain(in); got != want {
			t.Errorf("RegistrableDomain(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestDomain checks that Domain is RegistrableDomain of the canonical URL,
// and "" where there is none.
func TestDomain(t *testing.T) {
	for _, raw := range []string{
		"https://www.example.com/a", "http://news.bbc.co.uk/x?y=1", "t.co/abc", "HTTPS://WWW.BBC.CO.UK/",
		"http://127.0.0.1:8080/x", "http://localhost/x", "https://[2001:db8::1]:443/a", "https://co.uk/a",
		"https://foo.blogspot.com/", "https://example.com./a", "https://user:pw@Example.com/a", "www.site.org/x",
		"", "   ", "http://", "ftp://example.com/a", "mailto:a@example.com", "not a url", "http://www./x",
	} {
		want := ""
		if c, ok := CanonicalURL(raw); ok {
			want = RegistrableDomain(c)
		}
		if got := Domain(raw); got != want {
			t.Errorf("Domain(%q) = %q, want %q (RegistrableDomain of CanonicalURL)", raw, got, want)
		}
	}
	if got := Domain("HTTPS://WWW.News.BBC.CO.UK/"); got != "bbc.co.uk" {
		t.Errorf("Domain = %q, want bbc.co.uk", got)
	}
}
