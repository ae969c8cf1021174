package service

import (
	"errors"
	"flag"

	"github.com/ssegate/ssegate/internal/httpserver"
)

// ExitCode is the process status for run's result: 0 for success and for
// -h (asking for help is not an error), 1 when -healthcheck finds the
// service unhealthy (what a container HEALTHCHECK expects; Docker reserves
// 2), and 2 for every other error (a bad setting, a failed start).
func ExitCode(err error) int {
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, httpserver.ErrUnhealthy):
		return 1
	}
	return 2
}
