#!/usr/bin/env python3
"""ops.py - helpers for tests/ops/run.sh (standard library only).

  ops.py metric FILE SELECTOR        sum of the samples in a Prometheus text
                                     file matching SELECTOR, e.g.
                                     'certspoa_decisions_total{verdict="deny"}'
  ops.py names FILE                  every metric name FILE exports (samples
                                     and TYPE lines; histograms with their
                                     _bucket/_sum/_count series), one a line
  ops.py prom URL EXPR               evaluate EXPR on Prometheus at URL
                                     (/api/v1/query): prints the sum of the
                                     result's values, "empty", or "error: ..."
  ops.py dashboard JSON METRICS [PROM_URL [PREFIXES]]
                                     every PromQL expression of a Grafana
                                     dashboard uses only names METRICS has
                                     (METRICS: files separated by commas);
                                     with PROM_URL each also evaluates without
                                     error to a non-empty result (empty is
                                     fine when all its names start with one
                                     of the comma-separated PREFIXES)
  ops.py rules FILE METRICS [PROM_URL]
                                     the same for the expr lines of a rules
                                     file (empty results are fine)
  ops.py rules-health PROM_URL N     Prometheus has N rules loaded, each
                                     evaluated without error
  ops.py dom DOMFILE KEY=VALUE...    checks on the status page's DOM (see
                                     cmd_dom)
  ops.py config HTMLFILE KEY=VALUE...
                                     checks on the /config page (see
                                     cmd_config)
  ops.py http PORT RAW               send RAW (Python escapes: \\r\\n, and
                                     {pad:N} = N bytes of 'a') to 127.0.0.1:PORT,
                                     print the status line of the answer, or
                                     "closed" / "timeout"
  ops.py hold PORT N SECONDS         open N idle connections to 127.0.0.1:PORT,
                                     keep them SECONDS, print how many the
                                     server had closed by then

Every command exits 0 when its check holds, 1 when it does not.
"""
import html.parser
import json
import re
import socket
import sys
import time
import urllib.parse
import urllib.request

# --------------------------------------------------------------- text format

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+\d+)?$')
LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?')


def parse_labels(text):
    labels, pos = {}, 0
    text = text or ""
    while pos < len(text):
        m = LABEL.match(text, pos)
        if not m:
            raise ValueError("bad label set: %r" % text)
        labels[m.group(1)] = re.sub(r'\\(.)', lambda e: "\n" if e.group(1) == "n" else e.group(1),
                                    m.group(2))
        pos = m.end()
    return labels


def samples(path):
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            m = SAMPLE.match(line)
            if not m:
                raise ValueError("not a sample line: %r" % line)
            out.append((m.group(1), parse_labels(m.group(3)), float(m.group(4))))
    return out


def cmd_metric(path, selector):
    m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?$', selector)
    if not m:
        print("bad selector", file=sys.stderr)
        return 1
    want = parse_labels(m.group(2))
    total, found = 0.0, False
    for name, labels, value in samples(path):
        if name == m.group(1) and all(labels.get(k) == v for k, v in want.items()):
            total += value
            found = True
    if not found:
        print("absent")
        return 1
    print("%.17g" % total)
    return 0


def exported_names(paths):
    """Names exported by one text file, or several separated by commas (the
    agent's /metrics and HAProxy's exporter)."""
    names = set()
    for path in paths.split(","):
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.startswith("# TYPE "):
                    parts = line.split()
                    names.add(parts[2])
                    if parts[3] in ("histogram", "summary"):
                        names.update(parts[2] + s for s in ("_bucket", "_sum", "_count"))
        names.update(n for n, _, _ in samples(path))
    return names


def cmd_names(path):
    for n in sorted(exported_names(path)):
        print(n)
    return 0

# --------------------------------------------------------------- Prometheus


def prom_query(url, expr):
    q = urllib.parse.urlencode({"query": expr})
    try:
        with urllib.request.urlopen(url.rstrip("/") + "/api/v1/query?" + q, timeout=5) as r:
            doc = json.load(r)
    except urllib.error.HTTPError as e:
        try:
            doc = json.load(e)
        except ValueError:
            return "error", "HTTP %d" % e.code
    except (OSError, ValueError) as e:
        return "error", str(e)
    if doc.get("status") != "success":
        return "error", "%s: %s" % (doc.get("errorType"), doc.get("error"))
    data = doc["data"]
    if data["resultType"] == "scalar":
        return "ok", [float(data["result"][1])]
    if data["resultType"] == "vector":
        return "ok", [float(s["value"][1]) for s in data["result"]]
    return "error", "unexpected result type " + data["resultType"]


def cmd_prom(url, expr):
    st, res = prom_query(url, expr)
    if st == "error":
        print("error: " + res)
        return 1
    if not res:
        print("empty")
        return 1
    print("%.17g" % sum(res))
    return 0

# --------------------------------------------------------------- dashboard

# PromQL words that are not metric names.
KEYWORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "bool",
    "and", "or", "unless", "offset", "inf", "nan", "atan2",
}
# Aggregation operators: also followed by "by (...)" or "without (...)".
AGGREGATORS = {
    "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count",
    "count_values", "bottomk", "topk", "quantile",
}
# Grafana's variables, and what they become for an instant query here.
GRAFANA_VARS = {
    "$__rate_interval": "1m", "${__rate_interval}": "1m",
    "$__interval": "15s", "${__interval}": "15s",
    "$__range": "5m", "${__range}": "5m",
}


def panels(doc):
    for p in doc.get("panels", []):
        yield p
        for q in p.get("panels", []):      # collapsed rows
            yield q


def expressions(doc):
    for p in panels(doc):
        for t in p.get("targets", []):
            if t.get("expr"):
                yield p.get("title", "?"), t["expr"]
    for v in doc.get("templating", {}).get("list", []):
        q = v.get("query")
        if isinstance(q, dict):
            q = q.get("query")
        if v.get("type") == "query" and q:
            m = re.match(r'^\s*label_values\((.*),\s*\w+\)\s*$', q)
            if m:
                yield "variable " + v.get("name", "?"), m.group(1)


def metric_names(expr):
    e = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)          # strings
    e = re.sub(r'\{[^}]*\}', '', e)                         # label matchers
    e = re.sub(r'\[[^\]]*\]', '', e)                        # ranges
    e = re.sub(r'\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)', r'\1', e)
    e = re.sub(r'\$\{?\w+\}?', '', e)                       # Grafana variables
    names = set()
    for m in re.finditer(r'[a-zA-Z_:][a-zA-Z0-9_:]*', e):
        word = m.group(0)
        rest = e[m.end():].lstrip()
        before = e[:m.start()]
        if word.lower() in KEYWORDS or word in AGGREGATORS or rest.startswith("("):
            continue                                     # keyword or function
        if re.search(r'[0-9.]$', before):
            continue                                     # 1e-9, 5m: part of a number
        names.add(word)
    return names


def for_prometheus(expr):
    for k, v in GRAFANA_VARS.items():
        expr = expr.replace(k, v)
    # template variables: match everything
    expr = re.sub(r'=~?\s*"\$\{?\w+(:\w+)?\}?"', '=~".*"', expr)
    return expr


def cmd_dashboard(path, metrics, url=None, empty_ok=""):
    """empty_ok: comma-separated name prefixes whose queries may return
    nothing (series that exist only with some configuration)."""
    prefixes = [x for x in empty_ok.split(",") if x]
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    exported = exported_names(metrics)
    bad = 0
    n = 0
    for title, expr in expressions(doc):
        n += 1
        names = metric_names(expr)
        missing = sorted(x for x in names if x not in exported)
        if not names:
            print("FAIL %s: no metric name in %r" % (title, expr))
            bad += 1
            continue
        if missing:
            print("FAIL %s: %s not exported (%s)" % (title, ", ".join(missing), expr))
            bad += 1
            continue
        if url:
            st, res = prom_query(url, for_prometheus(expr))
            if st == "error":
                print("FAIL %s: %s (%s)" % (title, res, for_prometheus(expr)))
                bad += 1
                continue
            if not res and all(any(n.startswith(x) for x in prefixes) for n in names):
                print("ok   %s: %s -> empty (allowed)" % (title, ", ".join(sorted(names))))
                continue
            if not res:
                print("FAIL %s: empty result (%s)" % (title, for_prometheus(expr)))
                bad += 1
                continue
            print("ok   %s: %s -> %s" % (title, ", ".join(sorted(names)),
                                       " ".join("%.4g" % v for v in res[:4])))
        else:
            print("ok   %s: %s" % (title, ", ".join(sorted(names))))
    print("%d expressions, %d bad" % (n, bad))
    return 1 if bad or not n else 0

# Series that Prometheus makes itself for every target.
SYNTHETIC = {"up", "scrape_duration_seconds", "scrape_samples_scraped",
             "scrape_samples_post_metric_relabeling", "scrape_series_added"}


def rule_exprs(path):
    """Every expr of a rules file (YAML; multi-line block scalars too)."""
    import yaml
    with open(path, encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    for g in doc.get("groups", []):
        for r in g.get("rules", []):
            if r.get("expr") is not None:
                yield " ".join(str(r["expr"]).split())


def cmd_rules(path, metrics, url=None):
    """Every expr of a rules file uses exported (or synthetic) names and, with
    URL, evaluates without error (alerts are usually empty: that is fine)."""
    exported = exported_names(metrics) | SYNTHETIC
    bad = n = 0
    for expr in rule_exprs(path):
        n += 1
        names = metric_names(expr)
        missing = sorted(x for x in names if x not in exported)
        if not names or missing:
            print("FAIL %s: not exported: %s" % (expr, ", ".join(missing) or "no name"))
            bad += 1
            continue
        if url:
            st, res = prom_query(url, expr)
            if st == "error":
                print("FAIL %s: %s" % (expr, res))
                bad += 1
                continue
        print("ok   %s" % expr)
    print("%d expressions, %d bad" % (n, bad))
    return 1 if bad or not n else 0


def cmd_rules_health(url, want):
    """Prometheus loaded WANT rules and evaluated each without error."""
    try:
        with urllib.request.urlopen(url.rstrip("/") + "/api/v1/rules", timeout=5) as r:
            doc = json.load(r)
    except (OSError, ValueError) as e:
        print("error: %s" % e)
        return 1
    rules = [r for g in doc["data"]["groups"] for r in g["rules"]]
    bad = [r["name"] + ": " + r.get("lastError", r.get("health", "?"))
           for r in rules if r.get("health") != "ok"]
    print("%d rules, %d not ok%s" % (len(rules), len(bad), ("; " + "; ".join(bad)) if bad else ""))
    return 0 if len(rules) == int(want) and not bad else 1

# --------------------------------------------------------------- status page


class Page(html.parser.HTMLParser):
    """Tiles (label -> value), the rows of each section's table (and each
    row's class), the chart's series, and the text of elements by id."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tiles = {}
        self.sections = {}
        self.row_classes = {}
        self.assets = []
        self.scripts = 0
        self.chart = None          # data-code of each polyline in svg#chart
        self.chart_points = {}
        self.by_id = {}
        self._id_stack = []        # (id, tag, depth) being collected
        self._id_text = {}
        self._depth = 0
        self._stack = []
        self._text = []
        self._tile = None
        self._h2 = None
        self._row = None
        self._cell = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        cls = (a.get("class") or "").split()
        if tag not in ("br", "meta", "img", "input", "link", "hr", "line", "rect",
                       "polyline", "path", "circle"):
            self._depth += 1
            if a.get("id"):
                self._id_stack.append((a["id"], tag, self._depth))
                self._id_text[a["id"]] = []
        if tag == "script":
            self.scripts += 1
        if tag == "svg" and a.get("id") == "chart":
            self.chart = []
        if tag == "polyline" and self.chart is not None and a.get("data-code"):
            self.chart.append(a["data-code"])
            self.chart_points[a["data-code"]] = a.get("points", "")
        if tag in ("img", "script", "iframe", "embed", "object", "video", "audio") and a.get("src"):
            self.assets.append(a["src"])
        if tag == "link" and a.get("href"):
            self.assets.append(a["href"])
        if tag == "div" and "tile" in cls:
            self._tile = {}
        if tag == "div" and self._tile is not None and ("v" in cls or "l" in cls):
            self._cell = "v" if "v" in cls else "l"
            self._text = []
        if tag == "h2":
            self._text = []
            self._cell = "h2"
        if tag == "tr":
            self._row = []
            self._row_class = a.get("class") or ""
        if tag in ("td", "th") and self._row is not None:
            self._cell = "td"
            self._text = []

    def handle_endtag(self, tag):
        if tag not in ("br", "meta", "img", "input", "link", "hr", "line", "rect",
                       "polyline", "path", "circle"):
            if self._id_stack and self._id_stack[-1][2] == self._depth:
                i = self._id_stack.pop()[0]
                self.by_id[i] = " ".join("".join(self._id_text[i]).split())
            self._depth -= 1
        text = " ".join("".join(self._text).split())
        if tag == "div" and self._cell in ("v", "l") and self._tile is not None:
            self._tile[self._cell] = text
            self._cell = None
            if "v" in self._tile and "l" in self._tile:
                self.tiles[self._tile["l"]] = self._tile["v"]
                self._tile = None
        elif tag == "h2" and self._cell == "h2":
            self._h2 = text
            self.sections.setdefault(text, [])
            self._cell = None
        elif tag in ("td", "th") and self._cell == "td":
            self._row.append(text)
            self._cell = None
        elif tag == "tr" and self._row is not None:
            if self._h2 is not None:
                self.sections[self._h2].append(self._row)
                self.row_classes.setdefault(self._h2, []).append(self._row_class)
            self._row = None

    def handle_data(self, data):
        if self._cell:
            self._text.append(data)
        for i, _, _ in self._id_stack:
            self._id_text[i].append(data)


class Checker:
    """check(ok, what) prints one ok/FAIL line; .bad counts the failures."""

    def __init__(self):
        self.bad = 0

    def __call__(self, ok, what):
        print(("ok   " if ok else "FAIL ") + what)
        self.bad += 0 if ok else 1


def load_page(path, args):
    """The page parsed, its text, and the KEY=VALUE arguments as a dict."""
    with open(path, encoding="utf-8", errors="replace") as f:
        raw = f.read()
    p = Page()
    p.feed(raw)
    return p, raw, dict(a.split("=", 1) for a in args)


def cmd_dom(path, *args):
    """KEY=VALUE checks: allowed=N denied=N codes=a,b,c subject=TEXT
    allowed_requests=N chart=CODES chart_absent=CODES shown_codes=CODES
    expired_subject=S expiring_subject=S reload_error=TEXT absent=S1,S2."""
    p, raw, want = load_page(path, args)
    check = Checker()

    if "allowed" in want:
        check(p.tiles.get("allowed") == want["allowed"],
              "tile 'allowed' is %s (want %s)" % (p.tiles.get("allowed"), want["allowed"]))
    if "denied" in want:
        check(p.tiles.get("denied") == want["denied"],
              "tile 'denied' is %s (want %s)" % (p.tiles.get("denied"), want["denied"]))
    den = next((rows for h, rows in p.sections.items() if h.startswith("Recent denials")), None)
    if "codes" in want:
        codes = {r[1].split()[0] for r in (den or [])[1:] if len(r) > 1 and r[1]}
        for c in want["codes"].split(","):
            check(c in codes, "recent denials list code %s (has: %s)" % (c, ", ".join(sorted(codes))))
    inv = next((rows for h, rows in p.sections.items() if h.startswith("Client certificates")), None)
    if "subject" in want:
        subjects = [r[0] for r in (inv or [])[1:] if r]
        check(want["subject"] in subjects,
              "inventory shows %r (has: %s)" % (want["subject"], "; ".join(subjects)))
    if "allowed_requests" in want:
        row = next((r for r in (inv or [])[1:] if r and r[0] == want.get("subject")), None)
        check(row is not None and want["allowed_requests"] in row,
              "inventory row of %r counts %s requests (row: %s)"
              % (want.get("subject"), want["allowed_requests"], row))
    check(not p.assets, "no external assets (found: %s)" % (", ".join(p.assets) or "none"))
    check(p.scripts == 0, "no script element (%d)" % p.scripts)
    for k in ("uptime", "latency p50", "latency p99", "reloads / failed"):
        check(k in p.tiles, "tile %r present (%s)" % (k, p.tiles.get(k)))
    if "chart" in want:
        # the inline SVG chart: one series for all decisions and one per code
        # seen, each with points inside the plot
        series = p.chart or []
        for c in ["all"] + want["chart"].split(","):
            pts = p.chart_points.get(c, "")
            check(c in series and re.match(r'^[0-9.]+,[0-9.]+( [0-9.]+,[0-9.]+)+$', pts) is not None,
                  "chart has a series %s with points (series: %s)" % (c, ", ".join(series) or "none"))
    if "chart_absent" in want:
        for c in want["chart_absent"].split(","):
            check(c not in (p.chart or []), "chart has no series %s (a code with no decision)" % c)
    dec = next((rows for h, rows in p.sections.items() if h.startswith("Allow / deny")), None)
    if "shown_codes" in want:
        # zero rows hidden: exactly the codes that have decisions
        shown = sorted(r[0] for r in (dec or [])[1:] if r)
        check(shown == sorted(want["shown_codes"].split(",")),
              "decisions table shows exactly %s (shows: %s)" % (want["shown_codes"], ", ".join(shown)))
        check("no decisions not shown" in p.by_id.get("zero-codes", ""),
              "a note says the zero codes are hidden (%r)" % p.by_id.get("zero-codes"))
    inv_cls = next((c for h, c in p.row_classes.items() if h.startswith("Client certificates")), [])
    for key, cls in (("expired_subject", "expired"), ("expiring_subject", "expiring")):
        if key in want:
            row = next(((r, c) for r, c in zip((inv or [])[1:], inv_cls[1:]) if r and r[0] == want[key]),
                       None)
            check(row is not None and row[1] == cls,
                  "inventory row of %r is highlighted %s (class %r)" % (want[key], cls, row and row[1]))
            if row:
                rel = row[0][2]
                pat = r'^\d+ (s|min|h|d) ago expired$' if cls == "expired" else \
                    r'^in \d+ (s|min|h|d) expires soon$'
                check(re.match(pat, rel) is not None,
                      "expiry of %r is relative (%r)" % (want[key], rel))
    if "normal_rows" in want:
        plain = sum(1 for c in inv_cls[1:] if not c)
        check(plain == int(want["normal_rows"]), "%s inventory rows not highlighted (%d)"
              % (want["normal_rows"], plain))
    if "reload_error" in want:
        text = p.by_id.get("reload-error", "")
        check(want["reload_error"] in text, "reload error shown: %r in %r" % (want["reload_error"], text))
    if "absent" in want:
        for secret in want["absent"].split(","):
            check(secret not in raw, "the page does not contain the secret %s..." % secret[:4])
    return 1 if check.bad else 0


def cmd_config(path, *args):
    """KEY=VALUE checks on /config: sha256=HEX (the page's digest),
    has=TEXT[|TEXT...] (in the effective configuration), absent=S1,S2
    (secrets: nowhere in the page)."""
    p, raw, want = load_page(path, args)
    check = Checker()
    text = p.by_id.get("config-text", "")
    check(bool(text), "the effective configuration is shown (%d characters)" % len(text))
    if "sha256" in want:
        check(p.by_id.get("config-sha256") == want["sha256"],
              "the page's digest %r is certspoa_config_info's %r" % (p.by_id.get("config-sha256"),
                                                                    want["sha256"]))
    for t in want.get("has", "").split("|"):
        if t:
            check(" ".join(t.split()) in text, "shows %r" % t)
    for secret in want.get("absent", "").split(","):
        if secret:
            check(secret not in raw, "the secret %s... appears nowhere" % secret[:4])
    pol = next((rows for h, rows in p.sections.items() if h.startswith("Policies")), None)
    check(bool(pol and len(pol) > 1), "a policies table (%d rows)" % (len(pol) - 1 if pol else 0))
    check(not p.assets and p.scripts == 0, "no external assets, no script")
    return 1 if check.bad else 0

# --------------------------------------------------------------- raw HTTP


def cmd_http(port, raw):
    raw = re.sub(r'\{pad:(\d+)\}', lambda m: "a" * int(m.group(1)), raw)
    data = raw.encode().decode("unicode_escape").encode("latin-1")
    s = socket.create_connection(("127.0.0.1", int(port)), timeout=3)
    try:
        try:
            s.sendall(data)
        except OSError:
            pass                       # the server may answer and close early
        buf = b""
        while b"\r\n" not in buf:
            try:
                chunk = s.recv(4096)
            except socket.timeout:
                print("timeout")
                return 1
            except OSError:
                break
            if not chunk:
                break
            buf += chunk
    finally:
        s.close()
    if not buf:
        print("closed")
        return 1
    print(buf.split(b"\r\n", 1)[0].decode("latin-1"))
    return 0


def cmd_hold(port, n, seconds):
    """Open N idle connections, keep them SECONDS, print how many the server
    closed by then."""
    socks = []
    for _ in range(int(n)):
        socks.append(socket.create_connection(("127.0.0.1", int(port)), timeout=3))
    time.sleep(float(seconds))
    closed = 0
    for s in socks:
        s.setblocking(False)
        try:
            if s.recv(1) == b"":
                closed += 1
        except BlockingIOError:
            pass
        except OSError:
            closed += 1
        s.close()
    print(closed)
    return 0


def main(argv):
    cmds = {"metric": cmd_metric, "names": cmd_names, "prom": cmd_prom,
            "dashboard": cmd_dashboard, "dom": cmd_dom, "config": cmd_config, "http": cmd_http,
            "hold": cmd_hold, "rules": cmd_rules, "rules-health": cmd_rules_health}
    if len(argv) < 2 or argv[1] not in cmds:
        print(__doc__, file=sys.stderr)
        return 2
    return cmds[argv[1]](*argv[2:])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
