package modules

import (
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/vitrine-dev/vitrine/internal/edge"
	"github.com/vitrine-dev/vitrine/internal/platform/bus"
	"github.com/vitrine-dev/vitrine/internal/platform/edgepurge"
	"github.com/vitrine-dev/vitrine/internal/platform/httpx"
)

// EdgeConfig says how an edge cache (Varnish, deploy/varnish) in front of
// the services may keep public catalog reads, and where the catalog's
// changes are purged. All-in-one, there is no edge: nothing is purged,
// and the s-maxage and surrogate keys of answers are unused.
type EdgeConfig struct {
	// MaxAge is the s-maxage of public catalog reads: how long the edge
	// keeps an answer whose purge never arrived.
	MaxAge time.Duration
	// PurgeURLs are the edges' base URLs; catalog changes are purged from
	// each. Empty: no purging.
	PurgeURLs []string
}

// RegisterFlags registers --edge-max-age and --edge-purge-url.
func (c *EdgeConfig) RegisterFlags(f *flag.FlagSet) {
	f.DurationVar(&c.MaxAge, "edge-max-age", time.Minute, "s-maxage of public catalog reads, with surrogate keys (xkey) naming what they show: how long an edge cache may keep one; purges drop them at once, so this bounds a lost purge; under 1s: neither")
	f.Func("edge-purge-url", "base `URL` of an edge cache (Varnish with deploy/varnish/default.vcl) to purge catalog changes from, by surrogate key (repeatable, or a comma list); empty purges nothing", func(v string) error {
		urls := strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' })
		if len(urls) == 0 {
			return errors.New("no URL")
		}
		for _, u := range urls {
			if _, err := edgepurge.CheckURL(u); err != nil {
				return err
			}
		}
		c.PurgeURLs = append(c.PurgeURLs, urls...)
		return nil
	})
}

// Validate checks the s-maxage.
func (c EdgeConfig) Validate() error {
	if c.MaxAge < 0 {
		return errors.New("--edge-max-age must not be negative")
	}
	if len(c.PurgeURLs) > 0 && c.MaxAge < time.Second {
		return errors.New("--edge-purge-url needs an --edge-max-age of at least 1s: without it the edge keeps nothing to purge")
	}
	return nil
}

// SharedCache is what the edge may do with public answers.
func (c EdgeConfig) SharedCache() httpx.SharedCache { return httpx.SharedCache{MaxAge: c.MaxAge} }

// startEdgePurge purges catalog changes from the edges, when there are.
func (a *App) startEdgePurge() error {
	if len(a.cfg.Edge.PurgeURLs) == 0 {
		return nil
	}
	p, err := edgepurge.New(edgepurge.Config{URLs: a.cfg.Edge.PurgeURLs, Breakers: a.breakers, Registerer: a.metrics.Registry})
	if err != nil {
		return fmt.Errorf("--edge-purge-url: %w", err)
	}
	a.consume([]bus.Runner{edge.Consumer(p, a.logger)})
	return nil
}
