package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/joyride-dns/joyride/config"
)

// The exit codes of the commands that ask a running node (main's package comment lists them all).
const (
	// exitNo is a clear "no": a check failed, the node is not ready, a name has no records.
	exitNo = 1
	// exitUsage is an invalid command line or configuration.
	exitUsage = 2
	// exitUnreachable is a node that cannot be reached: connection refused, no answer within --timeout, a host
	// name that does not resolve.
	exitUnreachable = 3
	// exitAnswer is a node that answered with an error, or something that is not Joyride's API.
	exitAnswer = 4
)

// failure ends a command with its code and one line "joyride: <msg>" on stderr.
type failure struct {
	code int
	msg  string
}

func (f *failure) Error() string { return f.msg }

func fail(code int, format string, args ...any) error {
	return &failure{code: code, msg: fmt.Sprintf(format, args...)}
}

// defaultTimeout bounds every request to a node: a node that hangs is as good as down for a command line.
const defaultTimeout = 5 * time.Second

// nodeFlags are the flags of every command that asks a node: where it is and how to ask.
type nodeFlags struct {
	src     sources
	url     string
	token   string
	timeout time.Duration
	json    bool
}

func (f *nodeFlags) register(cmd *cobra.Command, withJSON bool) {
	f.src.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&f.url, "url", "", "the node's HTTP API (default: http.host and http.port of the configuration, a wildcard host meaning loopback)")
	fl.StringVar(&f.token, "token", "", "bearer token sent with every request (default: http.token, $JOYRIDE_HTTP_TOKEN)")
	fl.DurationVar(&f.timeout, "timeout", defaultTimeout, "how long to wait for the node's answer")
	if withJSON {
		fl.BoolVar(&f.json, "json", false, "print the API's JSON answer unchanged, for scripts")
	}
}

// node is a running node's HTTP API.
type node struct {
	base   string // "http://127.0.0.1:5000", no trailing slash
	token  string
	client *http.Client
}

// connect loads the configuration as run does and returns the node the flags name.
func (c *cli) connect(f *nodeFlags) (*node, error) {
	res, err := c.load(f.src, c.env)
	if err != nil {
		return nil, err
	}
	for _, w := range res.Warnings {
		fmt.Fprintln(c.stderr, w)
	}
	return f.node(res.Config)
}

// ask connects to the node the flags name and gets path, whose answer must have one of codes.
func (c *cli) ask(f *nodeFlags, path string, codes ...int) (*node, answer, error) {
	n, err := c.connect(f)
	if err != nil {
		return nil, answer{}, err
	}
	a, err := n.fetch(path, codes...)
	return n, a, err
}

// fetch gets path, whose answer must have one of codes.
func (n *node) fetch(path string, codes ...int) (answer, error) {
	a, err := n.get(path)
	if err != nil {
		return answer{}, err
	}
	return a, n.expect(path, a, codes...)
}

// node is the node the flags name: --url, else the configuration's http.host and http.port.
func (f *nodeFlags) node(cfg config.Config) (*node, error) {
	if f.timeout <= 0 {
		return nil, fail(exitUsage, "--timeout %s: must be positive", f.timeout)
	}
	var base string
	var err error
	if f.url == "" {
		base, err = defaultURL(cfg)
	} else {
		base, err = parseURL(f.url)
	}
	if err != nil {
		return nil, err
	}
	token := f.token
	if token == "" {
		token = cfg.HTTP.Token
	}
	// One or two requests per command: a kept-alive connection would only outlive it.
	tr := &http.Transport{Proxy: http.ProxyFromEnvironment, DisableKeepAlives: true}
	return &node{base: base, token: token, client: &http.Client{Timeout: f.timeout, Transport: tr}}, nil
}

// defaultURL is where the configuration serves the API, as a client on this host reaches it.
func defaultURL(cfg config.Config) (string, error) {
	if !cfg.Enabled("http") {
		return "", fail(exitUsage, "the configuration does not enable the http module (modules.http): there is no API to ask; give --url")
	}
	if cfg.HTTP.Port == 0 {
		return "", fail(exitUsage, "http.port is 0 (a free port chosen at start): give --url")
	}
	host := cfg.HTTP.Host
	if ip, err := netip.ParseAddr(host); err == nil && ip.IsUnspecified() {
		host = loopback(ip)
	}
	return "http://" + net.JoinHostPort(host, strconv.Itoa(cfg.HTTP.Port)), nil
}

// loopback is the loopback address of unspecified's family: a server bound to every address answers there.
func loopback(unspecified netip.Addr) string {
	if unspecified.Is6() {
		return "::1"
	}
	return "127.0.0.1"
}

// parseURL checks --url; "host:port" alone means http.
func parseURL(raw string) (string, error) {
	if !strings.Contains(raw, "://") {
		raw = "http://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fail(exitUsage, "--url %q: want http://host:port", raw)
	}
	return strings.TrimSuffix(u.Scheme+"://"+u.Host+u.Path, "/"), nil
}

// answer is one answer of the API.
type answer struct {
	code int
	body []byte
}

// get asks the node for path. A node that cannot be reached is an exitUnreachable failure; an answer that is
// not JSON (another server on the port, a proxy's error page) an exitAnswer one.
func (n *node) get(path string) (answer, error) {
	req, err := http.NewRequest(http.MethodGet, n.base+path, nil)
	if err != nil {
		return answer{}, fail(exitUsage, "%s%s: %v", n.base, path, err)
	}
	req.Header.Set("Accept", "application/json")
	if n.token != "" {
		req.Header.Set("Authorization", "Bearer "+n.token)
	}
	resp, err := n.client.Do(req)
	if err != nil {
		return answer{}, fail(exitUnreachable, "cannot reach the node at %s: %s", n.base, unreachable(err, n.client.Timeout))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return answer{}, fail(exitUnreachable, "the node at %s stopped answering: %s", n.base, unreachable(err, n.client.Timeout))
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "application/json" {
		return answer{}, fail(exitAnswer, "%s%s answered %s with %q, not Joyride's JSON API: is --url right?", n.base, path,
			resp.Status, resp.Header.Get("Content-Type"))
	}
	return answer{code: resp.StatusCode, body: body}, nil
}

// maxAnswer bounds what a command reads of one answer: a whole /dns/records of a 100,000-line hosts file fits.
const maxAnswer = 256 << 20

// unreachable says in a few words why a request got no answer.
func unreachable(err error, timeout time.Duration) string {
	var dnsErr *net.DNSError
	var netErr net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused (is `joyride run` running there, with the http module?)"
	case errors.As(err, &dnsErr):
		return fmt.Sprintf("cannot resolve %q", dnsErr.Name)
	case errors.As(err, &netErr) && netErr.Timeout():
		return fmt.Sprintf("no answer within %s (--timeout)", timeout)
	}
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		return urlErr.Err.Error()
	}
	return err.Error()
}

// expect fails unless the answer's status is one of codes, quoting the API's error message.
func (n *node) expect(path string, a answer, codes ...int) error {
	for _, c := range codes {
		if a.code == c {
			return nil
		}
	}
	return fail(exitAnswer, "%s%s answered %d %s: %s", n.base, path, a.code, http.StatusText(a.code), message(a.body))
}

// message is the API's error message ({"status":"error","message":…}), or the body's start.
func message(body []byte) string {
	var e struct{ Message string }
	if json.Unmarshal(body, &e) == nil && e.Message != "" {
		return e.Message
	}
	line, _, _ := strings.Cut(strings.TrimSpace(string(body)), "\n")
	return line
}

// decode reads an answer's JSON into v; a body of another shape is the wrong server.
func (n *node) decode(path string, a answer, v any) error {
	if err := json.Unmarshal(a.body, v); err != nil {
		return fail(exitAnswer, "%s%s: the answer is not the API's: %v", n.base, path, err)
	}
	return nil
}

// printJSON writes an answer's body as it came, ending with a newline.
func (c *cli) printJSON(a answer) {
	_, _ = c.stdout.Write(a.body) // a closed stdout has no one to tell
	if len(a.body) > 0 && a.body[len(a.body)-1] != '\n' {
		fmt.Fprintln(c.stdout)
	}
}
