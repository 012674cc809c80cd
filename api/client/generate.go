// Package client is a Go client of the Vitrine HTTP API, generated from
// api/openapi.json by oapi-codegen. Never edit client.gen.go: change the
// document and run go generate ./api/client.
package client

//go:generate go tool oapi-codegen -config oapi-codegen.yaml -o client.gen.go ../openapi.json
