package app

// GetGzipped is getGzipped, for the tests of a running daemon.
var GetGzipped = getGzipped
