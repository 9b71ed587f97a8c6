//go:build race

package pipeline_test

// raceEnabled says the tests run with -race, which runs the pipeline many
// times slower: see TestEveryOrderSameRecordsGenerated.
const raceEnabled = true
