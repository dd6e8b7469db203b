package dashboard_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/joyride-dns/joyride/modules/httpapi/dashboard"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func get(t *testing.T, h http.Handler, method, path string, header http.Header) (*http.Response, string) {
	t.Helper()
	req := httptest.NewRequest(method, path, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	res := rec.Result()
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res, string(body)
}

func TestHandler(t *testing.T) {
	h := dashboard.Handler()
	cases := []struct {
		name, path  string
		contentType string
		contains    string
		cache       string
	}{
		{"index", "/", "text/html; charset=utf-8", `<script src="/assets/app.js" defer></script>`, "no-store"},
		{"index with a filter in the query", "/?name=web", "text/html; charset=utf-8", "<title>", "no-store"},
		{"script", "/assets/app.js", "text/javascript; charset=utf-8", "EventSource", "no-cache"},
		{"theme script", "/assets/theme.js", "text/javascript; charset=utf-8", "joyride-theme", "no-cache"},
		{"stylesheet", "/assets/app.css", "text/css; charset=utf-8", "light-dark(", "no-cache"},
		{"icon", "/assets/icon.svg", "image/svg+xml", "<svg", "no-cache"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, body := get(t, h, http.MethodGet, tc.path, nil)
			require.Equal(t, http.StatusOK, res.StatusCode)
			assert.Equal(t, tc.contentType, res.Header.Get("Content-Type"))
			assert.Contains(t, body, tc.contains)
			assert.Equal(t, tc.cache, res.Header.Get("Cache-Control"))
			assert.Equal(t, dashboard.CSP, res.Header.Get("Content-Security-Policy"))
			assert.Equal(t, "nosniff", res.Header.Get("X-Content-Type-Options"))
		})
	}
}

// The CSP keeps everything to the page's own origin and allows nothing inline, and the page needs nothing more:
// it has no inline script, style attribute or event handler, and names no other origin.
func TestNothingInline(t *testing.T) {
	for _, directive := range []string{"default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"} {
		assert.Contains(t, dashboard.CSP, directive)
	}
	assert.NotContains(t, dashboard.CSP, "unsafe")
	_, page := get(t, dashboard.Handler(), http.MethodGet, "/", nil)
	for _, banned := range []string{"<script>", "<style", "style=", " onclick=", " onload=", "http://", "https://", "javascript:"} {
		assert.NotContains(t, page, banned)
	}
	_, js := get(t, dashboard.Handler(), http.MethodGet, "/assets/app.js", nil)
	for _, banned := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "http://", "https://"} {
		assert.NotContains(t, js, banned, "data reaches the page as text only, from this origin only")
	}
}

func TestNotFound(t *testing.T) {
	h := dashboard.Handler()
	for _, path := range []string{"/assets/missing.js", "/assets/", "/assets/sub/app.js", "/index.html", "/other"} {
		t.Run(path, func(t *testing.T) {
			res, body := get(t, h, http.MethodGet, path, nil)
			require.Equal(t, http.StatusNotFound, res.StatusCode)
			assert.Equal(t, "application/json", res.Header.Get("Content-Type"))
			assert.JSONEq(t, `{"status":"error","message":"not found"}`, body)
		})
	}
	res, _ := get(t, h, http.MethodPost, "/", nil)
	assert.Equal(t, http.StatusNotFound, res.StatusCode, "the page is read-only")
	res, _ = get(t, h, http.MethodGet, "/assets/../index.html", nil)
	assert.NotEqual(t, http.StatusOK, res.StatusCode, "no way out of assets/")
}

// An asset is revalidated by its ETag: the same content answers 304 without a body, and HEAD has no body.
func TestRevalidation(t *testing.T) {
	h := dashboard.Handler()
	res, body := get(t, h, http.MethodGet, "/assets/app.css", nil)
	etag := res.Header.Get("ETag")
	require.Regexp(t, `^"[0-9a-f]{16}"$`, etag)
	require.NotEmpty(t, body)

	res, body = get(t, h, http.MethodGet, "/assets/app.css", http.Header{"If-None-Match": {etag}})
	assert.Equal(t, http.StatusNotModified, res.StatusCode)
	assert.Empty(t, body)

	res, body = get(t, h, http.MethodGet, "/assets/app.css", http.Header{"If-None-Match": {`"0000000000000000"`}})
	assert.Equal(t, http.StatusOK, res.StatusCode, "a stale copy gets the new content")
	assert.NotEmpty(t, body)

	other, _ := get(t, h, http.MethodGet, "/assets/app.js", nil)
	assert.NotEqual(t, etag, other.Header.Get("ETag"), "each asset has its own tag")

	res, body = get(t, h, http.MethodHead, "/", nil)
	assert.Equal(t, http.StatusOK, res.StatusCode)
	assert.Empty(t, body)
	assert.Empty(t, res.Header.Get("ETag"), "the page itself is not cached")
}

// Every asset the page links is embedded and served.
func TestPageLinksServed(t *testing.T) {
	h := dashboard.Handler()
	_, page := get(t, h, http.MethodGet, "/", nil)
	links := 0
	for _, part := range strings.Split(page, `"/assets/`)[1:] {
		name := part[:strings.IndexByte(part, '"')]
		links++
		res, _ := get(t, h, http.MethodGet, "/assets/"+name, nil)
		assert.Equal(t, http.StatusOK, res.StatusCode, name)
	}
	assert.GreaterOrEqual(t, links, 4, "stylesheet, two scripts and the icon")
}
