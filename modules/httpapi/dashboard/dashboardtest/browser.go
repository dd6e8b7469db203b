// Package dashboardtest drives the dashboard in a real headless browser for tests: Debian's chromium, through
// chromedp. The dashboard's own browser test (against a fake API) and the integration test (against the real
// binary) share it, so both find, start and confine the browser the same way.
//
// The browser is confined to loopback: Open refuses any other host, chromium resolves no name but 127.0.0.1 and
// uses no proxy, and its background services (updates, sync, safe browsing) are off.
package dashboardtest

import (
	"context"
	"encoding/json"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// RequireEnv names the variable that makes a missing browser a failure rather than a skip (CI sets it).
const RequireEnv = "JOYRIDE_REQUIRE_BROWSER"

// ArtifactsEnv names the directory screenshots are written to; without it, joyride-artifacts in the system's
// temporary directory, which outlives the test so that the files can be looked at.
const ArtifactsEnv = "JOYRIDE_ARTIFACTS"

// Browser starts a headless chromium for the test and returns the context of its one tab; the browser is
// stopped when the test ends. Without chromium on PATH the test fails when JOYRIDE_REQUIRE_BROWSER is set and
// is skipped otherwise, saying how to install it.
func Browser(t *testing.T, width, height int) context.Context {
	t.Helper()
	path := ""
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		msg := "no chromium on PATH: install Debian's chromium package (apt-get install chromium) to run the browser tests"
		if os.Getenv(RequireEnv) != "" {
			t.Fatalf("%s (%s is set, so the browser test is required)", msg, RequireEnv)
		}
		t.Skipf("%s; set %s=1 to make this a failure", msg, RequireEnv)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.WindowSize(width, height),
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"),
		chromedp.Flag("no-proxy-server", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-domain-reliability", true),
		chromedp.Flag("safebrowsing-disable-auto-update", true),
	)
	// Chromium's sandbox needs user namespaces it is not given as root; elsewhere it stays on.
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox)
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	// The first action starts the browser: a browser that cannot start fails here, not in the test's first step.
	require.NoError(t, chromedp.Do(ctx), "starting %s", path)
	return context.WithValue(ctx, windowKey{}, [2]int64{int64(width), int64(height)})
}

// windowKey holds the browser window's size in the tab's context, for Phone to return to.
type windowKey struct{}

// Open navigates the tab to rawURL, which must be on a loopback address.
func Open(t *testing.T, ctx context.Context, rawURL string) {
	t.Helper()
	u, err := url.Parse(rawURL)
	require.NoError(t, err)
	ip := net.ParseIP(u.Hostname())
	require.True(t, ip != nil && ip.IsLoopback(), "the browser tests open loopback addresses only, not %q", u.Host)
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(rawURL)), "opening %s", rawURL)
}

// Eval evaluates a JavaScript expression in the page and decodes its value.
func Eval[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	require.NoError(t, err, "evaluating %s", js)
	return v
}

// Eventually waits until the JavaScript expression js is true in the page; what says what is awaited. On a
// timeout it reports the value of show, an expression that tells what the page holds instead.
func Eventually(t *testing.T, ctx context.Context, what, js, show string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js))
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			got, _ := chromedp.Run(ctx, chromedp.Evaluate[any](show))
			t.Fatalf("%s: not true within 15s: %s (error %v); the page shows %v", what, js, err, got)
		}
		time.Sleep(50 * time.Millisecond) // polling the page, not a timed assertion
	}
}

// Screenshot saves the whole page as <name>.png in the artifacts directory and logs its path.
func Screenshot(t *testing.T, ctx context.Context, name string) string {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	require.NoError(t, err, "screenshot %s", name)
	dir := os.Getenv(ArtifactsEnv)
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "joyride-artifacts")
	}
	require.NoError(t, os.MkdirAll(dir, 0o755))
	path := filepath.Join(dir, name+".png")
	require.NoError(t, os.WriteFile(path, png, 0o644))
	t.Logf("screenshot: %s", path)
	return path
}

// Phone switches the tab to a phone's viewport (390×844 CSS pixels at twice the density, as a current phone)
// when on, and back to the browser's window when not.
func Phone(t *testing.T, ctx context.Context, on bool) {
	t.Helper()
	if on {
		require.NoError(t, chromedp.Do(ctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile)))
		return
	}
	// Back to the window's size explicitly: chromedp.ResetViewport left the next full screenshot phone-sized.
	size, _ := ctx.Value(windowKey{}).([2]int64)
	require.NoError(t, chromedp.Do(ctx, chromedp.EmulateViewport(size[0], size[1])))
}

// Quote returns s as a JavaScript string literal (JSON's is one), for building expressions from test data.
func Quote(s string) string {
	b, _ := json.Marshal(s) // a string always encodes
	return string(b)
}

// Filter sets the page's three record filters as an operator would, each firing the event the page listens to;
// node "*" is every node and "" this node.
func Filter(t *testing.T, ctx context.Context, name, source, node string) {
	t.Helper()
	Eval[chromedp.Void](t, ctx, `(() => {
		const set = (id, v, ev) => { const e = document.getElementById(id); e.value = v; e.dispatchEvent(new Event(ev)); };
		set("filter-name", `+Quote(name)+`, "input");
		set("filter-source", `+Quote(source)+`, "input");
		set("filter-node", `+Quote(node)+`, "change");
	})()`)
}

// Screenshots saves <prefix>-dark, <prefix>-light, <prefix>-phone-dark and <prefix>-phone-light, and checks on
// the phone that the page is one column and no wider than the screen.
func Screenshots(t *testing.T, ctx context.Context, prefix string) {
	t.Helper()
	for _, theme := range []string{"dark", "light"} {
		if Eval[string](t, ctx, `document.documentElement.dataset.theme || ""`) != theme {
			require.NoError(t, chromedp.Do(ctx, chromedp.Click("#theme-toggle")))
		}
		require.Equal(t, theme, Eval[string](t, ctx, `document.documentElement.dataset.theme`))
		Screenshot(t, ctx, prefix+"-"+theme)
		Phone(t, ctx, true)
		require.Equal(t, 1, Eval[int](t, ctx, `getComputedStyle(document.querySelector("main")).gridTemplateColumns.split(" ").length`),
			"one column on a phone")
		require.True(t, Eval[bool](t, ctx, `document.documentElement.scrollWidth <= window.innerWidth`), "nothing wider than a phone")
		Screenshot(t, ctx, prefix+"-phone-"+theme)
		Phone(t, ctx, false)
	}
}
