package runner

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/takedown-research/takedown/internal/mediatest"
	"github.com/takedown-research/takedown/internal/pqio"
	"github.com/takedown-research/takedown/internal/schema"
	"github.com/takedown-research/takedown/pipeline/cluster"
	"github.com/takedown-research/takedown/pipeline/fingerprint"
)

// imagePopulation writes a small population with media into dir: an
// image-only squad of 5 accounts that posts near-duplicates of 8 pictures
// (each account re-encodes and resizes its copy; one picture is posted as
// identical bytes) within 40 seconds of each other, with no shared text,
// links or hashtags; and 60 organic accounts that each post pictures of
// their own and two viral pictures: one all within 30 seconds (over the
// viral bound), one spread over two hours. It returns the posts path and
// the fingerprint stage's image input.
func imagePopulation(t *testing.T, dir string) (string, fingerprint.ImageInput) {
	t.Helper()
	const w, h = 480, 360
	var posts []schema.Post
	var files []mediatest.File
	next := 1000
	post := func(acc string, at int64, img []byte) {
		id := fmt.Sprint(next)
		next++
		posts = append(posts, schema.Post{Dataset: "pop", PostID: id, AccountID: acc, PostedAt: at,
			Text: fmt.Sprintf("%s says something of its own, number %d", acc, next)})
		files = append(files, mediatest.File{PostID: id, AccountID: acc, MediaKey: "3_" + id, Ext: "jpg", Data: img})
	}
	base := int64(1_600_000_000_000)
	for c := range 8 {
		orig := mediatest.JPEG(mediatest.Scene(uint64(100+c), w, h), 90)
		for s := range 5 {
			img := mediatest.Variant(orig, 0.6+0.08*float64(s), 60+7*s)
			if c == 0 {
				img = orig // posted as the same file by every member
			}
			post(fmt.Sprintf("squad%d", s), base+int64(c)*86_400_000+int64(s)*8_000, img)
		}
	}
	viral := mediatest.JPEG(mediatest.Scene(7, w, h), 85)
	viral2 := mediatest.JPEG(mediatest.Scene(8, w, h), 85)
	for o := range 60 {
		acc := fmt.Sprintf("organic%02d", o)
		post(acc, base+3_600_000+int64(o)*400, viral)
		post(acc, base+2*86_400_000+int64(o)*120_000, mediatest.Variant(viral2, 0.8, 75))
		post(acc, base+int64(o)*1_000_000, mediatest.JPEG(mediatest.Scene(uint64(1000+o), w/2, h/2), 80))
	}
	postsPath := filepath.Join(dir, "posts.parquet")
	if _, err := pqio.WriteFile(postsPath, posts); err != nil {
		t.Fatal(err)
	}
	in := fingerprint.ImageInput{MediaPath: filepath.Join(dir, "media.parquet"), Archives: map[string]string{}}
	// Two archives, as releases split them.
	half := len(files) / 2
	var rows []schema.Media
	for i, part := range [][]mediatest.File{files[:half], files[half:]} {
		name := fmt.Sprintf("pop_hashed_%03d.zip", i+1)
		r, err := mediatest.WriteZip(filepath.Join(dir, name), "pop", name, part)
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, r...)
		in.Archives[name] = filepath.Join(dir, name)
	}
	if _, err := pqio.WriteFile(in.MediaPath, rows); err != nil {
		t.Fatal(err)
	}
	return postsPath, in
}

// TestImageSquad runs fingerprint and cluster on the population of
// imagePopulation: the squad is one cluster, found by co_image and
// near_image alone, and no organic account is clustered. The outputs are
// the same bytes for GOMAXPROCS 1 and 2.
func TestImageSquad(t *testing.T) {
	if testing.Short() {
		t.Skip("draws and encodes a few hundred images")
	}
	dir := t.TempDir()
	postsPath, img := imagePopulation(t, dir)
	var first map[string][]byte
	for _, procs := range []int{1, 2} {
		t.Run(fmt.Sprint("GOMAXPROCS=", procs), func(t *testing.T) {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
			fpDir, clDir := t.TempDir(), t.TempDir()
			fp := fingerprint.DefaultParams()
			if _, err := fingerprint.Run(context.Background(), fingerprint.Input{PostsPath: postsPath, Images: img}, fp, fpDir, nil); err != nil {
				t.Fatal(err)
			}
			cp := cluster.DefaultParams()
			st, err := cluster.Run(context.Background(), cluster.Input{
				FingerprintsPath:      filepath.Join(fpDir, schema.TableFingerprints+".parquet"),
				ImageFingerprintsPath: filepath.Join(fpDir, schema.TableImageFingerprints+".parquet"),
				ShingleSize:           fp.ShingleSize,
			}, cp, clDir, nil)
			if err != nil {
				t.Fatal(err)
			}
			members, err := pqio.ReadAll[schema.ClusterMember](filepath.Join(clDir, schema.TableClusters+".parquet"))
			if err != nil {
				t.Fatal(err)
			}
			byCluster := map[string][]string{}
			for _, m := range members {
				byCluster[m.ClusterID] = append(byCluster[m.ClusterID], m.AccountID)
			}
			want := []string{"squad0", "squad1", "squad2", "squad3", "squad4"}
			if len(byCluster) != 1 {
				t.Fatalf("clusters %v, want one: %v (stats %+v)", byCluster, want, st)
			}
			for _, accs := range byCluster {
				slices.Sort(accs)
				if !slices.Equal(accs, want) {
					t.Errorf("cluster %v, want %v", accs, want)
				}
			}
			edges, err := pqio.ReadAll[schema.Edge](filepath.Join(clDir, schema.TableEdges+".parquet"))
			if err != nil {
				t.Fatal(err)
			}
			signals := map[string]int{}
			for _, e := range edges {
				signals[e.Signal]++
				if strings.HasPrefix(e.AccountA, "organic") {
					t.Errorf("organic edge %+v", e)
				}
			}
			// 10 squad pairs: near_image ties each (8 pictures), co_image
			// (1 file) alone is below --min-weight 2.
			if signals[cluster.SignalNearImage] != 10 || len(signals) != 1 {
				t.Errorf("edges by signal %v, want 10 near_image", signals)
			}
			if st.BoundedBySignal[cluster.SignalCoImage] != 1 || st.BoundedBySignal[cluster.SignalNearImage] != 1 {
				t.Errorf("bounded items %v: the viral picture posted by 60 accounts in 30 s is bounded", st.BoundedBySignal)
			}
			ev, err := pqio.ReadAll[schema.Evidence](filepath.Join(clDir, schema.TableEvidence+".parquet"))
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range ev {
				f := strings.Fields(e.ItemKey)
				if len(f) != 3 || !strings.HasPrefix(f[0], "3_") || !strings.HasPrefix(f[1], "3_") {
					t.Errorf("evidence item_key %q, want \"<media key> <media key> <distance>\"", e.ItemKey)
				}
				var d int
				if _, err := fmt.Sscan(f[2], &d); err != nil || d > cp.Images.Distance {
					t.Errorf("evidence %+v: distance %q over %d", e, f[2], cp.Images.Distance)
				}
			}
			out := map[string][]byte{}
			for _, d := range []string{fpDir, clDir} {
				entries, _ := os.ReadDir(d)
				for _, e := range entries {
					b, err := os.ReadFile(filepath.Join(d, e.Name()))
					if err != nil {
						t.Fatal(err)
					}
					out[e.Name()] = b
				}
			}
			if first == nil {
				first = out
				return
			}
			for name, b := range first {
				if !bytes.Equal(out[name], b) {
					t.Errorf("%s differs between GOMAXPROCS 1 and %d", name, procs)
				}
			}
		})
	}
}
