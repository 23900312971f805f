package fetch

import (
	"encoding/json"
	"testing"

	"github.com/takedown-research/takedown/datasets"
)

// TestWithLocalMedia: media at hand (a local dataset's media archives, a
// generator config with media) is used without --media; a registry
// release's media only with it; a release without media keeps its
// parameters.
func TestWithLocalMedia(t *testing.T) {
	tweets := datasets.File{Name: "x_tweets_csv_hashed.zip", Role: datasets.RoleTweets, Path: "/d/x_tweets_csv_hashed.zip"}
	media := datasets.File{Name: "x_hashed_001.zip", Role: datasets.RoleMedia, Path: "/d/x_hashed_001.zip"}
	registry := func(f datasets.File) datasets.File { f.Path = ""; return f }
	for _, tc := range []struct {
		name  string
		desc  datasets.Descriptor
		asked bool
		want  bool
	}{
		{"local with media", datasets.Descriptor{Local: true, Files: []datasets.File{media, tweets}}, false, true},
		{"local without media", datasets.Descriptor{Local: true, Files: []datasets.File{tweets}}, false, false},
		{"local without media, asked", datasets.Descriptor{Local: true, Files: []datasets.File{tweets}}, true, true},
		{"registry with media", datasets.Descriptor{Files: []datasets.File{registry(media), registry(tweets)}}, false, false},
		{"registry with media, asked", datasets.Descriptor{Files: []datasets.File{registry(media), registry(tweets)}}, true, true},
		{"generated with media", datasets.Descriptor{Synth: json.RawMessage(`{"seed":1,"media":{"archives":1}}`)}, false, true},
		{"generated, no archives", datasets.Descriptor{Synth: json.RawMessage(`{"seed":1,"media":{"archives":0}}`)}, false, false},
		{"generated without media", datasets.Descriptor{Synth: json.RawMessage(`{"seed":1}`)}, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := WithLocalMedia(Params{Media: tc.asked}, tc.desc)
			if got.Media != tc.want {
				t.Errorf("Media = %v, want %v", got.Media, tc.want)
			}
			if !got.Media {
				if b, _ := json.Marshal(got); string(b) != "{}" {
					t.Errorf("parameters without media are %s, want {} (the run ids of before)", b)
				}
			}
		})
	}
}
