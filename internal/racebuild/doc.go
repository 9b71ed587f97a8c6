// Package racebuild says whether the race detector is built in, for the
// tests whose cost or build it changes: under -race the writer runs many
// times slower, so the overload test would measure the detector and the
// delivery-order property test runs fewer scenarios; the crash test
// builds its daemon with -race too.
package racebuild
