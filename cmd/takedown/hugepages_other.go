//go:build !linux

package main

// adviseHugePages is a no-op where transparent huge pages do not exist.
func adviseHugePages() {}
