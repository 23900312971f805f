package schema

import (
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func TestIDColumns(t *testing.T) {
	for _, tc := range []struct {
		table string
		want  []string
	}{
		{TablePosts, []string{"post_id", "account_id", "reply_to_post_id", "reply_to_account_id",
			"quoted_post_id", "repost_of_post_id", "repost_of_account_id"}},
		{TableEvidence, []string{"account_a", "account_b", "item_key", "post_a", "post_b"}},
		{TableEdges, []string{"account_a", "account_b"}},
		{TableFingerprints, []string{"post_id", "account_id", "repost_key", "reply_key"}},
		{TableRejects, nil},
		{"no_such_table", nil},
	} {
		if got := IDColumns(tc.table); !slices.Equal(got, tc.want) {
			t.Errorf("IDColumns(%s) = %q, want %q", tc.table, got, tc.want)
		}
	}
}

// TestIDTagged: every column whose name says it holds an id carries the id
// tag and is a string (or a nullable string), and the tag is on nothing else.
func TestIDTagged(t *testing.T) {
	if len(Rows) != len(Versions) {
		t.Fatalf("Rows has %d tables, Versions %d", len(Rows), len(Versions))
	}
	looksID := func(name string) bool {
		return strings.HasSuffix(name, "_id") || slices.Contains([]string{"account_a", "account_b", "post_a", "post_b"}, name)
	}
	str, ptr := reflect.TypeFor[string](), reflect.TypeFor[*string]()
	for table, rt := range Rows {
		ids := IDColumns(table)
		for f := range rt.Fields() {
			name, _, _ := strings.Cut(f.Tag.Get("parquet"), ",")
			tagged := slices.Contains(ids, name)
			if looksID(name) && !tagged {
				t.Errorf("%s.%s looks like an id but has no `takedown:\"id\"` tag", table, name)
			}
			if tagged && f.Type != str && f.Type != ptr {
				t.Errorf("%s.%s is an id of type %s, want string or *string", table, name, f.Type)
			}
			if f.Type == ptr && !strings.Contains(f.Tag.Get("parquet"), ",optional") {
				t.Errorf("%s.%s is a *string without the optional tag", table, name)
			}
		}
	}
}

// TestIDColumnsDocumented: docs/export.md lists the id columns of every
// table that has some, as IDColumns gives them.
func TestIDColumnsDocumented(t *testing.T) {
	b, err := os.ReadFile("../../docs/export.md")
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]string{}
	for line := range strings.Lines(string(b)) {
		if m := regexp.MustCompile("^- `([a-z_]+)`: (`.*`)\n$").FindStringSubmatch(line); m != nil {
			documented[m[1]] = m[2]
		}
	}
	for table := range Rows {
		want := ""
		if cols := IDColumns(table); cols != nil {
			want = "`" + strings.Join(cols, "`, `") + "`"
		}
		if documented[table] != want {
			t.Errorf("docs/export.md lists the id columns of %s as %q, want %q", table, documented[table], want)
		}
	}
}
