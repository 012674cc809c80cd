package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/vitrine-dev/vitrine/internal/auth"
	"github.com/vitrine-dev/vitrine/internal/auth/authdb"
	"github.com/vitrine-dev/vitrine/internal/modules"
	"github.com/vitrine-dev/vitrine/internal/platform/blobstore"
	"github.com/vitrine-dev/vitrine/internal/platform/errs"
	"github.com/vitrine-dev/vitrine/internal/platform/obs"
	"github.com/vitrine-dev/vitrine/internal/product"
	"github.com/vitrine-dev/vitrine/internal/product/productdb"
	"github.com/vitrine-dev/vitrine/internal/product/productseed"
)

// migrate applies the migrations of the targeted services and exits.
func migrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	var sf storeFlags
	target := fs.String("target", modules.All, "services whose migrations to apply")
	sf.register(fs)
	if err := parse(fs, args, getenv, stderr); err != nil {
		return err
	}
	targets, err := modules.ParseTargets(*target)
	if err != nil {
		return err
	}
	if err := modules.Migrate(ctx, sf.config(targets)); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "migrations applied")
	return nil
}

// user manages users: "user create".
func user(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		return fmt.Errorf("usage: vitrine user create --email E --password P [--role admin|customer]")
	}
	fs := flag.NewFlagSet("user create", flag.ContinueOnError)
	var sf storeFlags
	email := fs.String("email", "", "e-mail address")
	password := fs.String("password", "", "password (8 to 128 characters, not common, not made from the e-mail address)")
	role := fs.String("role", "customer", "admin or customer")
	sf.register(fs)
	if err := parse(fs, args[1:], getenv, stderr); err != nil {
		return err
	}
	store, err := authdb.Open(ctx, sf.config(nil).SQLConfig(modules.Auth))
	if err != nil {
		return err
	}
	defer store.Close()
	svc, err := auth.NewService(store, auth.Config{})
	if err != nil {
		return err
	}
	u, err := svc.CreateUser(ctx, *email, *password, *role)
	var invalid *errs.Error
	if errors.As(err, &invalid) && len(invalid.Fields) > 0 {
		// Name the flags at fault, as the API names the fields.
		msgs := make([]string, len(invalid.Fields))
		for i, f := range invalid.Fields {
			msgs[i] = "--" + f.Field + " " + f.Detail
		}
		return errors.New(strings.Join(msgs, "; "))
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "created %s user %s (%s)\n", u.Role, u.Email, u.ID)
	return nil
}

// seed fills the catalog with a realistic demo data set.
func seed(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("seed", flag.ContinueOnError)
	var sf storeFlags
	n := fs.Int("products", 1000, "number of products to create")
	randSeed := fs.Uint64("seed", 1, "random seed; the same seed gives the same catalog")
	blobURL := fs.String("blob-url", "", "where the products' pictures go, as for serve: file:///a/dir or s3://bucket?…; empty keeps them under --data-dir/blobs")
	sf.register(fs)
	if err := parse(fs, args, getenv, stderr); err != nil {
		return err
	}
	if *n < 0 || *n > 10_000_000 {
		return fmt.Errorf("--products must be between 0 and 10000000")
	}
	cfg := sf.config(nil)
	cfg.Product.BlobURL = *blobURL
	store, err := productdb.Open(ctx, cfg.SQLConfig(modules.Product))
	if err != nil {
		return err
	}
	defer store.Close()
	pictures, closePictures, err := seedPictures(ctx, store, cfg, stderr)
	if err != nil {
		return err
	}
	defer closePictures()
	start := time.Now()
	last := start
	err = productseed.Seed(ctx, store, pictures, *n, *randSeed, func(done int) {
		if time.Since(last) > 2*time.Second || done == *n {
			fmt.Fprintf(stderr, "seeded %d/%d products (%s)\n", done, *n, time.Since(start).Round(time.Millisecond))
			last = time.Now()
		}
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "seeded %d products in %d categories in %s\n", *n, len(productseed.Categories()), time.Since(start).Round(time.Millisecond))
	return nil
}

// seedPictures is where seeded pictures go: through the product service's
// upload pipeline into the blob store serve reads them from.
func seedPictures(ctx context.Context, store *productdb.Store, cfg modules.Config, stderr io.Writer) (*product.Service, func() error, error) {
	secret, err := store.CursorSecret(ctx)
	if err != nil {
		return nil, nil, err
	}
	svc, err := product.NewService(store, secret)
	if err != nil {
		return nil, nil, err
	}
	blobURL, err := cfg.BlobStoreURL()
	if err != nil {
		return nil, nil, fmt.Errorf("--blob-url: %w", err)
	}
	blobs, err := blobstore.Open(ctx, blobURL)
	if err != nil {
		return nil, nil, fmt.Errorf("--blob-url: %w", err)
	}
	if err := svc.UseImages(blobs, obs.NewLogger(stderr, "warn")); err != nil {
		blobs.Close()
		return nil, nil, err
	}
	return svc, blobs.Close, nil
}
