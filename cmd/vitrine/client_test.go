package main

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/api/client"
)

// TestGeneratedClientTour walks the API as a program built on the client
// generated from api/openapi.json would: a shopper registers and logs in,
// an admin stocks the catalog, the shopper browses and searches, and the
// admin reads the analytics. Every request and answer goes through the
// generated types, so a server that drifts from the document fails here.
func TestGeneratedClientTour(t *testing.T) {
	dir := t.TempDir()
	runCommand(t, nil, "user", "create", "--data-dir", dir, "--email", "admin@vitrine.test", "--password", "admin-password", "--role", "admin")
	s := startServer(t, nil, "--data-dir", dir)
	api, err := client.NewClientWithResponses(s.URL, client.WithHTTPClient(contractDoer{}))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	// A shopper registers and logs in.
	shopper := client.Credentials{Email: "shopper@vitrine.test", Password: "shopper-password"}
	registered := got(api.RegisterWithResponse(ctx, shopper)).want(t, http.StatusCreated).JSON201
	if registered.Email != "shopper@vitrine.test" || registered.Role != client.UserRoleCustomer {
		t.Fatalf("registered %+v, want a customer", registered)
	}
	tokens := got(api.LoginWithResponse(ctx, shopper)).want(t, http.StatusOK).JSON200
	if tokens.TokenType != client.TokenPairTokenTypeBearer || tokens.ExpiresIn <= 0 || tokens.RefreshToken == "" {
		t.Fatalf("login gave %+v", tokens)
	}
	me := got(api.GetCurrentUserWithResponse(ctx, bearer(tokens.AccessToken))).want(t, http.StatusOK).JSON200
	if me.ID != registered.ID {
		t.Fatalf("me is %+v, want %+v", me, registered)
	}

	// The admin makes a category and a product; a shopper may do neither.
	admin := got(api.LoginWithResponse(ctx, client.Credentials{Email: "admin@vitrine.test", Password: "admin-password"})).want(t, http.StatusOK).JSON200
	got(api.CreateCategoryWithResponse(ctx, client.CategoryInput{Slug: new("lighting"), Name: "Lighting"}, bearer(admin.AccessToken))).want(t, http.StatusCreated)
	lantern := client.ProductInput{
		Name: "Storm Lantern", Brand: new("Acme"), Category: new("lighting"), Status: new(client.ProductInputStatusActive),
		Variants: []client.Variant{
			{SKU: "LAN-S", Price: client.Money{Amount: 1999, Currency: "EUR"}, Stock: new(3), Options: map[string]string{"size": "S"}},
			{SKU: "LAN-L", Price: client.Money{Amount: 2999, Currency: "EUR"}, Stock: new(0), Options: map[string]string{"size": "L"}},
		},
	}
	refused := got(api.CreateProductWithResponse(ctx, nil, lantern, bearer(tokens.AccessToken))).want(t, http.StatusForbidden)
	if refused.ApplicationProblemJSON403.Status != http.StatusForbidden {
		t.Fatalf("a shopper creating a product: %+v", refused.ApplicationProblemJSON403)
	}
	created := got(api.CreateProductWithResponse(ctx, &client.CreateProductParams{IdempotencyKey: new("tour-lantern")}, lantern, bearer(admin.AccessToken))).want(t, http.StatusCreated)
	product := created.JSON201
	if product.Slug != "storm-lantern" || product.Version != 1 || !product.InStock ||
		product.Price.Min != 1999 || product.Price.Max != 2999 || product.Price.Currency != "EUR" {
		t.Fatalf("created %+v", product)
	}
	if created.Headers201.ETag == nil || *created.Headers201.Location != "/api/products/"+product.ID.String() {
		t.Fatalf("created with headers %+v", created.Headers201)
	}

	// The shopper lists the category, reads the product by its slug, and
	// revalidates it with its entity tag.
	page := got(api.ListProductsWithResponse(ctx, &client.ListProductsParams{Category: new("lighting")})).want(t, http.StatusOK).JSON200
	if len(page.Items) != 1 || page.Items[0].ID != product.ID || page.NextCursor != nil {
		t.Fatalf("listing: %+v", page)
	}
	read := got(api.GetProductWithResponse(ctx, "storm-lantern", nil)).want(t, http.StatusOK)
	if read.JSON200.ID != product.ID || len(read.JSON200.Variants) != 2 {
		t.Fatalf("read by slug: %+v", read.JSON200)
	}
	got(api.GetProductWithResponse(ctx, "storm-lantern", &client.GetProductParams{IfNoneMatch: read.Headers200.ETag})).want(t, http.StatusNotModified)

	// Search finds the product, with a typo, once the index has it.
	var found *client.SearchResult
	eventually(t, 10*time.Second, "the lantern is searchable", func() bool {
		found = got(api.SearchProductsWithResponse(ctx, &client.SearchProductsParams{Q: new("lantren")})).want(t, http.StatusOK).JSON200
		return found.Total == 1
	})
	if hit := found.Items[0]; hit.ID != product.ID.String() || hit.Slug != "storm-lantern" || !hit.InStock {
		t.Fatalf("search hit: %+v", hit)
	}
	suggestions := got(api.SuggestProductsWithResponse(ctx, &client.SuggestProductsParams{Q: new("stor")})).want(t, http.StatusOK).JSON200
	if len(suggestions.Suggestions) == 0 || *suggestions.Suggestions[0].Slug != "storm-lantern" {
		t.Fatalf("suggestions for %q: %+v", "stor", suggestions)
	}

	// The shopper's view counts; the admin sees it in the analytics, with
	// the search that found the product.
	view := client.SendEventsJSONRequestBody{Events: []client.ClientEvent{
		{ID: "tour-view-1", Type: client.ClientEventTypeView, ProductID: product.ID.String()},
	}}
	eventually(t, 10*time.Second, "analytics knows the product", func() bool {
		return got(api.SendEventsWithResponse(ctx, view, bearer(tokens.AccessToken))).want(t, http.StatusAccepted).JSON202.Accepted == 1
	})
	got(api.ListTopProductsWithResponse(ctx, nil, bearer(tokens.AccessToken))).want(t, http.StatusForbidden)
	eventually(t, 10*time.Second, "the view is in the top products", func() bool {
		top := got(api.ListTopProductsWithResponse(ctx, &client.ListTopProductsParams{
			Metric: new(client.ListTopProductsParamsMetricViews), Window: new(client.ListTopProductsParamsWindowN1H)}, bearer(admin.AccessToken))).want(t, http.StatusOK).JSON200
		return len(top.Items) == 1 && top.Items[0].ProductID == product.ID.String() && top.Items[0].Value == 1
	})
	eventually(t, 10*time.Second, "the search is in the top searches", func() bool {
		searches := got(api.ListTopSearchesWithResponse(ctx, &client.ListTopSearchesParams{
			Kind: new(client.ListTopSearchesParamsKindTop)}, bearer(admin.AccessToken))).want(t, http.StatusOK).JSON200
		for _, q := range searches.Items {
			if q.Query == "lantren" && q.Count >= 1 {
				return true
			}
		}
		return false
	})
	summary := got(api.GetAnalyticsSummaryWithResponse(ctx, nil, bearer(admin.AccessToken))).want(t, http.StatusOK).JSON200
	if summary.Totals["views"] != 1 || len(summary.Series) == 0 {
		t.Fatalf("summary: %+v", summary)
	}

	// The admin retires the product; it is gone for everyone.
	got(api.DeleteProductWithResponse(ctx, product.ID, &client.DeleteProductParams{IfMatch: read.Headers200.ETag}, bearer(admin.AccessToken))).want(t, http.StatusNoContent)
	gone := got(api.GetProductWithResponse(ctx, product.ID.String(), nil)).want(t, http.StatusNotFound)
	if gone.ApplicationProblemJSON404.Status != http.StatusNotFound {
		t.Fatalf("deleted product: %+v", gone.ApplicationProblemJSON404)
	}

	// The shopper's session ends: its refresh token is spent.
	got(api.LogoutWithResponse(ctx, client.RefreshRequest{RefreshToken: tokens.RefreshToken})).want(t, http.StatusNoContent)
	got(api.RefreshWithResponse(ctx, client.RefreshRequest{RefreshToken: tokens.RefreshToken})).want(t, http.StatusUnauthorized)
}

// generatedResponse is what every response type of the generated client has.
type generatedResponse interface {
	StatusCode() int
	GetBody() []byte
}

// reply is the generated client's answer to one call, or its error.
type reply[R generatedResponse] struct {
	r   R
	err error
}

// got takes a call of the generated client, to check with want:
//
//	me := got(api.GetCurrentUserWithResponse(ctx, bearer(token))).want(t, http.StatusOK).JSON200
func got[R generatedResponse](r R, err error) reply[R] { return reply[R]{r, err} }

// want fails the test unless the call was answered with status.
func (c reply[R]) want(t *testing.T, status int) R {
	t.Helper()
	if c.err != nil {
		t.Fatal(c.err)
	}
	if c.r.StatusCode() != status {
		t.Fatalf("status %d, want %d; body: %s", c.r.StatusCode(), status, c.r.GetBody())
	}
	return c.r
}

// bearer adds an access token to a request of the generated client.
func bearer(token string) client.RequestEditorFn {
	return func(_ context.Context, req *http.Request) error {
		req.Header.Set("Authorization", "Bearer "+token)
		return nil
	}
}
