package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// requireBrowserEnv makes a missing Chromium fail the browser tests instead
// of skipping them (CI sets it).
const requireBrowserEnv = "ALERTBRIDGE_REQUIRE_BROWSER"

// browserTimeout bounds one browser test: a hang guard, not a speed target.
const browserTimeout = 90 * time.Second

// mustFindChromium returns Debian's chromium (or another Chrome on PATH),
// skipping the test when there is none, or failing it when
// ALERTBRIDGE_REQUIRE_BROWSER=1.
func mustFindChromium(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "no Chromium found (apt-get install chromium)"
	if os.Getenv(requireBrowserEnv) == "1" {
		t.Fatalf("%s (%s=1 makes this a failure)", msg, requireBrowserEnv)
	}
	t.Skip(msg + "; set " + requireBrowserEnv + "=1 to fail instead")
	return ""
}

// browser is one headless Chromium, one tab per context it gives.
type browser struct {
	t    testing.TB
	root context.Context // the browser's first tab: it starts the browser
}

// mustBrowser starts a headless Chromium for the test, closed in Cleanup.
func mustBrowser(t testing.TB) *browser {
	t.Helper()
	bin := mustFindChromium(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true), // CI runs as root
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1280, 900),
	)
	alloc, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	root, cancelRoot := chromedp.NewContext(alloc)
	t.Cleanup(cancelRoot)
	if err := chromedp.Do(root); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return &browser{t: t, root: root}
}

// tab opens a new tab (its own cookies: a separate browser context) and
// returns its context. Each step is bounded by browserTimeout (do, get);
// the tab's own context has no deadline, as chromedp asks.
func (b *browser) tab() context.Context {
	b.t.Helper()
	ctx, cancel := chromedp.NewContext(b.root, chromedp.WithNewBrowserContext())
	b.t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil { // open the tab now
		b.t.Fatalf("open a tab: %v", err)
	}
	return ctx
}

// do runs steps in a tab, failing the test with what was being done.
func do(t testing.TB, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, browserTimeout)
	defer cancel()
	if err := chromedp.Do(c, steps...); err != nil {
		t.Fatalf("browser: %s: %v", what, err)
	}
}

// get runs an action that returns a value.
func get[T any](t testing.TB, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, browserTimeout)
	defer cancel()
	v, err := chromedp.Run(c, a)
	if err != nil {
		t.Fatalf("browser: %s: %v", what, err)
	}
	return v
}

// click clicks the first node the CSS selector matches, and again, up to
// three times, when the page replaced the node between finding and
// clicking it (the live list's rows, when they change): a person's click
// would land on the new row.
func click(t testing.TB, ctx context.Context, what, sel string) {
	t.Helper()
	var err error
	for range 3 {
		c, cancel := context.WithTimeout(ctx, browserTimeout)
		err = chromedp.Do(c, chromedp.Click(chromedp.CSS(sel)))
		cancel()
		if err == nil || !strings.Contains(err.Error(), "-32000") { // -32000: no node with that id
			break
		}
	}
	if err != nil {
		t.Fatalf("browser: %s: %v", what, err)
	}
}

// textOf returns the text of the first node the CSS selector matches.
//
// It waits for the node and reads it in one script: the live list
// replaces its rows when they change, and a node found in one step can be
// gone by the next ("No node with given id").
func textOf(t testing.TB, ctx context.Context, sel string) string {
	t.Helper()
	js := fmt.Sprintf(`(() => { const n = document.querySelector(%q); return n ? {text: n.textContent} : null; })()`, sel)
	v := get(t, ctx, "read "+sel, chromedp.Poll[struct {
		Text string `json:"text"`
	}](js, chromedp.WithPollingInterval(50*time.Millisecond)))
	return strings.TrimSpace(v.Text)
}

// waitText waits until the first node the CSS selector matches contains
// want.
func waitText(t testing.TB, ctx context.Context, sel, want string) {
	t.Helper()
	js := fmt.Sprintf(`(() => { const n = document.querySelector(%q); return !!n && n.textContent.includes(%q); })()`, sel, want)
	get(t, ctx, fmt.Sprintf("wait for %q in %s", want, sel), chromedp.Poll[bool](js, chromedp.WithPollingInterval(100*time.Millisecond)))
}
