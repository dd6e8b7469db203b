package main

import (
	"testing"

	"go.uber.org/goleak"
)

// serve starts goroutines and fx applications; every test must leave none behind.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
