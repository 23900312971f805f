package normalize

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/takedown-research/takedown/internal/schema"
	"github.com/takedown-research/takedown/internal/synth"
)

// synthInput writes a synthetic release into a temporary folder.
func synthInput(t *testing.T, cfg synth.Config) Input {
	t.Helper()
	dir := t.TempDir()
	files, err := synth.Write(context.Background(), cfg, dir)
	if err != nil {
		t.Fatal(err)
	}
	in := Input{Dataset: "local/shard"}
	for _, f := range files {
		sf := SourceFile{Name: f.Name, Path: filepath.Join(dir, f.Name)}
		switch f.Role {
		case synth.RoleTruth:
		case synth.RoleMedia:
			in.Media = append(in.Media, sf)
		default:
			in.Files = append(in.Files, sf)
		}
	}
	return in
}

// runDir is a run's output: its files' bytes and its stats as JSON.
type runDir struct {
	files map[string][]byte
	stats []byte
}

func readRunDir(t *testing.T, dir string, st Stats) runDir {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	rd := runDir{files: map[string][]byte{}}
	for _, e := range ents {
		if e.IsDir() {
			t.Errorf("%s left in the output", e.Name())
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		rd.files[e.Name()] = b
	}
	rd.stats, err = json.MarshalIndent(st, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return rd
}

func unsharded(t *testing.T, in Input, p Params) runDir {
	t.Helper()
	dir := t.TempDir()
	st, err := Run(context.Background(), in, p, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	return readRunDir(t, dir, st)
}

// sharded runs n shards, each into its own folder, and merges them.
func sharded(t *testing.T, in Input, p Params, n int) (runDir, []ShardMeta) {
	t.Helper()
	shards := make([]ShardInput, n)
	metas := make([]ShardMeta, n)
	for i := range n {
		dir := t.TempDir()
		meta, err := RunShard(context.Background(), in, p, i, n, dir, nil)
		if err != nil {
			t.Fatalf("shard %d/%d: %v", i, n, err)
		}
		// The meta goes through JSON, as it does through shard.json.
		b, err := json.Marshal(meta)
		if err != nil {
			t.Fatal(err)
		}
		var back ShardMeta
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		shards[i], metas[i] = ShardInput{Dir: dir, Meta: back}, back
	}
	dir := t.TempDir()
	st, err := Merge(context.Background(), in, p, shards, dir, nil)
	if err != nil {
		t.Fatalf("merge of %d: %v", n, err)
	}
	return readRunDir(t, dir, st), metas
}

func sameRun(t *testing.T, want, got runDir, label string) {
	t.Helper()
	if !bytes.Equal(want.stats, got.stats) {
		t.Errorf("%s: stats differ:\nunsharded %s\nmerged    %s", label, want.stats, got.stats)
	}
	if len(want.files) != len(got.files) {
		t.Errorf("%s: files %d, unsharded %d", label, len(got.files), len(want.files))
	}
	for name, b := range want.files {
		if !bytes.Equal(b, got.files[name]) {
			t.Errorf("%s: %s differs from the unsharded run's (%d bytes, unsharded %d)", label, name, len(got.files[name]), len(b))
		}
	}
}

// parts counts the shards that read part of a file, and the empty ones.
func parts(metas []ShardMeta) (partial, empty int) {
	for _, m := range metas {
		if len(m.Streams) == 0 {
			empty++
		}
		for _, s := range m.Streams {
			if s.Part {
				partial++
			}
		}
	}
	return partial, empty
}

func TestShardsSynthParts(t *testing.T) {
	cfg := synth.DefaultConfig()
	cfg.Accounts, cfg.Posts, cfg.Campaign = 300, 6000, "sh"
	cfg.Variants.Parts = 4
	cfg.Variants.Container = synth.ContainerGzip
	in := synthInput(t, cfg)
	p := DefaultParams()
	want := unsharded(t, in, p)
	for _, n := range []int{1, 2, 3, 5, 8} {
		got, metas := sharded(t, in, p, n)
		sameRun(t, want, got, fmt.Sprintf("%d shards", n))
		if partial, _ := parts(metas); partial != 0 {
			t.Errorf("%d shards: %d gzip parts read in part", n, partial)
		}
	}
}

func TestShardsPlainRanges(t *testing.T) {
	defer func(v int64) { rangeMinBytes = v }(rangeMinBytes)
	rangeMinBytes = 1
	cfg := synth.DefaultConfig()
	cfg.Accounts, cfg.Posts, cfg.Campaign = 300, 6000, "pl"
	cfg.Variants.Container = synth.ContainerCSV
	in := synthInput(t, cfg)
	p := DefaultParams()
	want := unsharded(t, in, p)
	for _, n := range []int{1, 2, 3, 5} {
		got, metas := sharded(t, in, p, n)
		sameRun(t, want, got, fmt.Sprintf("%d shards", n))
		if partial, _ := parts(metas); n > 1 && partial == 0 {
			t.Errorf("%d shards: no file read in byte ranges", n)
		}
	}
}

func TestShardsMedia(t *testing.T) {
	cfg := synth.DefaultConfig()
	cfg.Accounts, cfg.Posts, cfg.Campaign = 200, 3000, "md"
	cfg.Variants.Parts = 3
	cfg.Media = synth.DefaultMedia()
	in := synthInput(t, cfg)
	if len(in.Media) == 0 {
		t.Fatal("no media archives")
	}
	p := DefaultParams()
	want := unsharded(t, in, p)
	if _, ok := want.files[schema.TableMedia+".parquet"]; !ok {
		t.Fatal("no media table")
	}
	got, _ := sharded(t, in, p, 3)
	sameRun(t, want, got, "3 shards")
}

// quotedCSV is a twitter-io tweets file whose tweet texts hold line ends,
// quotes, commas and blank lines, with records a strict reader rejects and
// a few repeated authors: its byte ranges must be cut where a parse from
// the start sees a record start.
func quotedCSV(r *rand.Rand, rows int) []byte {
	var b bytes.Buffer
	b.WriteString("tweetid,userid,user_display_name,user_screen_name,user_reported_location,user_profile_description,user_profile_url,follower_count,following_count,account_creation_date,account_language,tweet_language,tweet_text,tweet_time,tweet_client_name,in_reply_to_tweetid,in_reply_to_userid,quoted_tweet_tweetid,is_retweet,retweet_userid,retweet_tweetid,latitude,longitude,quote_count,reply_count,like_count,retweet_count,hashtags,urls,user_mentions,poll_choices\n")
	texts := []string{
		`plain text`,
		`"quoted, with comma"`,
		"\"two\nlines\"",
		"\"blank\n\nline and \"\"quotes\"\"\"",
		"\"ends with line end\n\"",
		"\"a,\n\"\"b\"\",\nc\"",
		`bare"quote`,
		`"bad"quote`,
		"\"crlf\r\ninside\"",
	}
	for i := range rows {
		text := texts[r.IntN(len(texts))]
		user := fmt.Sprintf("u%03d", r.IntN(40))
		desc := fmt.Sprintf("desc %d", i)
		if r.IntN(5) == 0 {
			desc = "\"multi\nline desc\""
		}
		fmt.Fprintf(&b, "%d,%s,Name %s,%s,,%s,,10,5,2017-01-01,en,en,%s,2019-03-0%d 12:%02d,web,,,,False,,,,,0,0,0,0,[],[],[],\n",
			1000000+i, user, user, user, desc, text, 1+r.IntN(9), r.IntN(60))
		if r.IntN(40) == 0 {
			b.WriteString("\n") // a blank line between records
		}
	}
	return b.Bytes()
}

func TestShardsQuotedRanges(t *testing.T) {
	defer func(v int64) { rangeMinBytes = v }(rangeMinBytes)
	rangeMinBytes = 1
	r := rand.New(rand.NewPCG(1, 2))
	dir := t.TempDir()
	path := filepath.Join(dir, "q_tweets_csv_hashed.csv")
	if err := os.WriteFile(path, quotedCSV(r, 3000), 0o644); err != nil {
		t.Fatal(err)
	}
	in := Input{Dataset: "local/q", Files: []SourceFile{{Name: "q_tweets_csv_hashed.csv", Path: path}}}
	p := DefaultParams()
	want := unsharded(t, in, p)
	if !strings.Contains(string(want.stats), ReasonBadQuote) {
		t.Fatalf("the file has no bad_quote reject: %s", want.stats)
	}
	for _, n := range []int{2, 3, 5, 7} {
		got, metas := sharded(t, in, p, n)
		sameRun(t, want, got, fmt.Sprintf("%d shards", n))
		if partial, _ := parts(metas); partial == 0 {
			t.Errorf("%d shards: the file was not cut", n)
		}
	}
}

// TestShardsRandom normalizes small random datasets (a users file, tweets
// parts plain or gzipped, some cut in byte ranges) in a random number of
// shards.
func TestShardsRandom(t *testing.T) {
	defer func(v int64) { rangeMinBytes = v }(rangeMinBytes)
	rangeMinBytes = 1
	seeds := 6
	if testing.Short() {
		seeds = 2
	}
	for seed := range seeds {
		r := rand.New(rand.NewPCG(uint64(seed), 7))
		cfg := synth.DefaultConfig()
		cfg.Accounts, cfg.Posts = 50+r.IntN(100), 500+r.IntN(2000)
		cfg.Campaign = fmt.Sprintf("r%d", seed)
		cfg.Seed = int64(seed) + 1
		cfg.Variants.Parts = r.IntN(4)
		cfg.Variants.Container = []string{synth.ContainerCSV, synth.ContainerGzip, synth.ContainerCSV}[r.IntN(3)]
		in := synthInput(t, cfg)
		if r.IntN(2) == 0 {
			path := filepath.Join(t.TempDir(), "zz_extra_tweets.csv")
			if err := os.WriteFile(path, quotedCSV(r, 200+r.IntN(400)), 0o644); err != nil {
				t.Fatal(err)
			}
			in.Files = append(in.Files, SourceFile{Name: "r_extra_tweets_csv_hashed.csv", Path: path})
		}
		p := DefaultParams()
		want := unsharded(t, in, p)
		for range 2 {
			n := 1 + r.IntN(9)
			got, _ := sharded(t, in, p, n)
			sameRun(t, want, got, fmt.Sprintf("seed %d (%s, %d parts), %d shards", seed, cfg.Variants.Container, cfg.Variants.Parts, n))
		}
	}
}

// TestMergeRefusesMisfits: shards that do not read every stream once, in
// order, are refused before anything is written.
func TestMergeRefusesMisfits(t *testing.T) {
	cfg := synth.DefaultConfig()
	cfg.Accounts, cfg.Posts, cfg.Campaign = 100, 1500, "mf"
	cfg.Variants.Parts = 3
	in := synthInput(t, cfg)
	p := DefaultParams()
	run := func(i, n int) ShardInput {
		dir := t.TempDir()
		meta, err := RunShard(context.Background(), in, p, i, n, dir, nil)
		if err != nil {
			t.Fatal(err)
		}
		return ShardInput{Dir: dir, Meta: meta}
	}
	a0, a1, a2 := run(0, 3), run(1, 3), run(2, 3)
	b0 := run(0, 2)
	for _, c := range []struct {
		name   string
		shards []ShardInput
		want   string
	}{
		{"out of order", []ShardInput{a1, a0, a2}, "was expected"},
		{"one missing", []ShardInput{a0, a2}, "was expected"},
		{"the last missing", []ShardInput{a0, a1}, "streams"},
		{"cut for another count", []ShardInput{b0, a1, a2}, "cut differently"},
	} {
		_, err := Merge(context.Background(), in, p, c.shards, t.TempDir(), nil)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error saying %q", c.name, err, c.want)
		}
	}
}

// TestShardCutOverLimit: the one case the cut rule cannot see, a record
// over MaxRecordBytes (read by the size limit's own quoting rules) that
// spans the cut, fails the shard before the cut instead of giving other
// rows.
func TestShardCutOverLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a 34 MB file")
	}
	r := rand.New(rand.NewPCG(5, 6))
	head := quotedCSV(r, 0)
	row := func(i int) string {
		return fmt.Sprintf("%d,u%03d,N,n,,d,,1,1,2017-01-01,en,en,plain text,2019-03-01 12:00,web,,,,False,,,,,0,0,0,0,[],[],[],\n", i, i%50)
	}
	var b bytes.Buffer
	b.Write(head)
	for i := range 1200 {
		b.WriteString(row(i))
	}
	// A record over the limit: its quoted field runs 17 MiB on one line;
	// read past the limit, `"y,"z` opens a new quoted field (strict CSV
	// would have dropped the line at `"y`), which ends on the next line.
	b.WriteString(`9999999,u1,N,n,,d,,1,1,2017-01-01,en,en,"`)
	b.Write(bytes.Repeat([]byte("a"), 17<<20))
	b.WriteString("\nx\"y,\"z\nw\"\n")
	for i := 0; b.Len() < 34<<20; i++ {
		b.WriteString(row(2000 + i))
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "big_tweets_csv_hashed.csv")
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	in := Input{Dataset: "local/big", Files: []SourceFile{{Name: "big_tweets_csv_hashed.csv", Path: path}}}
	_, err := RunShard(context.Background(), in, DefaultParams(), 0, 2, t.TempDir(), nil)
	if !errors.Is(err, ErrShardCut) {
		t.Fatalf("shard 0/2: %v, want %v", err, ErrShardCut)
	}
	t.Log(err)
}

// TestShardsOneUnit: a dataset of one gzip file (a unit that cannot be
// cut) is read whole by the shard whose share holds its middle (2 of 4,
// 1 of 3); the others are empty, and the merge gives the unsharded run.
func TestShardsOneUnit(t *testing.T) {
	cfg := synth.DefaultConfig()
	cfg.Accounts, cfg.Posts, cfg.Campaign = 100, 2000, "one"
	cfg.Variants.Container = synth.ContainerGzip
	in := synthInput(t, cfg)
	for _, f := range in.Files {
		if strings.Contains(f.Name, "tweets") {
			in.Files = []SourceFile{f}
		}
	}
	p := DefaultParams()
	want := unsharded(t, in, p)
	for n, reader := range map[int]int{4: 2, 3: 1, 2: 1, 1: 0} {
		got, metas := sharded(t, in, p, n)
		sameRun(t, want, got, fmt.Sprintf("%d shards", n))
		for i, m := range metas {
			if read := len(m.Streams) > 0; read != (i == reader) {
				t.Errorf("shard %d/%d reads %d streams", i, n, len(m.Streams))
			}
		}
	}
}
