package dashboard_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/joyride-dns/joyride/modules/httpapi/dashboard/dashboardtest"
	"github.com/joyride-dns/joyride/pkg/status"
)

const hostsFile = "/app/hosts/lab"

// seed gives the fake a small lab: hosts-file records, a container, a static alias and a name that a second node
// publishes too.
func seed(f *fakeAPI) int {
	records := []fakeRecord{
		{Hostname: "web.lab.test", Type: "A", Value: "10.0.0.10"},
		{Hostname: "web.lab.test", Type: "AAAA", Value: "2001:db8::10"},
		{Hostname: "db.lab.test", Type: "A", Value: "10.0.0.11"},
		{Hostname: "nas.lab.test", Type: "A", Value: "10.0.0.5"},
	}
	for i := range records {
		r := &records[i]
		r.Source, r.TTL = "hosts:"+hostsFile, 60
		r.Provenance = status.Provenance{Kind: "hosts", File: hostsFile, Line: i + 2, Text: r.Value + " " + r.Hostname}
	}
	records = append(records,
		fakeRecord{Hostname: "grafana.lab.test", Type: "A", Value: "192.168.1.10", Source: "docker:3f2a9c1d7e6b", TTL: 60,
			Provenance: status.Provenance{Kind: "container", Container: "grafana", ContainerID: "3f2a9c1d7e6b5a4f",
				Label: "joyride.host.name=grafana.lab.test"}},
		fakeRecord{Hostname: "alias.lab.test", Type: "CNAME", Value: "web.lab.test", Source: "static:config", TTL: 120,
			Provenance: status.Provenance{Kind: "static"}},
		fakeRecord{Hostname: "web.lab.test", Type: "A", Value: "10.0.0.10", Source: "node:node-b/hosts:/etc/hosts.d/lab",
			Node: "node-b", TTL: 60, Provenance: status.Provenance{Kind: "hosts", File: "/etc/hosts.d/lab", Line: 7}},
		fakeRecord{Hostname: "media.lab.test", Type: "A", Value: "192.168.1.11", Source: "node:node-b/docker:ab12cd34ef56",
			Node: "node-b", TTL: 60, Provenance: status.Provenance{Kind: "container", Container: "jellyfin"}},
	)
	for _, r := range records {
		f.add(r, "dns", "record_added")
	}
	return len(records)
}

// Shown row names, in order.
const rowNames = `Array.from(document.querySelectorAll("#records tbody tr"), tr => tr.dataset.name)`

// The page follows the API live, filters, explains, keeps the theme, and does not move while it updates.
func TestPage(t *testing.T) {
	f := newFakeAPI(t)
	n := seed(f)
	ctx := dashboardtest.Browser(t, 1280, 900)
	dashboardtest.Open(t, ctx, f.url+"/")

	t.Run("loads", func(t *testing.T) {
		dashboardtest.Eventually(t, ctx, "every record shown", `document.querySelectorAll("#records tbody tr").length === 8`, rowNames)
		require.Equal(t, 8, n)
		dashboardtest.Eventually(t, ctx, "the service", `document.getElementById("version").textContent === "1.4.0"`, `document.querySelector(".top").textContent`)
		assert.Equal(t, "Joyride DNS", dashboardtest.Eval[string](t, ctx, `document.getElementById("service").textContent`))
		assert.Equal(t, "homelab", dashboardtest.Eval[string](t, ctx, `document.getElementById("environment").textContent`))
		assert.Equal(t, "Degraded", dashboardtest.Eval[string](t, ctx, `document.getElementById("ready").textContent`), "docker is unhealthy")
		assert.Equal(t, []string{"dns", "docker", "hosts"}, dashboardtest.Eval[[]string](t, ctx, `Array.from(document.querySelectorAll("#health li"), li => li.dataset.name)`))
		assert.Contains(t, dashboardtest.Eval[string](t, ctx, `document.getElementById("health").textContent`), "engine unreachable: reconnecting")
		dashboardtest.Eventually(t, ctx, "the history of events", `document.querySelectorAll("#events li").length === 8`, `document.getElementById("events").textContent`)
		dashboardtest.Eventually(t, ctx, "the cluster section replaced by a note (503)",
			`document.getElementById("cluster-body").hidden && document.getElementById("cluster-note").textContent.includes("not enabled")`,
			`document.getElementById("cluster-section").textContent`)
		dashboardtest.Eventually(t, ctx, "the event stream open", `document.getElementById("live").dataset.state === "live"`, `document.getElementById("live").textContent`)
	})

	t.Run("a new record appears without a reload, and nothing moves", func(t *testing.T) {
		const boxes = `JSON.stringify(["records-section", "health-section", "cluster-section", "events-section"].map(id => {
			const r = document.getElementById(id).getBoundingClientRect(); return [r.x, r.y, r.width, r.height]; }))`
		before := dashboardtest.Eval[string](t, ctx, `window.notReloaded = true; `+boxes)
		f.add(fakeRecord{Hostname: "printer.lab.test", Type: "A", Value: "10.0.0.40", Source: "hosts:" + hostsFile, TTL: 60,
			Provenance: status.Provenance{Kind: "hosts", File: hostsFile, Line: 9}}, "hosts", "file_changed")
		dashboardtest.Eventually(t, ctx, "the new record", `document.querySelector('#records tr[data-name="printer.lab.test"]') !== null`, rowNames)
		dashboardtest.Eventually(t, ctx, "its event", `document.querySelector("#events li").textContent.includes("printer.lab.test")`, `document.getElementById("events").textContent`)
		assert.True(t, dashboardtest.Eval[bool](t, ctx, `window.notReloaded === true`), "the page was not reloaded")
		assert.Equal(t, before, dashboardtest.Eval[string](t, ctx, boxes), "the sections kept their place and size")
		assert.Equal(t, []string{"alias.lab.test", "db.lab.test", "grafana.lab.test", "media.lab.test", "nas.lab.test", "printer.lab.test",
			"web.lab.test", "web.lab.test", "web.lab.test"}, dashboardtest.Eval[[]string](t, ctx, rowNames), "sorted by name, the new row in its place")
	})

	filters := []struct {
		name, byName, bySource, byNode string
		rows                           []string
	}{
		{"by name", "WEB", "", "*", []string{"web.lab.test", "web.lab.test", "web.lab.test"}},
		{"by source", "", "docker", "*", []string{"grafana.lab.test", "media.lab.test"}},
		{"by node", "", "", "node-b", []string{"media.lab.test", "web.lab.test"}},
		{"by this node and source", "", "hosts:", "", []string{"db.lab.test", "nas.lab.test", "printer.lab.test", "web.lab.test", "web.lab.test"}},
	}
	for _, tc := range filters {
		t.Run("filter "+tc.name, func(t *testing.T) {
			dashboardtest.Filter(t, ctx, tc.byName, tc.bySource, tc.byNode)
			want := dashboardtest.Quote(strings.Join(tc.rows, ","))
			dashboardtest.Eventually(t, ctx, "the matching rows", rowNames+`.join(",") === `+want, rowNames)
		})
	}
	t.Run("typing a filter", func(t *testing.T) {
		dashboardtest.Filter(t, ctx, "", "", "*")
		dashboardtest.Eventually(t, ctx, "every row back", `document.querySelectorAll("#records tbody tr").length === 9`, rowNames)
		require.NoError(t, chromedp.Do(ctx, chromedp.SendKeys("#filter-name", "nas")))
		dashboardtest.Eventually(t, ctx, "one row", rowNames+`.join(",") === "nas.lab.test"`, rowNames)
		assert.Equal(t, "?name=nas", dashboardtest.Eval[string](t, ctx, `location.search`), "the filter is in the address, to bookmark")
		dashboardtest.Filter(t, ctx, "", "", "*")
		dashboardtest.Eventually(t, ctx, "every row back", `document.querySelectorAll("#records tbody tr").length === 9`, rowNames)
	})

	t.Run("explain a name", func(t *testing.T) {
		require.NoError(t, chromedp.Do(ctx, chromedp.Click(`#records tr[data-name="web.lab.test"] .name-link`)))
		dashboardtest.Eventually(t, ctx, "the explain view", `document.getElementById("explain").open &&
			document.getElementById("explain-body").querySelectorAll(".rec").length === 3`, `document.getElementById("explain").textContent`)
		body := dashboardtest.Eval[string](t, ctx, `document.getElementById("explain").textContent`)
		assert.Contains(t, body, hostsFile+":2", "file and line")
		assert.Contains(t, body, "10.0.0.10 web.lab.test", "the line as written")
		assert.Contains(t, body, "/etc/hosts.d/lab:7", "the other node's file")
		assert.Contains(t, body, "c0000001-8b1f-4c2e", "the last event's correlation ID")
		assert.Contains(t, body, "Published by this node, node-b")
		assert.False(t, dashboardtest.Eval[bool](t, ctx, `document.getElementById("explain-multi").hidden`), "flagged: several nodes")
		dashboardtest.Screenshot(t, ctx, "dashboard-unit-explain")
		require.NoError(t, chromedp.Do(ctx, chromedp.Click("#explain-close")))
		dashboardtest.Eventually(t, ctx, "the explain view closed", `!document.getElementById("explain").open`, `document.getElementById("explain").open`)
	})

	t.Run("the theme is kept after a reload", func(t *testing.T) {
		const bg = `getComputedStyle(document.body).backgroundColor`
		light := dashboardtest.Eval[string](t, ctx, bg)
		require.Equal(t, "rgb(244, 246, 248)", light, "headless chromium prefers light: the default follows it")
		require.NoError(t, chromedp.Do(ctx, chromedp.Click("#theme-toggle")))
		assert.Equal(t, "dark", dashboardtest.Eval[string](t, ctx, `document.documentElement.dataset.theme`))
		assert.Equal(t, "rgb(13, 17, 23)", dashboardtest.Eval[string](t, ctx, bg))
		require.NoError(t, chromedp.Do(ctx, chromedp.Reload()))
		dashboardtest.Eventually(t, ctx, "the page again", `document.querySelectorAll("#records tbody tr").length === 9`, rowNames)
		assert.Equal(t, "dark", dashboardtest.Eval[string](t, ctx, `document.documentElement.dataset.theme`))
		assert.Equal(t, "rgb(13, 17, 23)", dashboardtest.Eval[string](t, ctx, bg), "dark after the reload")
		assert.Equal(t, "dark", dashboardtest.Eval[string](t, ctx, `localStorage.getItem("joyride-theme")`))
		assert.Equal(t, "undefined", dashboardtest.Eval[string](t, ctx, `typeof window.notReloaded`), "this one was a reload")
	})

	t.Run("screenshots and the phone layout", func(t *testing.T) {
		dashboardtest.Eventually(t, ctx, "the events", `document.querySelectorAll("#events li").length === 9`, `document.getElementById("events").textContent`)
		dashboardtest.Screenshots(t, ctx, "dashboard-unit")
	})
}

// With the event stream refused the page polls; the cluster's members are shown with their state; a name that is
// markup stays text.
func TestPollingClusterAndEscaping(t *testing.T) {
	f := newFakeAPI(t)
	f.set(func(f *fakeAPI) { f.clusterOn, f.streamOff = true, true })
	seed(f)
	ctx := dashboardtest.Browser(t, 1280, 900)
	dashboardtest.Open(t, ctx, f.url+"/")

	dashboardtest.Eventually(t, ctx, "every record", `document.querySelectorAll("#records tbody tr").length === 8`, rowNames)
	dashboardtest.Eventually(t, ctx, "polling", `document.getElementById("live").dataset.state === "polling"`, `document.getElementById("live").textContent`)
	dashboardtest.Eventually(t, ctx, "the members", `document.querySelectorAll("#cluster tbody tr").length === 3`, `document.getElementById("cluster-section").textContent`)
	assert.Equal(t, []string{"alive", "alive", "suspect"}, dashboardtest.Eval[[]string](t, ctx, `Array.from(document.querySelectorAll("#cluster .pill"), p => p.textContent)`))
	assert.Contains(t, dashboardtest.Eval[string](t, ctx, `document.getElementById("cluster-summary").textContent`), "2 alive of 3")
	assert.True(t, dashboardtest.Eval[bool](t, ctx, `document.getElementById("cluster-note").hidden`))
	assert.Equal(t, "node-a", dashboardtest.Eval[string](t, ctx, `document.getElementById("node").textContent`))

	const markup = `<img src=x onerror="window.pwned=1">.lab.test`
	f.add(fakeRecord{Hostname: markup, Type: "TXT", Value: `<b>bold</b>`, Source: "static:config", TTL: 60,
		Provenance: status.Provenance{Kind: "static", Text: `<script>window.pwned=1</script>`}}, "dns", "record_added")
	dashboardtest.Eventually(t, ctx, "the record by polling", `document.querySelectorAll("#records tbody tr").length === 9`, rowNames)
	require.NoError(t, chromedp.Do(ctx, chromedp.Click(`#records tbody tr:first-child .name-link`)))
	dashboardtest.Eventually(t, ctx, "its explanation", `document.getElementById("explain-body").textContent.includes("<script>")`, `document.getElementById("explain").textContent`)
	assert.Equal(t, markup, dashboardtest.Eval[string](t, ctx, `document.querySelector("#records tbody tr:first-child .name-link").textContent`))
	assert.Equal(t, markup, dashboardtest.Eval[string](t, ctx, `document.getElementById("explain-name").textContent`))
	assert.Equal(t, 0, dashboardtest.Eval[int](t, ctx, `document.querySelectorAll("main img, main script, dialog img, dialog script, #records b, #explain-body b").length`), "no markup from the API")
	assert.Equal(t, "undefined", dashboardtest.Eval[string](t, ctx, `typeof window.pwned`))
}
