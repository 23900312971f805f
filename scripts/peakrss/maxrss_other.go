//go:build unix && !darwin

package main

// maxrssUnit is the unit of ru_maxrss in bytes: Linux and the BSDs count KiB.
const maxrssUnit = 1024
