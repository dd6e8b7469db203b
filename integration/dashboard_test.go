package integration

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/joyride-dns/joyride/modules/httpapi/dashboard/dashboardtest"
)

// TestDashboard opens the real binary's dashboard in headless chromium: a hosts file written while the page is
// open shows up without a reload, the filters narrow the rows the API returns, the explain view names the file
// and line, and the theme chosen is kept after a reload. Screenshots of both themes, on a desktop and a phone,
// are saved as artifacts (their paths are logged).
func TestDashboard(t *testing.T) {
	ctx := dashboardtest.Browser(t, 1280, 900) // first: without a browser there is nothing to start
	p, hosts := startHTTP(t, []string{"SERVICE_NAME=Joyride Lab", "ENVIRONMENT=integration", "SEMANTIC_VERSION=1.2.3"})
	alpha := filepath.Join(hosts, "alpha")
	writeFile(t, alpha, "# lab\n10.0.0.10 web.lab.test www.lab.test\n10.0.0.11 db.lab.test\n")
	dashboardtest.Open(t, ctx, "http://"+p.http+"/")

	const rows = `Array.from(document.querySelectorAll("#records tbody tr"), tr => tr.dataset.name)`
	const rowCount = `document.querySelectorAll("#records tbody tr").length`
	dashboardtest.Eventually(t, ctx, "the hosts file's records", `["web.lab.test", "www.lab.test", "db.lab.test"].every(n =>
		document.querySelector('#records tr[data-name="' + n + '"]'))`, rows)
	dashboardtest.Eventually(t, ctx, "the service from /status", `document.getElementById("service").textContent === "Joyride Lab"`,
		`document.querySelector(".top").textContent`)
	assert.Equal(t, "1.2.3", dashboardtest.Eval[string](t, ctx, `document.getElementById("version").textContent`))
	assert.Equal(t, "integration", dashboardtest.Eval[string](t, ctx, `document.getElementById("environment").textContent`))
	dashboardtest.Eventually(t, ctx, "the event stream open", `document.getElementById("live").dataset.state === "live"`,
		`document.getElementById("live").textContent`)
	dashboardtest.Eventually(t, ctx, "the cluster section replaced by joyride-python's note (503)",
		`document.getElementById("cluster-body").hidden && document.getElementById("cluster-note").textContent.includes("not enabled")`,
		`document.getElementById("cluster-section").textContent`)

	t.Run("a hosts file written while the page is open", func(t *testing.T) {
		before := dashboardtest.Eval[int](t, ctx, `window.notReloaded = true; `+rowCount)
		writeFile(t, filepath.Join(hosts, "office"), "10.0.0.50 printer.lab.test\n10.0.0.51 scanner.lab.test\n")
		dashboardtest.Eventually(t, ctx, "its records", `["printer.lab.test", "scanner.lab.test"].every(n =>
			document.querySelector('#records tr[data-name="' + n + '"]'))`, rows)
		assert.Equal(t, before+2, dashboardtest.Eval[int](t, ctx, rowCount))
		assert.True(t, dashboardtest.Eval[bool](t, ctx, `window.notReloaded === true`), "updated in place, not reloaded")
		dashboardtest.Eventually(t, ctx, "the events that carried it, with their correlation IDs",
			`Array.from(document.querySelectorAll("#events li")).some(li => li.textContent.includes("printer.lab.test") && li.dataset.cid !== "")`,
			`document.getElementById("events").textContent`)
	})

	filters := []struct {
		name, byName, bySource, byNode string
		want                           []string
	}{
		{"by name", "WW", "", "*", []string{"www.lab.test"}},
		{"by source", "", "office", "*", []string{"printer.lab.test", "scanner.lab.test"}},
		{"by node: this one", "", "", "", []string{"db.lab.test", "printer.lab.test", "scanner.lab.test", "web.lab.test", "www.lab.test"}},
	}
	for _, tc := range filters {
		t.Run("filter "+tc.name, func(t *testing.T) {
			dashboardtest.Filter(t, ctx, tc.byName, tc.bySource, tc.byNode)
			dashboardtest.Eventually(t, ctx, "the matching rows", rows+`.join(",") === `+dashboardtest.Quote(strings.Join(tc.want, ",")), rows)
		})
	}
	dashboardtest.Filter(t, ctx, "", "", "*")
	dashboardtest.Eventually(t, ctx, "every row back", rowCount+` === 5`, rows)

	t.Run("explain a name", func(t *testing.T) {
		require.NoError(t, chromedp.Do(ctx, chromedp.Click(`#records tr[data-name="db.lab.test"] .name-link`)))
		dashboardtest.Eventually(t, ctx, "the explain view", `document.getElementById("explain").open &&
			document.querySelectorAll("#explain-body .rec").length === 1`, `document.getElementById("explain").textContent`)
		body := dashboardtest.Eval[string](t, ctx, `document.getElementById("explain-body").textContent`)
		assert.Contains(t, body, "hosts:"+alpha, "the source names the file")
		assert.Contains(t, body, alpha+":3", "the provenance names the file and line")
		assert.Contains(t, body, "Correlation ID", "the last event that touched it")
		dashboardtest.Screenshot(t, ctx, "dashboard-explain")
		require.NoError(t, chromedp.Do(ctx, chromedp.Click("#explain-close")))
	})

	t.Run("the theme is kept after a reload", func(t *testing.T) {
		const bg = `getComputedStyle(document.body).backgroundColor`
		light := dashboardtest.Eval[string](t, ctx, bg)
		require.NoError(t, chromedp.Do(ctx, chromedp.Click("#theme-toggle")))
		dark := dashboardtest.Eval[string](t, ctx, bg)
		require.NotEqual(t, light, dark, "the toggle changes the page")
		require.NoError(t, chromedp.Do(ctx, chromedp.Reload()))
		dashboardtest.Eventually(t, ctx, "the page again", rowCount+` === 5`, rows)
		assert.Equal(t, dark, dashboardtest.Eval[string](t, ctx, bg), "still dark after the reload")
		assert.Equal(t, "dark", dashboardtest.Eval[string](t, ctx, `document.documentElement.dataset.theme`))
	})

	t.Run("screenshots", func(t *testing.T) {
		dashboardtest.Screenshots(t, ctx, "dashboard")
	})
	p.stop(t)
}
