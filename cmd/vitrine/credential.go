package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/vitrine-dev/vitrine/internal/auth"
	"github.com/vitrine-dev/vitrine/internal/auth/authdb"
	"github.com/vitrine-dev/vitrine/internal/modules"
)

const credentialUsage = `usage: vitrine credential create --name NAME --scope SCOPE[,SCOPE...]
       vitrine credential list
       vitrine credential revoke ID`

// credential manages service credentials: "credential create", "list" and
// "revoke ID", on the auth store, like "user create".
func credential(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("%s", credentialUsage)
	}
	fs := flag.NewFlagSet("credential "+args[0], flag.ContinueOnError)
	var sf storeFlags
	sf.register(fs)
	var name, scopes *string
	var id string
	rest := args[1:]
	switch args[0] {
	case "create":
		name = fs.String("name", "", "what the credential is for, e.g. checkout (lower-case letters, digits, . _ -)")
		scopes = fs.String("scope", "", "comma list of scopes to grant: analytics:purchases")
	case "list":
	case "revoke":
		// The id comes first, so that store flags may follow it.
		if len(rest) == 0 || strings.HasPrefix(rest[0], "-") {
			return fmt.Errorf("%s", credentialUsage)
		}
		id, rest = rest[0], rest[1:]
	default:
		return fmt.Errorf("%s", credentialUsage)
	}
	if err := parse(fs, rest, getenv, stderr); err != nil {
		return err
	}
	svc, closeStore, err := openAuth(ctx, sf)
	if err != nil {
		return err
	}
	defer closeStore()
	switch args[0] {
	case "create":
		var list []string
		if *scopes != "" {
			list = strings.Split(*scopes, ",")
		}
		c, err := svc.CreateCredential(ctx, *name, list)
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "created credential %s (%s) with scopes %s; the token below is shown this once:\n",
			c.Name, c.ID, strings.Join(c.Scopes, ","))
		fmt.Fprintln(stdout, c.Token)
	case "list":
		list, err := svc.Credentials(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tSCOPES\tCREATED\tREVOKED")
		for _, c := range list {
			revoked := "-"
			if c.RevokedAt != nil {
				revoked = c.RevokedAt.Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", c.ID, c.Name, strings.Join(c.Scopes, ","), c.CreatedAt.Format(time.RFC3339), revoked)
		}
		return tw.Flush()
	case "revoke":
		if err := svc.RevokeCredential(ctx, id); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "revoked credential %s\n", id)
	}
	return nil
}

// openAuth opens the auth store where the store flags say and the service on it.
func openAuth(ctx context.Context, sf storeFlags) (*auth.Service, func(), error) {
	store, err := authdb.Open(ctx, sf.config(nil).SQLConfig(modules.Auth))
	if err != nil {
		return nil, nil, err
	}
	svc, err := auth.NewService(store, auth.Config{})
	if err != nil {
		store.Close()
		return nil, nil, err
	}
	return svc, func() { store.Close() }, nil
}
