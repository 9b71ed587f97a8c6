//go:build !race

package pipeline_test

// raceEnabled says the tests run with -race; see race_test.go.
const raceEnabled = false
