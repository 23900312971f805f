package rules

import (
	"net"
	"net/url"
	"slices"
	"strings"

	"golang.org/x/net/publicsuffix"
)

// trackingParams are query parameters that identify a click or a campaign,
// not the resource; CanonicalURL drops them on every host.
var trackingParams = map[string]bool{
	"fbclid": true, "gclid": true, "dclid": true, "gbraid": true, "wbraid": true,
	"msclkid": true, "yclid": true, "twclid": true, "ttclid": true,
	"igshid": true, "igsh": true, "mc_cid": true, "mc_eid": true,
	"_hsenc": true, "_hsmi": true, "mkt_tok": true, "oly_anon_id": true, "oly_enc_id": true,
	"ref": true, "ref_src": true, "ref_url": true, "spm": true, "si": true,
	"__twitter_impression": true, "cmpid": true, "ncid": true, "sr_share": true,
}

// hostTrackingParams are dropped only on the hosts named.
var hostTrackingParams = map[string]map[string]bool{
	"twitter.com":        {"s": true, "t": true},
	"mobile.twitter.com": {"s": true, "t": true},
	"x.com":              {"s": true, "t": true},
	"youtube.com":        {"feature": true},
	"m.youtube.com":      {"feature": true},
	"youtu.be":           {"feature": true},
	"facebook.com":       {"mibextid": true},
	"m.facebook.com":     {"mibextid": true},
}

// CanonicalURL returns the canonical form of an http(s) URL and true, or
// false when raw is not an http(s) URL with a host. A URL without a scheme
// is read as http. The canonical form lowercases the scheme and host, drops
// a leading "www.", a trailing dot of the host, user info, default ports
// (80 for http, 443 for https), the fragment, tracking query parameters
// (utm_*, fbclid, gclid, ref, igshid and others) and trailing slashes of the
// path, and sorts the remaining query parameters by name, then by their raw
// text. Path and query keep their original percent-encoding.
func CanonicalURL(raw string) (string, bool) {
	u, scheme, host, ok := parseHTTP(raw)
	if !ok {
		return "", false
	}
	port := u.Port()
	if (scheme == "http" && port == "80") || (scheme == "https" && port == "443") {
		port = ""
	}
	var b strings.Builder
	b.WriteString(scheme)
	b.WriteString("://")
	if strings.Contains(host, ":") {
		b.WriteString("[" + host + "]")
	} else {
		b.WriteString(host)
	}
	if port != "" {
		b.WriteString(":" + port)
	}
	b.WriteString(strings.TrimRight(u.EscapedPath(), "/"))
	if q := canonicalQuery(u.RawQuery, hostTrackingParams[host]); q != "" {
		b.WriteString("?" + q)
	}
	return b.String(), true
}

// parseHTTP parses raw as CanonicalURL reads it and returns the URL, its
// lowercased scheme and its canonical host (lowercased, without "www." and
// a trailing dot), or false when raw is not an http(s) URL with a host.
func parseHTTP(raw string) (u *url.URL, scheme, host string, ok bool) {
	s := strings.TrimSpace(raw)
	if s == "" || strings.ContainsAny(s, " \t\r\n") {
		return nil, "", "", false
	}
	schemeless := !strings.Contains(s, "://")
	if schemeless {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil || (schemeless && u.User != nil) {
		return nil, "", "", false
	}
	scheme = strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return nil, "", "", false
	}
	host = strings.TrimPrefix(strings.ToLower(u.Hostname()), "www.")
	host = strings.TrimSuffix(host, ".")
	if host == "" {
		return nil, "", "", false
	}
	return u, scheme, host, true
}

// canonicalQuery drops tracking parameters and sorts the others.
func canonicalQuery(raw string, extra map[string]bool) string {
	if raw == "" {
		return ""
	}
	type param struct{ key, raw string }
	var ps []param
	for part := range strings.SplitSeq(raw, "&") {
		if part == "" {
			continue
		}
		k, _, _ := strings.Cut(part, "=")
		if dk, err := url.QueryUnescape(k); err == nil {
			k = dk
		}
		k = strings.ToLower(k)
		if strings.HasPrefix(k, "utm_") || trackingParams[k] || extra[k] {
			continue
		}
		ps = append(ps, param{k, part})
	}
	slices.SortFunc(ps, func(a, b param) int {
		if c := strings.Compare(a.key, b.key); c != 0 {
			return c
		}
		return strings.Compare(a.raw, b.raw)
	})
	parts := make([]string, len(ps))
	for i, p := range ps {
		parts[i] = p.raw
	}
	return strings.Join(parts, "&")
}

// URLHost returns the host of a canonical URL (CanonicalURL), without port
// or brackets.
func URLHost(canonical string) string {
	_, rest, _ := strings.Cut(canonical, "://")
	if i := strings.IndexAny(rest, "/?"); i >= 0 {
		rest = rest[:i]
	}
	if strings.HasPrefix(rest, "[") {
		if i := strings.IndexByte(rest, ']'); i > 0 {
			return rest[1:i]
		}
	}
	if h, _, err := net.SplitHostPort(rest); err == nil {
		return h
	}
	return rest
}

// RegistrableDomain returns the registrable domain (eTLD+1, by the public
// suffix list compiled into golang.org/x/net) of a canonical URL's host
// (CanonicalURL), the host itself for IP addresses and for hosts that are a
// public suffix or otherwise have no eTLD+1.
func RegistrableDomain(canonical string) string {
	return registrableHost(URLHost(canonical))
}

// Domain returns the registrable domain of a raw URL, as RegistrableDomain
// of its CanonicalURL (without building the canonical URL), or "" when raw
// is not an http(s) URL with a host.
func Domain(raw string) string {
	_, _, host, ok := parseHTTP(raw)
	if !ok {
		return ""
	}
	return registrableHost(host)
}

// registrableHost returns the registrable domain of a canonical host.
func registrableHost(host string) string {
	if net.ParseIP(host) != nil {
		return host
	}
	d, err := publicsuffix.EffectiveTLDPlusOne(host)
	if err != nil {
		return host
	}
	return d
}
