package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// The console, as people use it: in Debian's Chromium, headless, driven
// through the DevTools protocol. It takes a browser and half a minute, so
// it runs with VITRINE_BROWSER_TEST=1, in make check (make browser-test,
// which installs Chromium when it is missing; make screenshots); there, a
// missing browser fails the test.

const installChromium = "apt-get install -y chromium"

// browser is one tab, with the errors its page reported.
type browser struct {
	t   *testing.T
	ctx context.Context

	mu     sync.Mutex
	errors []string
}

func startBrowser(t *testing.T) *browser {
	t.Helper()
	var path string
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		t.Fatalf("no Chromium to drive: the console's browser tests need it; install it with\n\t%s\n(make browser-test does this)", installChromium)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.WindowSize(1280, 900))
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox) // Chromium refuses its sandbox to root
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(allocCtx)
	t.Cleanup(func() { cancelTab(); cancelAlloc() })

	b := &browser{t: t, ctx: ctx}
	// The first action starts the browser, and must have no deadline.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start %s: %v", path, err)
	}
	// Script errors and refused loads (a Content-Security-Policy
	// violation) fail the test; an image that does not load is the page's
	// business (it shows a placeholder).
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.IsException() || m.Source == "security" || m.Source == "javascript" {
				b.report(fmt.Sprintf("%s (%s:%d)", m, m.URL, m.Line+1))
			}
		}
	}()
	t.Cleanup(func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		for _, e := range b.errors {
			t.Errorf("the page reported %s", e)
		}
	})
	return b
}

func (b *browser) report(e string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.errors = append(b.errors, e)
}

// do performs steps, failing the test with what was being done.
func (b *browser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("%s: %v\n%s", what, err, b.page())
	}
}

// page is what the page shows, for a failure's message.
func (b *browser) page() string {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	text, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.href + "\n" + document.body.innerText`))
	if err != nil {
		return "(the page cannot be read: " + err.Error() + ")"
	}
	return "the page shows:\n" + text
}

// get runs one action that reads something.
func get[T any](b *browser, what string, action chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, action)
	if err != nil {
		b.t.Fatalf("%s: %v\n%s", what, err, b.page())
	}
	return v
}

// waitUntil waits for a JavaScript condition about the page to hold.
func (b *browser) waitUntil(what, condition string) {
	b.t.Helper()
	get(b, what, chromedp.Poll[bool](condition, chromedp.WithPollingTimeout(15*time.Second)))
}

// texts returns the text of every element that matches selector.
func (b *browser) texts(selector string) []string {
	b.t.Helper()
	return get(b, "read "+selector, chromedp.Evaluate[[]string](
		fmt.Sprintf(`[...document.querySelectorAll(%q)].map(e => e.textContent.trim())`, selector)))
}

// text returns the text of the first visible element that matches selector.
func (b *browser) text(selector string) string {
	b.t.Helper()
	return strings.TrimSpace(get(b, "read "+selector, chromedp.Text(chromedp.CSS(selector), chromedp.NodeVisible)))
}

func (b *browser) attr(selector, name string) string {
	b.t.Helper()
	return get(b, "read "+selector, chromedp.AttributeValue(chromedp.CSS(selector), name)).Value
}

// screenshot saves the page to $VITRINE_SCREENSHOTS/name.png when that
// directory is given (make screenshots writes docs/screenshots).
func (b *browser) screenshot(name string) {
	b.t.Helper()
	dir := os.Getenv("VITRINE_SCREENSHOTS")
	if dir == "" {
		return
	}
	b.do("let the page settle", chromedp.Sleep(300*time.Millisecond))
	png := get(b, "screenshot "+name, chromedp.FullScreenshot(100))
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// setField replaces what an input holds by typing, as a person would
// after selecting its text.
func setField(selector, value string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		clearField(selector),
		chromedp.SendKeys(chromedp.CSS(selector), value),
	)
}

// clearField empties a field as a person erasing it would: the page hears
// an input event.
func clearField(selector string) chromedp.Action[chromedp.Void] {
	clear := chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => { const f = document.querySelector(%q); f.value = ""; f.dispatchEvent(new Event("input", { bubbles: true })); })()`, selector))
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) { return clear(ctx, t) }
}

func TestConsoleInTheBrowser(t *testing.T) {
	if os.Getenv("VITRINE_BROWSER_TEST") != "1" {
		t.Skip("the console's browser test runs with VITRINE_BROWSER_TEST=1 (make browser-test, part of make check)")
	}
	dir := t.TempDir()
	runCommand(t, nil, "seed", "--products", "400", "--data-dir", dir)
	runCommand(t, nil, "user", "create", "--data-dir", dir, "--email", "owner@vitrine.test", "--password", "owner-password-1", "--role", "admin")
	s := startServer(t, nil, "--data-dir", dir)
	c := &catalog{server: s, dataDir: dir}
	waitForIndex(t, c, 380) // a few seeded products are drafts

	b := startBrowser(t)

	t.Run("a shopper searches with a typo, filters by brand and opens a product", func(t *testing.T) {
		b.t = t
		b.do("open the shop", chromedp.Navigate(s.URL+"/"), chromedp.WaitVisible(chromedp.CSS(".card")))
		if got := b.text("#results-title"); got != "All products" {
			t.Fatalf("the shop opens on %q", got)
		}
		b.waitUntil("the category tree", `document.querySelectorAll(".tree > li").length === 5`)
		// The seeded products show the pictures drawn for them.
		b.waitUntil("every card's picture, loaded", `(() => {
			const cards = [...document.querySelectorAll(".card")];
			return cards.length > 0 && cards.every((c) => { const img = c.querySelector(".card-picture img"); return img && img.complete && img.naturalWidth > 0; });
		})()`)
		if src := get(b, "the picture a card shows", chromedp.Evaluate[string](`document.querySelector(".card-picture img").currentSrc`)); !strings.HasSuffix(src, "/card.jpg") {
			t.Errorf("a card shows %s, want the card size of its picture (the thumbnail is smaller than the card)", src)
		}
		b.screenshot("storefront")

		// Suggestions come while typing; results follow the words.
		b.do("type a misspelt word", chromedp.Click(chromedp.CSS("#q")), chromedp.SendKeys(chromedp.CSS("#q"), "hedphones"))
		b.waitUntil("suggestions", `!document.getElementById("suggestions").hidden && document.querySelectorAll("#suggestions li").length > 0`)
		for _, sg := range b.texts("#suggestions li") {
			if !strings.Contains(sg, "Headphone") {
				t.Errorf("suggestion %q for hedphones", sg)
			}
		}
		b.waitUntil("results for the typed words", `document.getElementById("results-title").textContent.includes("hedphones")`)
		names := b.texts(".card-name")
		if len(names) == 0 {
			t.Fatal("no results for hedphones")
		}
		for _, n := range names {
			if !strings.Contains(n, "Headphone") {
				t.Errorf("result %q for hedphones", n)
			}
		}
		before := b.text(".results .status")
		b.screenshot("search")

		// A brand from the facet: every result is of that brand, and the
		// count says how many.
		brand := b.texts(".checks label")[0]
		brand = regexp.MustCompile(`\(?\d+\)?$`).ReplaceAllString(brand, "")
		b.do("pick a brand", chromedp.Click(chromedp.CSS(".checks input[type=checkbox]")))
		b.waitUntil("results of that brand", `location.hash.includes("brand=") && [...document.querySelectorAll(".card-brand")].length > 0`)
		b.waitUntil("the count of that brand's results", fmt.Sprintf(`document.querySelector(".results .status").textContent !== %q`, before))
		for _, got := range b.texts(".card-brand") {
			if got != brand {
				t.Errorf("a %q product among the results for brand %q", got, brand)
			}
		}
		if checked := b.texts(".checks input:checked + label"); len(checked) != 1 {
			t.Errorf("brands shown as picked: %v", checked)
		}

		name := b.texts(".card-name")[0]
		b.do("open the first result", chromedp.Click(chromedp.CSS(".card a")), chromedp.WaitVisible(chromedp.CSS("article.product h1")))
		if got := b.text("article.product h1"); got != name {
			t.Errorf("the product page is %q, want %q", got, name)
		}
		if v := b.text(".variant"); !strings.Contains(v, "SKU") {
			t.Errorf("the chosen variant shows %q", v)
		}
		if price := b.text(".product .price"); !strings.ContainsAny(price, "€$£") {
			t.Errorf("price %q", price)
		}
		b.waitUntil("its picture, loaded", `(() => { const img = document.querySelector(".main-picture img"); return img && img.complete && img.naturalWidth > 0; })()`)
		b.screenshot("product")
	})

	t.Run("an administrator logs in, adds a product and finds it in the shop", func(t *testing.T) {
		b.t = t
		b.do("open the admin console", chromedp.Navigate(s.URL+"/#/admin"), chromedp.WaitVisible(chromedp.CSS("form.login")))
		b.do("log in with a wrong password",
			chromedp.SendKeys(chromedp.CSS("#f-email"), "owner@vitrine.test"),
			chromedp.SendKeys(chromedp.CSS("#f-password"), "not-the-password"),
			chromedp.Click(chromedp.CSS("form.login button[type=submit]")))
		b.waitUntil("a refusal", `document.querySelector("form.login .form-summary").textContent.includes("do not match")`)
		b.do("log in", setField("#f-password", "owner-password-1"), chromedp.Click(chromedp.CSS("form.login button[type=submit]")),
			chromedp.WaitVisible(chromedp.CSS("nav.tabs")))
		if got := b.text("main h1"); got != "Analytics" {
			t.Fatalf("after login: %q", got)
		}
		b.waitUntil("the live traffic chart", `document.querySelector(".panel.wide svg.lines") !== null`)
		b.waitUntil("the index lag", `document.querySelector(".figures dd") !== null`)

		b.do("start a product", chromedp.Click(chromedp.CSS(`nav.tabs a[href="#/admin/products"]`)),
			chromedp.WaitVisible(chromedp.CSS(`a[href="#/admin/products/new"]`)),
			chromedp.Click(chromedp.CSS(`a[href="#/admin/products/new"]`)), chromedp.WaitVisible(chromedp.CSS("form.editor")))
		icon := s.URL + b.attr(`link[rel="icon"]`, "href")
		b.do("fill it in, with a currency that does not exist",
			chromedp.SendKeys(chromedp.CSS("#f-name"), "Trail Lantern Qorvex"),
			chromedp.SendKeys(chromedp.CSS("#f-brand"), "Lumen"),
			chromedp.SetValue(chromedp.CSS("#f-category"), "sports-outdoor-tents"),
			chromedp.SendKeys(chromedp.CSS(`[name="variants[0].sku"]`), "LANTERN-1"),
			chromedp.SendKeys(chromedp.CSS(`[name="variants[0].options"]`), "color=green"),
			chromedp.SendKeys(chromedp.CSS(`[name="variants[0].price.amount"]`), "34.50"),
			setField(`[name="variants[0].price.currency"]`, "EURO"),
			setField(`[name="variants[0].stock"]`, "12"),
			chromedp.Click(chromedp.Search(`//button[text()="Add an image"]`)),
			chromedp.SendKeys(chromedp.CSS(`[name="images[0].url"]`), icon),
			chromedp.SendKeys(chromedp.CSS(`[name="images[0].alt"]`), "The lantern, lit"),
			chromedp.Click(chromedp.CSS(`form.editor button[type=submit]`)))
		// The server's problem names the field; the message stands by it.
		b.waitUntil("the currency's error", `document.querySelector('[data-error-for="variants[0].price.currency"]') !== null`)
		if msg := b.text(`[data-error-for="variants[0].price.currency"]`); !strings.Contains(msg, "ISO 4217") {
			t.Errorf("the currency's message: %q", msg)
		}
		if b.attr(`[name="variants[0].price.currency"]`, "aria-invalid") != "true" {
			t.Errorf("the currency field is not marked invalid")
		}
		b.screenshot("admin-product-error")

		b.do("correct the currency and save", setField(`[name="variants[0].price.currency"]`, "EUR"),
			chromedp.Click(chromedp.CSS(`form.editor button[type=submit]`)))
		b.waitUntil("the saved product", `document.querySelector("main h1")?.textContent === "Edit Trail Lantern Qorvex"`)

		// Edited: a second variant, saved over the version the form was opened at.
		b.do("add a variant", chromedp.Click(chromedp.Search(`//button[text()="Add a variant"]`)),
			chromedp.SendKeys(chromedp.CSS(`[name="variants[1].sku"]`), "LANTERN-2"),
			chromedp.SendKeys(chromedp.CSS(`[name="variants[1].options"]`), "color=red"),
			chromedp.SendKeys(chromedp.CSS(`[name="variants[1].price.amount"]`), "36"),
			setField(`[name="variants[1].stock"]`, "0"),
			setField(`[name="variants[0].stock"]`, "12"),
			chromedp.Click(chromedp.CSS(`form.editor button[type=submit]`)))
		b.waitUntil("the edit saved", `document.querySelector("form.editor .status")?.textContent === "Saved (version 2)."`)

		// A category, under an existing one.
		b.do("add a category", chromedp.Click(chromedp.CSS(`nav.tabs a[href="#/admin/categories"]`)),
			chromedp.WaitVisible(chromedp.CSS(".admin-tree")),
			chromedp.SendKeys(chromedp.CSS("#f-name"), "Lanterns"),
			chromedp.SetValue(chromedp.CSS("#f-parent"), "sports-outdoor"),
			chromedp.Click(chromedp.CSS(`form.editor button[type=submit]`)))
		b.waitUntil("the category in the tree", `[...document.querySelectorAll(".admin-tree code")].some(c => c.textContent === "lanterns")`)

		// Search follows the catalog's events: the product is found within seconds.
		b.do("search the shop for it", chromedp.Navigate(s.URL+"/#/"), chromedp.WaitVisible(chromedp.CSS(".card")),
			chromedp.Click(chromedp.CSS("#q")), chromedp.SendKeys(chromedp.CSS("#q"), "qorvex lantern"))
		deadline := time.Now().Add(10 * time.Second)
		for !slicesContain(b.texts(".card-name"), "Trail Lantern Qorvex") {
			if time.Now().After(deadline) {
				t.Fatalf("the new product is not in the shop's search: %v", b.texts(".card-name"))
			}
			b.do("search again", clearField("#q"), chromedp.SendKeys(chromedp.CSS("#q"), "qorvex lantern"), chromedp.Sleep(300*time.Millisecond))
		}
		// From the keyboard: a suggestion, picked with the arrow keys.
		b.do("type its name", clearField("#q"), chromedp.SendKeys(chromedp.CSS("#q"), "qorvex"))
		b.waitUntil("it is suggested", `!document.querySelector("#suggestions").hidden && [...document.querySelectorAll("#suggestions li")].some(li => li.textContent === "Trail Lantern Qorvex")`)
		b.do("pick it with the arrow keys", chromedp.SendKeys(chromedp.CSS("#q"), kb.ArrowDown))
		if active := b.attr("#q", "aria-activedescendant"); active != "suggestion-0" {
			t.Errorf("after ArrowDown the active suggestion is %q", active)
		}
		b.do("open it with Enter", chromedp.SendKeys(chromedp.CSS("#q"), kb.Enter), chromedp.WaitVisible(chromedp.CSS("article.product h1")))
		if got := b.text("article.product h1"); got != "Trail Lantern Qorvex" {
			t.Fatalf("Enter on the suggestion opened %q", got)
		}
		b.waitUntil("its picture, loaded", `(() => { const img = document.querySelector(".main-picture img"); return img && img.complete && img.naturalWidth > 0 && img.alt === "The lantern, lit"; })()`)
		if v := b.text(".variant"); !strings.Contains(v, "12 in stock") || !strings.Contains(v, "LANTERN-1") {
			t.Errorf("its variant shows %q", v)
		}

		// Views and searches have reached analytics by now. The shop's
		// suggestions stay behind: the list closes when the view changes.
		b.do("back to the analytics", chromedp.Navigate(s.URL+"/#/admin"), chromedp.WaitVisible(chromedp.CSS(".panel.wide")))
		b.do("let a late suggestion arrive", chromedp.Sleep(500*time.Millisecond))
		if open := get(b, "is the suggestion list open", chromedp.Evaluate[bool](`!document.getElementById("suggestions").hidden`)); open {
			t.Errorf("the shop's suggestion list is open over the admin page: %v", b.texts("#suggestions li"))
		}
		b.waitUntil("two readings of live traffic", `document.querySelector(".panel.wide svg.lines polyline") !== null`)
		b.screenshot("admin-analytics")
	})

	t.Run("an administrator imports a catalog file and reads its report", func(t *testing.T) {
		b.t = t
		file := filepath.Join(t.TempDir(), "catalog.csv")
		csv := "slug,name,status,sku,price,currency,stock\nbrass-candle,Brass Candle Holder,active,BRASS-1,1900,EUR,7\nbroken,,active,BROKEN-1,100,EUR,1\n"
		if err := os.WriteFile(file, []byte(csv), 0o600); err != nil {
			t.Fatal(err)
		}
		b.do("open import and export", chromedp.Navigate(s.URL+"/#/admin/files"), chromedp.WaitVisible(chromedp.CSS("form.import-form")))
		b.do("choose the file and import it", chromedp.SetUploadFiles(chromedp.CSS("form.import-form input[type=file]"), []string{file}),
			chromedp.Click(chromedp.CSS("form.import-form button[type=submit]")))
		b.waitUntil("the import is done", `document.querySelector(".import-status").textContent.startsWith("Done")`)
		if got := b.text(".import-status"); !strings.Contains(got, "1 created") || !strings.Contains(got, "1 failed") {
			t.Errorf("status %q", got)
		}
		if got := b.texts(".import-problems tbody td"); len(got) != 3 || got[0] != "3" || got[1] != "name" {
			t.Errorf("report %v, want line 3, field name", got)
		}
		b.screenshot("admin-import")
	})

	t.Run("on a phone", func(t *testing.T) {
		b.t = t
		b.do("open the shop on a small screen", chromedp.EmulateViewport(390, 844), chromedp.Navigate("about:blank"), chromedp.Navigate(s.URL+"/#/?q=lamp"),
			chromedp.WaitVisible(chromedp.CSS(".card")))
		filtersOpen := get(b, "are the filters open", chromedp.Evaluate[bool](`document.querySelector("details.filters").open`))
		pageWidth := get(b, "measure the page", chromedp.Evaluate[int](`document.documentElement.scrollWidth`))
		if filtersOpen {
			t.Error("the filters take the screen on a phone; they should start folded")
		}
		if pageWidth > 390 {
			t.Errorf("the page is %d px wide on a 390 px screen", pageWidth)
		}
		b.screenshot("storefront-phone")
	})
}

func slicesContain(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// waitForIndex waits until the search index holds n products.
func waitForIndex(t *testing.T, c *catalog, n int) {
	t.Helper()
	eventually(t, 60*time.Second, "the search index", func() bool {
		var st struct {
			Documents int `json:"documents"`
		}
		c.get("/api/search/status", "").JSON(t, &st)
		return st.Documents >= n
	})
}
