package httpserver

import (
	"github.com/labstack/echo/v4"

	"github.com/ssegate/ssegate/internal/httperr"
)

// ErrorHook observes an error answer: answer is what the error handler is
// about to send for the request c (httperr.Answer of the handler's error).
// It runs on the request's goroutine, before the answer is written, so a
// client that has read the answer also sees what the hook counted.
type ErrorHook func(c echo.Context, answer *httperr.Error)

// OnError makes e's HTTPErrorHandler (the one NewEcho installs) call hook
// for every error it answers, before answering. This is where a service
// counts its refusals: in the one place every refusal passes through, by
// the error code the client receives, rather than by hand at every return.
//
// The hook sees what reaches the error handler: a handler or middleware
// that returns nil (having answered, or because there is no one left to
// answer) is not observed, nor is an error after the response was
// committed, which the handler does not answer either. Each call adds a
// hook (a gateway with the publisher embedded has two); a hook must not
// depend on another having run. Call it while setting up routes, before
// serving.
func OnError(e *echo.Echo, hook ErrorHook) {
	next := e.HTTPErrorHandler
	e.HTTPErrorHandler = func(err error, c echo.Context) {
		if !c.Response().Committed {
			answer, _ := httperr.Answer(err)
			hook(c, answer)
		}
		next(err, c)
	}
}
