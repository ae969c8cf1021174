package ctl

import (
	"context"
	"errors"
)

// runStatus is written once internal/status (the status page's JSON
// document) exists.
func runStatus(context.Context, []string, IO) error {
	return errors.New("not implemented yet")
}
