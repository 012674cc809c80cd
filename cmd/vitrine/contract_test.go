package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/vitrine-dev/vitrine/api"
)

// The tests hold the server to api/openapi.json: every answer they get from
// an operation of the document is checked against it (server.do and the
// generated client's contractDoer), so a handler and the document cannot
// drift apart unnoticed.

// contractDoer sends the generated client's requests and, as server.do
// does, checks each answer against the document.
type contractDoer struct{}

func (contractDoer) Do(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", req.Method, req.URL, err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if err := checkAgainstContract(req, resp, body); err != nil {
		return nil, fmt.Errorf("%s %s answered %d, which api/openapi.json does not allow: %w\n%s", req.Method, req.URL.Path, resp.StatusCode, err, body)
	}
	return resp, nil
}

// contract finds the operations of api/openapi.json.
var contract = sync.OnceValues(func() (routers.Router, error) {
	doc, err := openapi3.NewLoader().LoadFromData(api.OpenAPI)
	if err != nil {
		return nil, err
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, err
	}
	doc.Servers = nil // tests serve on any port
	return legacy.NewRouter(doc)
})

// checkAgainstContract reports how resp departs from what api/openapi.json
// says req's operation answers: a status it does not list, a header or a
// body that does not fit the schema, a media type it does not give.
func checkAgainstContract(req *http.Request, resp *http.Response, body []byte) error {
	router, err := contract()
	if err != nil {
		return err
	}
	// The operation is found by the path as sent, so that an escaped "/"
	// stays inside its segment, as it does for the server's router.
	sent := req.Clone(req.Context())
	sent.URL.Path = req.URL.EscapedPath()
	route, params, err := router.FindRoute(sent)
	if err != nil {
		return err
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 resp.StatusCode,
		Header:                 resp.Header,
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	in.SetBodyBytes(body)
	return openapi3filter.ValidateResponse(req.Context(), in)
}
