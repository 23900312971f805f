package runner

import (
	"log/slog"
	"os"
	"path/filepath"

	"github.com/takedown-research/takedown/datasets"
	"github.com/takedown-research/takedown/internal/store"
	"github.com/takedown-research/takedown/pipeline/cluster"
	"github.com/takedown-research/takedown/pipeline/fetch"
)

// execExtra is what a stage gets from the runner besides its parameters
// and inputs, none of which is in the run id: for fetch the folder to
// import from, how to download, and the dataset's trust-on-first-use pins;
// for cluster the resources it may use.
type execExtra struct {
	fromDir   string
	download  fetch.DownloadOptions
	pins      map[string]string
	resources cluster.Resources
	// shards, when set, are the published shards the stage merges
	// (--merge) instead of computing the run itself.
	shards []*store.Shard
}

// dropFetch forgets a dataset's pins and current fetch (fetch --repin), so
// that the next fetch plans from the descriptor alone and pins anew.
func dropFetch(lock *store.Lock, dataset string) {
	lock.DropPins(dataset)
	delete(lock.Datasets[dataset], fetch.Name)
}

// setAside moves a published fetch run out of the way before a refetch. The
// returned restore puts it back (the refetch failed); discard removes it
// (the refetch published its own).
func (r *Runner) setAside(dir string) (restore, discard func(), err error) {
	noop := func() {}
	if _, err := os.Stat(dir); err != nil {
		return noop, noop, nil
	}
	aside, err := r.WS.MoveAside(dir, "refetch")
	if err != nil {
		return nil, nil, err
	}
	return func() {
			if _, err := os.Stat(dir); err != nil {
				os.Rename(aside, dir)
				return
			}
			os.RemoveAll(aside)
		}, func() {
			os.RemoveAll(aside)
		}, nil
}

// recordPins pins, on its first fetch, every file the descriptor gives no
// digest for (trust on first use); later fetches must find the same bytes.
func (r *Runner) recordPins(lock *store.Lock, desc datasets.Descriptor, fetchDir string, log *slog.Logger) {
	list, err := store.ReadSourceList(filepath.Join(fetchDir, store.SourceListName))
	if err != nil || len(desc.Synth) > 0 {
		return
	}
	known := map[string]bool{}
	for _, f := range desc.Files {
		known[f.Name] = f.SHA256 != ""
	}
	for _, s := range list {
		if known[s.Name] {
			continue
		}
		if _, ok := lock.Pin(desc.Name, s.Name); !ok {
			lock.SetPin(desc.Name, s.Name, s.SHA256)
			log.Info("pinned on first fetch", "event", "fetch_pin", "file", s.Name, "sha256", s.SHA256)
		}
	}
}

// pinnedDigest is the digest a file of the dataset must have, if known.
func pinnedDigest(lock *store.Lock, desc datasets.Descriptor, f datasets.File) string {
	if f.SHA256 != "" {
		return f.SHA256
	}
	d, _ := lock.Pin(desc.Name, f.Name)
	return d
}
