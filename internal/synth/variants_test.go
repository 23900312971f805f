package synth

import (
	"archive/zip"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// TestDefaultBytesPinned pins the sha256 of every file of the default
// configuration: the demo dataset is generated from it, and its run ids
// depend on these bytes. A variant must never change them.
func TestDefaultBytesPinned(t *testing.T) {
	if testing.Short() {
		t.Skip("writes the 17 MB demo archive")
	}
	want := map[string]string{
		"demo_truth.csv":             "887be3636ce8c57274dd732ecd7c609ce2c76d7f7dd42aceccacfdb3e2146329",
		"demo_tweets_csv_hashed.zip": "e35d0112c751821d9cd9576d0643acb30d1a46c67f07a02848ea46595a9e2736",
		"demo_users_csv_hashed.zip":  "3c7316b09bd8b9d5ec22221dd7cd93fbd66d0331fcfe3e22a1d5851676db0e61",
	}
	dir, files := writeTo(t, DefaultConfig())
	got := map[string]string{}
	for name, b := range readAll(t, dir, files) {
		s := sha256.Sum256(b)
		got[name] = hex.EncodeToString(s[:])
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("default output changed (the demo's run ids depend on it):\n got %v\nwant %v", got, want)
	}
	// The zero Variants stay out of the JSON form, so existing descriptors
	// and their digests are unchanged.
	b, _ := json.Marshal(DefaultConfig())
	if strings.Contains(string(b), "variants") {
		t.Errorf("default config JSON mentions variants: %s", b)
	}
}

// readData returns the csv text of a data file in any container.
func readData(t *testing.T, path string) string {
	t.Helper()
	switch {
	case strings.HasSuffix(path, ".zip"):
		return string(readZipEntry(t, path))
	case strings.HasSuffix(path, ".gz"):
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		zr, err := gzip.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestVariants(t *testing.T) {
	cases := []struct {
		name  string
		v     Variants
		files []string // data files besides the truth file
		check func(t *testing.T, users, tweets string)
	}{
		{"oct2018 order", Variants{Oct2018Order: true}, []string{"v_tweets_csv_hashed.zip", "v_users_csv_hashed.zip"},
			func(t *testing.T, _, tweets string) {
				if !strings.Contains(firstLine(tweets), `"in_reply_to_tweetid","in_reply_to_userid"`) {
					t.Errorf("header %s", firstLine(tweets))
				}
			}},
		{"hex ids", Variants{HexIDs: true}, []string{"v_tweets_csv_hashed.zip", "v_users_csv_hashed.zip"},
			func(t *testing.T, users, _ string) {
				if strings.Contains(users, `=",`) || !hexIDRE.MatchString(users) {
					t.Errorf("users file has no 64-hex ids or still base64 ones")
				}
			}},
		{"bare lists", Variants{BareLists: true}, []string{"v_tweets_csv_hashed.zip", "v_users_csv_hashed.zip"},
			func(t *testing.T, _, tweets string) {
				if strings.Contains(tweets, "['") || !strings.Contains(tweets, `"[http`) {
					t.Errorf("lists are not bare")
				}
			}},
		{"capital bools and float counts", Variants{CapitalBools: true, FloatCounts: true}, []string{"v_tweets_csv_hashed.zip", "v_users_csv_hashed.zip"},
			func(t *testing.T, _, tweets string) {
				if strings.Contains(tweets, `"false"`) || !strings.Contains(tweets, `"False"`) || !strings.Contains(tweets, `"0.0"`) {
					t.Errorf("bools or counts not in the variant's form")
				}
			}},
		{"camel users", Variants{CamelUsers: true}, []string{"v_tweets_csv_hashed.zip", "v_users_csv_hashed.zip"},
			func(t *testing.T, users, _ string) {
				if !strings.HasPrefix(users, `"userid","userDisplayName","userScreenName"`) {
					t.Errorf("header %s", firstLine(users))
				}
			}},
		{"parts, plain csv", Variants{Parts: 3, Container: ContainerCSV},
			[]string{"v_tweets_csv_hashed_1.csv", "v_tweets_csv_hashed_2.csv", "v_tweets_csv_hashed_3.csv", "v_users_csv_hashed.csv"}, nil},
		{"gzip, truncated", Variants{Container: ContainerGzip, Truncate: true}, []string{"v_tweets_csv_hashed.csv.gz", "v_users_csv_hashed.csv.gz"},
			func(t *testing.T, _, tweets string) {
				if strings.HasSuffix(tweets, "\n") {
					t.Errorf("last record not truncated")
				}
			}},
	}
	base := smallConfig()
	base.Campaign = "v"
	dir0, files0 := writeTo(t, base)
	defTweets := readData(t, filepath.Join(dir0, "v_tweets_csv_hashed.zip"))
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := base
			cfg.Variants = c.v
			dir, files := writeTo(t, cfg)
			var names []string
			for _, f := range files {
				if f.Role != RoleTruth {
					names = append(names, f.Name)
				}
			}
			if !reflect.DeepEqual(names, c.files) {
				t.Fatalf("files %q, want %q", names, c.files)
			}
			var users, tweets string
			for _, n := range names {
				s := readData(t, filepath.Join(dir, n))
				if strings.Contains(n, "_users_") {
					users = s
				} else if tweets == "" {
					tweets = s
				} else {
					tweets += s[strings.IndexByte(s, '\n')+1:] // drop the part's header
				}
			}
			if c.check != nil {
				c.check(t, users, tweets)
			}
			if c.v.Parts > 1 && tweets != defTweets {
				t.Errorf("parts joined differ from the unsplit file (%d vs %d bytes)", len(tweets), len(defTweets))
			}
		})
	}
	_ = files0
}

func firstLine(s string) string { return s[:strings.IndexByte(s, '\n')] }

// hexIDRE matches a quoted 64-hex id.
var hexIDRE = regexp.MustCompile(`"[0-9a-f]{64}"`)

// readZipEntry returns the content of the single entry of a zip file.
func readZipEntry(t *testing.T, path string) []byte {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	if len(zr.File) != 1 {
		t.Fatalf("%s: %d entries", path, len(zr.File))
	}
	rc, err := zr.File[0].Open()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
