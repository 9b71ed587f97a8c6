//go:build race

package app_test

// raceEnabled says the tests run with -race, which slows the writer down
// many times over: the overload test then measures the race detector.
const raceEnabled = true
