package dashboard_test

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

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

// The page catches up with changes it could miss: one whose event the stream sends after GET /events listed it,
// one made before the stream opened, a steady stream of them, and a stream the server ended because the page
// fell behind.
func TestCatchingUp(t *testing.T) {
	ctx := dashboardtest.Browser(t, 1280, 900)
	late := fakeRecord{Hostname: "late.lab.test", Type: "A", Value: "10.0.0.60", Source: "hosts:" + hostsFile, TTL: 60,
		Provenance: status.Provenance{Kind: "hosts", File: hostsFile, Line: 12}}
	const lateRow = `document.querySelector('#records tr[data-name="late.lab.test"]') !== null`
	const live = `document.getElementById("live").dataset.state === "live"`
	const liveText = `document.getElementById("live").textContent`
	// open opens the page on a seeded fake and waits for its rows (as /dns/records answers them) and its events.
	open := func(t *testing.T, f *fakeAPI) {
		n := seed(f)
		dashboardtest.Open(t, ctx, f.url+"/")
		dashboardtest.Eventually(t, ctx, "the records", fmt.Sprintf(`document.querySelectorAll("#records tbody tr").length === %d`, n), rowNames)
		dashboardtest.Eventually(t, ctx, "the events", fmt.Sprintf(`document.querySelectorAll("#events li").length === %d`, n),
			`document.getElementById("events").textContent`)
	}

	t.Run("an event the history listed comes again on the stream, after the records changed", func(t *testing.T) {
		f := newFakeAPI(t)
		seed(f)
		f.hold() // the page's GET /dns/records is answered before the change lands…
		f.add(late, "hosts", "file_changed")
		n := len(f.events)
		dashboardtest.Open(t, ctx, f.url+"/") // …and its GET /events after: the history lists the change's event
		dashboardtest.Eventually(t, ctx, "the history with the change's event", fmt.Sprintf(`document.querySelectorAll("#events li").length === %d`, n),
			`document.getElementById("events").textContent`)
		dashboardtest.Eventually(t, ctx, "the event stream open", live, liveText)
		require.False(t, dashboardtest.Eval[bool](t, ctx, lateRow), "the records fetched before the change")
		f.release()
		ev := f.resend()
		dashboardtest.Eventually(t, ctx, "the new record, without a reload", lateRow, rowNames)
		assert.Equal(t, 1, dashboardtest.Eval[int](t, ctx, `document.querySelectorAll('#events li[data-id=`+dashboardtest.Quote(ev.ID)+`]').length`),
			"the event listed once")
	})

	t.Run("a change made before the stream opened", func(t *testing.T) {
		f := newFakeAPI(t)
		gate := make(chan struct{})
		f.set(func(f *fakeAPI) { f.gate = gate })
		seed(f)
		dashboardtest.Open(t, ctx, f.url+"/")
		dashboardtest.Eventually(t, ctx, "the records", `document.querySelectorAll("#records tbody tr").length === 8`, rowNames)
		dashboardtest.Eventually(t, ctx, "the events", `document.querySelectorAll("#events li").length === 8`, `document.getElementById("events").textContent`)
		require.Equal(t, "connecting", dashboardtest.Eval[string](t, ctx, liveText), "the stream held")
		f.add(late, "hosts", "file_changed") // before the stream subscribes: it never sends this event
		close(gate)
		dashboardtest.Eventually(t, ctx, "the event stream open", live, liveText)
		dashboardtest.Eventually(t, ctx, "the record changed before the stream opened", lateRow, rowNames)
	})

	t.Run("a steady stream of events", func(t *testing.T) {
		f := newFakeAPI(t)
		open(t, f)
		dashboardtest.Eventually(t, ctx, "the event stream open", live, liveText)
		// A record event every 100 ms for 6 s, each a new record: a quiet period of 250 ms never comes. The page must
		// refetch within its 2 s bound; 6 s leaves a loaded machine room.
		const events = 60
		var sent atomic.Int32
		done := make(chan struct{})
		go func() {
			defer close(done)
			tick := time.NewTicker(100 * time.Millisecond)
			defer tick.Stop()
			for i := range events {
				f.add(fakeRecord{Hostname: fmt.Sprintf("burst-%02d.lab.test", i), Type: "A", Value: fmt.Sprintf("10.0.1.%d", i),
					Source: "docker:burst", TTL: 60}, "container", "started")
				sent.Add(1)
				select {
				case <-tick.C:
				case <-f.done:
					return
				}
			}
		}()
		t.Cleanup(func() { <-done })
		dashboardtest.Eventually(t, ctx, "a new record while the events keep coming",
			`document.querySelector('#records tr[data-name^="burst-"]') !== null`, rowNames)
		got := sent.Load()
		t.Logf("the table changed after %d of the %d events", got, events)
		assert.Less(t, got, int32(events), "the table changed before the stream stopped")
		<-done
		dashboardtest.Eventually(t, ctx, "every record once the stream stops",
			fmt.Sprintf(`document.querySelectorAll('#records tr[data-name^="burst-"]').length === %d`, events), rowNames)
	})

	t.Run("a stream the server ends as lagged", func(t *testing.T) {
		f := newFakeAPI(t)
		open(t, f)
		dashboardtest.Eventually(t, ctx, "the event stream open", live, liveText)
		// Every message the page shows in its error line, and every state of its live badge, from here on.
		dashboardtest.Eval[chromedp.Void](t, ctx, `window.errors = []; window.states = [];
		new MutationObserver(() => {
			const s = document.getElementById("error").textContent; if (s) window.errors.push(s);
		}).observe(document.getElementById("error"), { childList: true, characterData: true, subtree: true });
		new MutationObserver(() => window.states.push(document.getElementById("live").dataset.state))
			.observe(document.getElementById("live"), { attributes: true, attributeFilter: ["data-state"] })`)
		f.lag(late, "hosts", "file_changed")
		dashboardtest.Eventually(t, ctx, "the stream open again", `document.getElementById("live").dataset.state === "live" &&
			document.querySelector('#events li[data-id="ev-0009"]') !== null`, `document.getElementById("events").textContent`)
		dashboardtest.Eventually(t, ctx, "the record added while the page had fallen behind", lateRow, rowNames)
		assert.Empty(t, dashboardtest.Eval[[]string](t, ctx, `window.errors`), "no error shown for a lagged stream")
		assert.Empty(t, dashboardtest.Eval[string](t, ctx, `document.getElementById("error").textContent`))
		assert.Equal(t, []string{"connecting", "live"}, dashboardtest.Eval[[]string](t, ctx, `window.states`),
			"reconnecting, not polling, and live again")
	})
}
