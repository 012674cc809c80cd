package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/internal/platform/bus/bustest"
	"github.com/vitrine-dev/vitrine/internal/platform/sqldb/sqltest"
)

// createCredential makes a service credential with the purchases scope
// through the admin API and returns its id and token.
func (c *catalog) createCredential(t testing.TB, name string) (id, token string) {
	t.Helper()
	var cred struct {
		ID    string `json:"id"`
		Token string `json:"token"`
	}
	expect(t, c.do(call{Method: "POST", Path: "/api/auth/credentials", Token: c.admin,
		Body: map[string]any{"name": name, "scopes": []string{"analytics:purchases"}}}), 201).JSON(t, &cred)
	return cred.ID, cred.Token
}

type ingestResult struct {
	Accepted   int `json:"accepted"`
	Uncounted  int `json:"uncounted"`
	Duplicates int `json:"duplicates"`
	Rejected   int `json:"rejected"`
	Errors     []struct {
		Index  int    `json:"index"`
		Field  string `json:"field"`
		Detail string `json:"detail"`
	} `json:"errors"`
}

// sendEvents posts events with token (none when empty) and returns the response.
func (c *catalog) sendEvents(token string, events ...map[string]any) *response {
	return c.do(call{Method: "POST", Path: "/api/analytics/events", Token: token, Body: map[string]any{"events": events}})
}

func event(id, typ, product string, quantity int) map[string]any {
	e := map[string]any{"id": id, "type": typ, "product_id": product}
	if quantity > 0 {
		e["quantity"] = quantity
	}
	return e
}

// TestRankingsCannotBeBoughtAnonymously: floods of anonymous purchases
// and of one client's views leave bestsellers, sort=-sales and search
// popularity as they were; purchases through a service credential move
// them. Credentials come from the CLI or the admin API; a revoked one is
// refused.
func TestRankingsCannotBeBoughtAnonymously(t *testing.T) {
	c := startCatalog(t)
	lamp := c.createProduct(t, productBody("Lamp", "LAMP-1", 1999, nil))
	mug := c.createProduct(t, productBody("Mug", "MUG-1", 999, nil))
	kettle := c.createProduct(t, productBody("Kettle", "KET-1", 2999, nil))

	// The checkout's credential, made with the CLI next to the running server.
	out := runCommand(t, nil, "credential", "create", "--data-dir", c.dataDir, "--name", "checkout", "--scope", "analytics:purchases")
	checkout := strings.TrimSpace(out)
	if !strings.HasPrefix(checkout, "vtc_") || strings.Count(out, "\n") != 1 {
		t.Fatalf("credential create printed %q, want the token alone", out)
	}
	listed := runCommand(t, nil, "credential", "list", "--data-dir", c.dataDir)
	if !strings.Contains(listed, "checkout") || strings.Contains(listed, checkout[len("vtc_")+37:]) {
		t.Fatalf("credential list:\n%s", listed)
	}

	// The honest state: one kettle sold, the mug viewed three times.
	eventually(t, 10*time.Second, "analytics knows the products", func() bool {
		var r ingestResult
		expect(t, c.sendEvents(checkout, event("k1", "purchase", kettle.ID, 1),
			event("m1", "view", mug.ID, 0), event("m2", "view", mug.ID, 0), event("m3", "view", mug.ID, 0)), 202).JSON(t, &r)
		return r.Accepted+r.Duplicates == 4
	})

	// The attack: purchases without a credential, by the thousand.
	var flood []map[string]any
	for i := range 500 {
		flood = append(flood, event(fmt.Sprint("buy-", i), "purchase", lamp.ID, 1000))
	}
	p := c.sendEvents("", flood...).expectProblem(t, 403)
	if len(p.Errors) != 500 || p.Errors[3].Field != "events[3].type" {
		t.Fatalf("anonymous purchases: %d errors, first %+v", len(p.Errors), p.Errors[:1])
	}
	c.sendEvents(c.customer, flood[:1]...).expectField(t, 403, "events[0].type")
	c.sendEvents(c.admin, flood[:1]...).expectField(t, 403, "events[0].type")
	revokedID, revoked := c.createCredential(t, "old-checkout")
	expect(t, c.do(call{Method: "DELETE", Path: "/api/auth/credentials/" + revokedID, Token: c.admin}), 204)
	c.sendEvents(revoked, flood[:1]...).expectProblem(t, 401)
	c.sendEvents(checkout+"x", flood[:1]...).expectProblem(t, 401)
	// A credential is no admin, nor a user.
	c.do(call{Method: "POST", Path: "/api/products", Token: checkout, Body: productBody("Fake", "FAKE-1", 1, nil)}).expectProblem(t, 403)
	c.get("/api/auth/me", checkout).expectProblem(t, 403)

	// And views from one client, over and over: they count once.
	for b := range 4 {
		var views []map[string]any
		for i := range 500 {
			views = append(views, event(fmt.Sprintf("view-%d-%d", b, i), "view", lamp.ID, 0))
		}
		var r ingestResult
		expect(t, c.sendEvents("", views...), 202).JSON(t, &r)
		counted := 0
		if b == 0 {
			counted = 1 // the first view of the window
		}
		if r.Accepted != 500 || r.Uncounted != 500-counted {
			t.Fatalf("views batch %d: %+v", b, r)
		}
	}
	var r ingestResult
	expect(t, c.sendEvents(c.customer, event("cv1", "view", lamp.ID, 0), event("cv2", "view", lamp.ID, 0)), 202).JSON(t, &r)
	if r.Accepted != 2 || r.Uncounted != 1 {
		t.Fatalf("a customer's views: %+v", r)
	}

	// Stats flow in order: once a later purchase of the kettle shows,
	// whatever counted of the floods has been applied too.
	expect(t, c.sendEvents(checkout, event("k2", "purchase", kettle.ID, 1)), 202)
	eventually(t, 15*time.Second, "the marker purchase reaches bestsellers and search", func() bool {
		var best struct{ Items []productJSON }
		expect(t, c.get("/api/products/bestsellers?limit=3", ""), 200).JSON(t, &best)
		return len(best.Items) == 3 && best.Items[0].ID == kettle.ID && best.Items[0].SalesCount == 2 &&
			searchOrder(t, c) == kettle.ID+" "+mug.ID+" "+lamp.ID
	})
	var best struct{ Items []productJSON }
	expect(t, c.get("/api/products/bestsellers?limit=3", ""), 200).JSON(t, &best)
	for _, it := range best.Items {
		if it.ID == lamp.ID && it.SalesCount != 0 {
			t.Fatalf("the lamp sold %d after anonymous purchases", it.SalesCount)
		}
	}
	var sorted struct{ Items []productJSON }
	expect(t, c.get("/api/products?sort=-sales", ""), 200).JSON(t, &sorted)
	if sorted.Items[0].ID != kettle.ID {
		t.Fatalf("sort=-sales starts with %s", sorted.Items[0].Name)
	}

	// The checkout's purchases are what moves rankings.
	expect(t, c.sendEvents(checkout, event("l1", "purchase", lamp.ID, 5)), 202)
	eventually(t, 15*time.Second, "the lamp's sales reach every ranking", func() bool {
		var best struct{ Items []productJSON }
		expect(t, c.get("/api/products/bestsellers?limit=1", ""), 200).JSON(t, &best)
		return len(best.Items) == 1 && best.Items[0].ID == lamp.ID && best.Items[0].SalesCount == 5 &&
			strings.HasPrefix(searchOrder(t, c), lamp.ID)
	})
	expect(t, c.get("/api/products?sort=-sales", ""), 200).JSON(t, &sorted)
	if sorted.Items[0].ID != lamp.ID {
		t.Fatalf("sort=-sales starts with %s", sorted.Items[0].Name)
	}

	// Revoked with the CLI, the checkout's credential stops working at once.
	id := strings.TrimPrefix(checkout, "vtc_")[:36]
	runCommand(t, nil, "credential", "revoke", id, "--data-dir", c.dataDir)
	c.sendEvents(checkout, event("l2", "purchase", lamp.ID, 5)).expectProblem(t, 401)
}

// searchOrder is the ids of search's sort=popular, space-separated.
func searchOrder(t *testing.T, c *catalog) string {
	var ids []string
	for _, it := range c.search(t, "sort=popular").Items {
		ids = append(ids, it.ID)
	}
	return strings.Join(ids, " ")
}

// TestSplitShapeVerifiesCredentialsWithAuth: analytics in its own process
// asks the auth service about the credentials it is shown.
func TestSplitShapeVerifiesCredentialsWithAuth(t *testing.T) {
	pg := sqltest.NewDatabase(t)
	env := map[string]string{"VITRINE_POSTGRES_URL": pg, "VITRINE_NATS_URL": bustest.URL(), "VITRINE_NAMESPACE": bustest.Prefix(t)}
	runCommand(t, env, "user", "create", "--email", "ops@vitrine.test", "--password", "ops-password", "--role", "admin")
	auth := startServer(t, env, "--target", "auth")
	env["VITRINE_AUTH_URL"] = auth.URL
	stats := startServer(t, env, "--target", "analytics")
	admin := &catalog{server: auth}
	admin.admin = admin.login(t, "ops@vitrine.test", "ops-password")
	_, checkout := admin.createCredential(t, "checkout")
	revokedID, revoked := admin.createCredential(t, "old-checkout")
	expect(t, auth.do(call{Method: "DELETE", Path: "/api/auth/credentials/" + revokedID, Token: admin.admin}), 204)

	c := &catalog{server: stats}
	var r ingestResult
	expect(t, c.sendEvents(checkout, event("b1", "purchase", "no-such-product", 1)), 202).JSON(t, &r)
	if r.Rejected != 1 || r.Errors[0].Detail != "unknown product" {
		t.Fatalf("a purchase through the credential: %+v", r)
	}
	c.sendEvents(revoked, event("b2", "purchase", "no-such-product", 1)).expectProblem(t, 401)
	c.sendEvents("vtc_"+strings.Repeat("A", 80), event("b3", "purchase", "no-such-product", 1)).expectProblem(t, 401)
	c.sendEvents("", event("b4", "purchase", "no-such-product", 1)).expectField(t, 403, "events[0].type")
	// The analytics process serves no credential routes of its own.
	stats.get("/api/auth/credentials/self", checkout).expectProblem(t, 404)
}
