package traefikrule

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Syntax is the syntax of a Traefik router rule: Traefik v3 reads both, per router (`ruleSyntax`), with v3
// as its default.
type Syntax string

// The Traefik rule syntaxes.
const (
	SyntaxV2 Syntax = "v2"
	SyntaxV3 Syntax = "v3"
)

// Hosts is what a Traefik rule says about host names.
type Hosts struct {
	// Names are the literal values of the Host, HostSNI (and v2 HostHeader) matchers that are not negated, in
	// the order written, without duplicates. They are not validated as DNS names: the caller does that.
	Names []string
	// Skipped are host matchers whose value cannot be turned into a name without guessing.
	Skipped []SkippedHost
}

// SkippedHost is a host matcher Parse did not turn into a name, and why.
type SkippedHost struct {
	Matcher string // e.g. "HostRegexp"
	Value   string
	Reason  string
}

// Parse extracts the host names of a Traefik router rule. It understands the whole expression language
// (matchers, &&, ||, !, parentheses, backquoted and double-quoted strings) so that a host next to a path or
// header matcher is still found; only Host, HostHeader (v2) and HostSNI name hosts. HostRegexp, HostSNIRegexp,
// placeholders ("{sub}.example.com", "{{ .Name }}"), the catch-all HostSNI(`*`) and negated hosts are reported
// in Skipped, never guessed. A rule Traefik itself would refuse (a syntax error, several values for Host in v3
// syntax, HostHeader in v3) returns an error, because Traefik would not route it either.
func Parse(rule string, syntax Syntax) (Hosts, error) {
	if syntax == "" {
		syntax = SyntaxV3
	}
	if syntax != SyntaxV2 && syntax != SyntaxV3 {
		return Hosts{}, fmt.Errorf("traefik rule %q: unknown rule syntax %q (want v2 or v3)", rule, syntax)
	}
	toks, err := tokenize(rule)
	if err != nil {
		return Hosts{}, fmt.Errorf("traefik rule %q: %w", rule, err)
	}
	p := &ruleParser{toks: toks, syntax: syntax}
	if err := p.expr(false); err != nil {
		return Hosts{}, fmt.Errorf("traefik rule %q: %w", rule, err)
	}
	if t := p.peek(); t.kind != tokEOF {
		return Hosts{}, fmt.Errorf("traefik rule %q: unexpected %s at offset %d", rule, t, t.pos)
	}
	return p.out, nil
}

type tokKind uint8

const (
	tokEOF tokKind = iota
	tokIdent
	tokString
	tokLParen
	tokRParen
	tokComma
	tokAnd
	tokOr
	tokNot
)

type token struct {
	kind tokKind
	text string // identifier, or the unquoted string
	pos  int
}

func (t token) String() string {
	switch t.kind {
	case tokEOF:
		return "end of rule"
	case tokIdent:
		return "matcher " + strconv.Quote(t.text)
	case tokString:
		return "string " + strconv.Quote(t.text)
	case tokLParen:
		return `"("`
	case tokRParen:
		return `")"`
	case tokComma:
		return `","`
	case tokAnd:
		return `"&&"`
	case tokOr:
		return `"||"`
	default:
		return `"!"`
	}
}

func tokenize(s string) ([]token, error) {
	var toks []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(':
			toks = append(toks, token{kind: tokLParen, pos: i})
			i++
		case c == ')':
			toks = append(toks, token{kind: tokRParen, pos: i})
			i++
		case c == ',':
			toks = append(toks, token{kind: tokComma, pos: i})
			i++
		case c == '!':
			toks = append(toks, token{kind: tokNot, pos: i})
			i++
		case strings.HasPrefix(s[i:], "&&"):
			toks = append(toks, token{kind: tokAnd, pos: i})
			i += 2
		case strings.HasPrefix(s[i:], "||"):
			toks = append(toks, token{kind: tokOr, pos: i})
			i += 2
		case c == '`':
			end := strings.IndexByte(s[i+1:], '`')
			if end < 0 {
				return nil, fmt.Errorf("unterminated backquoted string at offset %d", i)
			}
			toks = append(toks, token{kind: tokString, text: s[i+1 : i+1+end], pos: i})
			i += end + 2
		case c == '"':
			j := i + 1
			for j < len(s) && s[j] != '"' {
				if s[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(s) {
				return nil, fmt.Errorf("unterminated string at offset %d", i)
			}
			v, err := strconv.Unquote(s[i : j+1])
			if err != nil {
				return nil, fmt.Errorf("bad string at offset %d: %w", i, err)
			}
			toks = append(toks, token{kind: tokString, text: v, pos: i})
			i = j + 1
		case isIdentByte(c):
			j := i
			for j < len(s) && isIdentByte(s[j]) {
				j++
			}
			toks = append(toks, token{kind: tokIdent, text: s[i:j], pos: i})
			i = j
		default:
			return nil, fmt.Errorf("unexpected character %q at offset %d", rune(c), i)
		}
	}
	return append(toks, token{kind: tokEOF, pos: len(s)}), nil
}

func isIdentByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// ruleParser is a recursive-descent parser over the tokens:
//
//	expr    = and { "||" and }
//	and     = unary { "&&" unary }
//	unary   = "!" unary | "(" expr ")" | matcher
//	matcher = IDENT "(" [ STRING { "," STRING } ] ")"
type ruleParser struct {
	toks   []token
	i      int
	syntax Syntax
	out    Hosts
	depth  int
}

// maxDepth bounds nesting so that a hostile label ("((((…") cannot exhaust the stack.
const maxDepth = 100

func (p *ruleParser) peek() token { return p.toks[p.i] }

func (p *ruleParser) next() token {
	t := p.toks[p.i]
	if t.kind != tokEOF {
		p.i++
	}
	return t
}

func (p *ruleParser) expect(k tokKind, what string) (token, error) {
	t := p.next()
	if t.kind != k {
		return t, fmt.Errorf("expected %s at offset %d, found %s", what, t.pos, t)
	}
	return t, nil
}

func (p *ruleParser) expr(negated bool) error {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxDepth {
		return fmt.Errorf("nested more than %d levels deep", maxDepth)
	}
	if err := p.and(negated); err != nil {
		return err
	}
	for p.peek().kind == tokOr {
		p.next()
		if err := p.and(negated); err != nil {
			return err
		}
	}
	return nil
}

func (p *ruleParser) and(negated bool) error {
	if err := p.unary(negated); err != nil {
		return err
	}
	for p.peek().kind == tokAnd {
		p.next()
		if err := p.unary(negated); err != nil {
			return err
		}
	}
	return nil
}

func (p *ruleParser) unary(negated bool) error {
	switch t := p.peek(); t.kind {
	case tokNot:
		p.next()
		p.depth++
		defer func() { p.depth-- }()
		if p.depth > maxDepth {
			return fmt.Errorf("nested more than %d levels deep", maxDepth)
		}
		return p.unary(!negated)
	case tokLParen:
		p.next()
		if err := p.expr(negated); err != nil {
			return err
		}
		_, err := p.expect(tokRParen, `")"`)
		return err
	case tokIdent:
		return p.matcher(negated)
	default:
		return fmt.Errorf("expected a matcher, \"!\" or \"(\" at offset %d, found %s", t.pos, t)
	}
}

func (p *ruleParser) matcher(negated bool) error {
	name := p.next()
	if _, err := p.expect(tokLParen, `"(" after `+name.text); err != nil {
		return err
	}
	var args []string
	if p.peek().kind != tokRParen {
		for {
			s, err := p.expect(tokString, "a quoted value")
			if err != nil {
				return err
			}
			args = append(args, s.text)
			if p.peek().kind != tokComma {
				break
			}
			p.next()
		}
	}
	if _, err := p.expect(tokRParen, `")" closing `+name.text); err != nil {
		return err
	}
	return p.hosts(name, args, negated)
}

// hosts records what one matcher says about host names.
func (p *ruleParser) hosts(name token, args []string, negated bool) error {
	switch name.text {
	case "Host", "HostSNI", "HostHeader":
		if name.text == "HostHeader" && p.syntax == SyntaxV3 {
			return fmt.Errorf("HostHeader at offset %d is v2 syntax (use Host, or ruleSyntax v2)", name.pos)
		}
		if len(args) == 0 {
			return fmt.Errorf("%s at offset %d has no value", name.text, name.pos)
		}
		if len(args) > 1 && p.syntax == SyntaxV3 {
			return fmt.Errorf("%s at offset %d takes one value in v3 syntax, found %d (combine with ||, or ruleSyntax v2)",
				name.text, name.pos, len(args))
		}
		for _, a := range args {
			p.host(name.text, a, negated)
		}
	case "HostRegexp", "HostSNIRegexp":
		for _, a := range args {
			p.skip(name.text, a, "regular expression")
		}
	}
	return nil
}

func (p *ruleParser) host(matcher, value string, negated bool) {
	v := strings.TrimSpace(value)
	switch {
	case negated:
		p.skip(matcher, value, "negated")
	case v == "":
		p.skip(matcher, value, "empty")
	case v == "*":
		p.skip(matcher, value, "catch-all")
	case strings.ContainsAny(v, "{}"):
		p.skip(matcher, value, "template or placeholder")
	case !slices.Contains(p.out.Names, v):
		p.out.Names = append(p.out.Names, v)
	}
}

func (p *ruleParser) skip(matcher, value, reason string) {
	p.out.Skipped = append(p.out.Skipped, SkippedHost{Matcher: matcher, Value: value, Reason: reason})
}
