package main

import "github.com/irohconf/irohconf/internal/cli"

// usageError marks invalid input: exit 2, with {"error":...} on stdout unless the command has
// already printed its own line.
func usageError(err error) error { return cli.Invalid(err) }

// failure marks an operation that ran and failed: exit 1.
func failure(err error) error { return cli.Failed(err) }
