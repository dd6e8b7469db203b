// Package dashboard is the operator's status page: one HTML page, a stylesheet, two scripts and an icon,
// embedded in the binary so that the page works offline and needs no build step. The page reads the JSON API
// (/status, /dns/records, /dns/cluster, /events and the /events/stream server-sent events) from the same origin;
// this package only serves the files.
//
// The HTTP module mounts Handler on "GET /{$}" and "GET /assets/"; Handler routes the full request path itself,
// so it also works mounted at the root of a mux of its own.
//
// Caching: index.html is never cached (it is a few hundred bytes, and an upgraded binary must show its own page);
// the assets carry a strong ETag, a hash of their content, and are revalidated on every load (a 304 without a
// body), so an upgrade is seen at once without version strings in the page's links.
//
// The Content-Security-Policy allows scripts, styles, images and connections from the page's own origin only:
// the page has no inline script or style and loads nothing from elsewhere, so an API string that slipped into
// the DOM as markup could still not run.
package dashboard

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"time"
)

//go:embed index.html assets
var files embed.FS

// CSP is the Content-Security-Policy of every response: same-origin scripts, styles, images and fetches
// (EventSource included), nothing inline, no frames, no forms, no plugins.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
	"manifest-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// contentTypes are written out rather than asked of package mime, whose table the system's mime.types files can
// change.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".svg":  "image/svg+xml",
}

// asset is one embedded file ready to serve.
type asset struct {
	body        []byte
	contentType string
	etag        string
}

// Handler serves GET / (the page) and GET /assets/<file>; every other path is a JSON 404, like the API's.
func Handler() http.Handler {
	index, err := load("index.html")
	if err != nil {
		panic(err) // the embed directive guarantees the file: only a broken build gets here
	}
	assets := map[string]asset{}
	entries, err := fs.ReadDir(files, "assets")
	if err != nil {
		panic(err)
	}
	for _, e := range entries {
		a, err := load(path.Join("assets", e.Name()))
		if err != nil {
			panic(err)
		}
		assets[e.Name()] = a
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		serve(w, r, index)
	})
	mux.HandleFunc("GET /assets/{file}", func(w http.ResponseWriter, r *http.Request) {
		a, ok := assets[r.PathValue("file")]
		if !ok {
			notFound(w)
			return
		}
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("ETag", a.etag)
		serve(w, r, a)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) { notFound(w) })
	return mux
}

func load(name string) (asset, error) {
	body, err := files.ReadFile(name)
	if err != nil {
		return asset{}, err
	}
	sum := sha256.Sum256(body)
	ct, ok := contentTypes[path.Ext(name)]
	if !ok {
		ct = "application/octet-stream"
	}
	return asset{body: body, contentType: ct, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}, nil
}

// serve writes a with the headers every dashboard response has. http.ServeContent answers If-None-Match with
// 304 and HEAD without a body.
func serve(w http.ResponseWriter, r *http.Request, a asset) {
	h := w.Header()
	h.Set("Content-Type", a.contentType)
	h.Set("Content-Security-Policy", CSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.body))
}

func notFound(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusNotFound)
	_, _ = w.Write([]byte(`{"status":"error","message":"not found"}` + "\n"))
}
