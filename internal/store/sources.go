package store

import (
	"encoding/json"
	"fmt"
)

// SourceListName is the file a fetch run writes to name its source files.
const SourceListName = "sources.json"

// SourceFile is one file of a fetched release in the content-addressed store.
type SourceFile struct {
	Name   string `json:"name"`   // file name as published
	Role   string `json:"role"`   // users, tweets, truth, ... as the descriptor says
	SHA256 string `json:"sha256"` // content address
	Bytes  int64  `json:"bytes"`
}

// SourceList is the content of sources.json.
type SourceList []SourceFile

// ReadSourceList reads a sources.json file.
func ReadSourceList(path string) (SourceList, error) {
	b, err := readPath(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	var l SourceList
	if err := json.Unmarshal(b, &l); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return l, nil
}

// WriteSourceList writes sources.json into dir.
func WriteSourceList(path string, l SourceList) error {
	b, err := json.MarshalIndent(l, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(path, append(b, '\n'))
}
