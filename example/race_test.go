//go:build race

package main

// raceEnabled says that the tests run with -race, so the server they start
// is built with it too.
const raceEnabled = true
