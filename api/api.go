// Package api embeds the OpenAPI document, the contract of the HTTP API.
package api

import _ "embed"

// OpenAPI is the OpenAPI 3.1 document served at /openapi.json.
//
//go:embed openapi.json
var OpenAPI []byte
