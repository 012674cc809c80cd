// Package deploytest checks the files that ship and deploy Vitrine, none of
// which can be built or applied on a development machine (no image
// registry, no cluster): the Dockerfile and .dockerignore, compose.yaml and
// the files it mounts, and the kustomize overlays under deploy/k8s. Each is
// read with the library made for it (BuildKit's Dockerfile parser, the
// Compose loader, kustomize and the Kubernetes API types, nats-server's
// configuration parser), validated against its schema (every Kubernetes
// object: Kubernetes' OpenAPI documents, the operators' CRDs in
// testdata/crds), then checked for what an operator relies on.
//
// It is a module of its own, so that these libraries stay out of Vitrine's
// go.mod: run it with "make deploy-test".
package deploytest

// root is the repository, from this package's directory.
const root = "../.."
