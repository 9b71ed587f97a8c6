//go:build race

package racebuild

// Enabled says the binary (a test binary, mostly) was built with -race.
const Enabled = true
