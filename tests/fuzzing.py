"""The fuzz harness: every route of the app, every parameter it reads, hostile values, per role.

Nothing here names a screen. What to send is found the way a person (or an attacker) finds it:

- the app's URL map: every rule is requested for every role (path arguments varied too);
- the pages: starting at the home page, every link and every form a role is shown is followed
  (one of each shape: path and argument names), so ids, filters and forms start from real values;
- Flask-Admin's own declarations: every list view's filters (``flt0_<arg>``), its ajax look-ups
  (``name``/``query``/``offset``/``limit``) and bulk actions (``action``/``rowid``);
- the parameters code reads: ``request.args``/``request.form`` record every name asked for, so a
  custom screen's ``request.args.get("case")`` is fuzzed without anyone listing it.

Each target is then sent with one parameter at a time replaced by a hostile value (the fixed list
below, and hypothesis strategies with a fixed seed), the others as rendered. Every response is
checked (``Harness.check``): no 5xx (and no exception: the tests run with TESTING, so one
propagates), no traceback or exception text, errors in Japanese, no half-stored rows after a
refused post, no unescaped markup from the input.
"""

import re
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import parse_qsl, quote, urljoin, urlsplit

import hypothesis
import sqlalchemy as sa
from flask import Request, request, request_started
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import ImmutableMultiDict

from kyogikai.models import db
from tests.english import ALLOWED, WORD, visible_text

# --- values -------------------------------------------------------------------------------------

BIG = 2**64
HOSTILE = [
    # SQL and HTML/JS injection, template syntax
    "' OR '1'='1", "1; DROP TABLE users;--", "1' UNION SELECT password_hash FROM users--", "%",
    "_", "\\", "<script>alert(1)</script>", '"><script>alert(1)</script>',
    "<img src=x onerror=alert(1)>", "javascript:alert(1)", "{{7*7}}", "${7*7}",
    # NUL and other control characters
    "\x00", "a\x00b", "\x01\x02\x1b[31m\x7f", "\r\n\r\n", "\t", "\u2028\u2029", "\ufeff",
    # lone surrogates (sent as their invalid UTF-8 bytes) and invalid UTF-8 proper
    "\ud800", "a\udfffb", b"\xff\xfe", b"\xc0\xaf", b"\xe3\x81",
    # 10,000 characters
    "あ" * 10_000, "a" * 10_000, "9" * 10_000,
    # emoji, combining marks, variation selectors, bidi and zero-width
    "👩‍👧‍👦", "👍🏽", "か\u3099", "葛\U000e0100", "\ufe0f", "\u200b", "\u202eabc",
    # 外字 (private use) range
    "\ue000", "\uf8ff", "\U000f0000",
    # full-width, superscript and other digits int() or isdigit() read differently
    "１２３", "²", "¹²³", "١٢٣", "Ⅻ", "①",
    # huge, negative, non-integer numbers
    str(2**63), str(BIG), "-1", f"-{BIG}", "0", "1.5", "1e309", "NaN", "inf", "-0", "0x10",
    "1_000", " 1 ",
    # 和暦 and western dates that do not exist
    "令和99年13月40日", "令和0年1月1日", "平成31年5月1日", "昭和100年1月1日", "R99.13.40",
    "明治1年1月1日", "2025-02-30", "0000-00-00", "9999-12-31", "2025/13/01",
    # real dates 和暦 cannot write (stored, every page showing one failed)
    "1800-01-01", "0001-01-01", "1868年10月22日",
    # wrong enum codes, Flask-Admin's own markers, blanks
    "unknown", "__None", "DELETE", "supporting\x00", "", " ", "\u3000",
]
REGRESSIONS = {  # the four causes found by hand before this harness (see the issue): pinned
    "unknown enum filter value": "zzz-不明",
    "superscript digits": "²",
    "integer past 2^63": str(BIG),
    "thousands of search terms": " ".join(["語"] * 2000),
}
HOSTILE += [value for value in REGRESSIONS.values() if value not in HOSTILE]


def encode(value) -> bytes:
    """A value's bytes on the wire: lone surrogates become the invalid UTF-8 a broken client sends."""
    return value if isinstance(value, bytes) else value.encode("utf-8", "surrogatepass")


BOUNDARY = "fuzz-boundary-7d1f"


def _multipart(pairs) -> bytes:
    """A multipart body built by hand: the test client would refuse to encode a lone surrogate."""
    parts = [b"--" + BOUNDARY.encode() + b'\r\nContent-Disposition: form-data; name="'
             + encode(name).replace(b'"', b"%22") + b'"\r\n\r\n' + encode(value) + b"\r\n"
             for name, value in pairs]
    return b"".join(parts) + b"--" + BOUNDARY.encode() + b"--\r\n"


def _wareki(era, year, month, day):
    return f"{era}{year}年{month}月{day}日"


VALUES = st.one_of(
    st.sampled_from(HOSTILE),
    st.text(max_size=40),
    st.text(st.characters(codec="utf-8"), min_size=1, max_size=300),
    st.integers(min_value=-(2**80), max_value=2**80).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.builds(_wareki, st.sampled_from(["令和", "平成", "昭和", "大正", "明治", "R", "H"]),
              st.integers(-1, 120), st.integers(-1, 14), st.integers(-1, 40)),
    st.binary(max_size=20),
)

# --- recording what the app reads ---------------------------------------------------------------

READ: set[str] = set()  # parameter names read by the request in flight
TOTALS: list = []  # (role, requests, seconds, targets) per run, for the terminal summary


class RecordingDict(ImmutableMultiDict):
    """request.args / request.form that note every name code asks for."""

    def __getitem__(self, key):
        READ.add(key)
        return super().__getitem__(key)

    def get(self, key, default=None, type=None):  # noqa: A002 — werkzeug's signature
        READ.add(key)
        return super().get(key, default, type)

    def getlist(self, key, type=None):  # noqa: A002
        READ.add(key)
        return super().getlist(key, type)

    def __contains__(self, key):
        READ.add(key)
        return super().__contains__(key)


class RecordingRequest(Request):
    parameter_storage_class = RecordingDict


# --- what the pages offer -----------------------------------------------------------------------


@dataclass
class Form:
    method: str
    action: str
    enctype: str
    fields: list = field(default_factory=list)  # (name, value) as a browser would send
    names: set = field(default_factory=set)  # every named control, sent or not
    form_id: str = ""


class _Page(HTMLParser):
    """Links and forms of a page (controls outside their form with form="id" included)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._by_id: dict[str, Form] = {}
        self._pending: list[tuple[str, tuple]] = []  # controls naming a form by id
        self._select = None  # (form, name, first option, selected?)
        self._textarea = None

    def _owner(self, attributes):
        return attributes.get("form") or self._form

    def _add(self, owner, name, value, send=True):
        if isinstance(owner, str):
            self._pending.append((owner, (name, value, send)))
        elif owner is not None:
            owner.names.add(name)
            if send:
                owner.fields.append((name, value))

    def handle_starttag(self, tag, attrs):
        a = {k: (v if v is not None else "") for k, v in attrs}
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        elif tag == "form":
            self._form = Form(a.get("method", "get").upper(), a.get("action", ""),
                              a.get("enctype", ""), form_id=a.get("id", ""))
            self.forms.append(self._form)
            if a.get("id"):
                self._by_id[a["id"]] = self._form
        elif tag in ("input", "button") and a.get("name"):
            kind = a.get("type", "text" if tag == "input" else "submit")
            if kind == "file":
                self._add(self._owner(a), a["name"], "", send=False)
            elif kind in ("checkbox", "radio"):
                self._add(self._owner(a), a["name"], a.get("value", "on"), "checked" in a)
            elif kind in ("submit", "button", "image"):
                # The first named button is the one pressed; the others are still parameters.
                owner = self._owner(a)
                pressed = not isinstance(owner, Form) or a["name"] not in owner.names
                self._add(owner, a["name"], a.get("value", ""), pressed)
            else:
                self._add(self._owner(a), a["name"], a.get("value", ""))
        elif tag == "select" and a.get("name"):
            self._select = [self._owner(a), a["name"], None, False, "multiple" in a]
        elif tag == "option" and self._select is not None:
            value = a.get("value", "")
            if self._select[2] is None:
                self._select[2] = value
            if "selected" in a:
                self._add(self._select[0], self._select[1], value)
                self._select[3] = True
        elif tag == "textarea" and a.get("name"):
            self._textarea = [self._owner(a), a["name"], ""]

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea[2] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select" and self._select is not None:
            owner, name, first, chosen, multiple = self._select
            if not chosen and first is not None and not multiple:
                self._add(owner, name, first)
            elif not chosen:
                self._add(owner, name, "", send=False)
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            owner, name, text = self._textarea
            self._add(owner, name, text.removeprefix("\n"))
            self._textarea = None

    def close(self):
        super().close()
        for form_id, (name, value, send) in self._pending:
            if form_id in self._by_id:
                self._add(self._by_id[form_id], name, value, send)


# --- targets ------------------------------------------------------------------------------------


@dataclass
class Target:
    """One request shape: method, path (with its rule's arguments), the values as rendered, and
    the names to vary."""

    method: str
    path: str
    fields: list
    params: set
    multipart: bool = False
    path_args: dict = field(default_factory=dict)  # rule argument → value in the path
    rule: str = ""

    def key(self):
        return (self.method, self.rule or self.path, tuple(sorted({n for n, _ in self.fields})))


LOG_TABLES = {"audit_events", "login_throttles"}  # written on refusals too, by design
NEVER_FOLLOW = ("/static/", "/admin/static/")
# Ends the session: requested (its refusals checked) only with a hostile CSRF token.
SESSION_ENDING = {"auth.logout"}
JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")
TRACEBACK = re.compile(
    r"Traceback \(most recent call last\)|File \"[^\"]+\", line \d+|"
    r"\b(?:sqlalchemy|psycopg|werkzeug|jinja2|wtforms|flask_admin)\.[a-z_]+|"
    r"\b[A-Z][A-Za-z]*(?:Error|Exception)\b")
ERROR_BLOCK = re.compile(
    r'<(div|p|span|li)[^>]*class="[^"]*\b(?:invalid-feedback|alert-danger|alert-error)\b[^"]*"'
    r"[^>]*>(.*?)</\1>", re.S)


@dataclass
class Failure:
    role: str
    what: str
    method: str
    url: str
    param: str
    value: str
    status: int

    def __str__(self):
        return (f"[{self.role}] {self.what}: {self.method} {self.url[:160]} "
                f"{self.param}={self.value[:60]!r} → {self.status}")


@dataclass
class Stats:
    requests: int = 0
    seconds: float = 0.0
    rules: set = field(default_factory=set)
    failures: list = field(default_factory=list)
    kinds: dict = field(default_factory=dict)  # (method, path, kind of failure) → how many


class Harness:
    """Fuzzes one app as one signed-in client; ``relogin`` signs in again if the session ends."""

    def __init__(self, app, client, role: str, relogin, *, per_param: int, pages: int,
                 scope: str = "/"):
        self.app, self.client, self.role, self.relogin = app, client, role, relogin
        self.per_param, self.pages, self.scope = per_param, pages, scope
        self.stats = Stats()
        self.targets: dict = {}
        self._views = {view.endpoint: view for view in app.extensions["admin"][0]._views}
        self._adapter = app.url_map.bind("localhost")
        self._tables = [t for t in db.metadata.sorted_tables if t.name not in LOG_TABLES]

    # -- sending --

    def send(self, target: Target, pairs: list, path_args: dict | None = None):
        path = target.path
        for name, value in (path_args or target.path_args).items():
            path = path.replace(f"<{name}>", quote(encode(value), safe=""))
        encoded = "&".join(f"{quote(encode(k), safe='')}={quote(encode(v), safe='')}"
                           for k, v in pairs)
        READ.clear()
        started = time.perf_counter()
        try:
            if target.method == "GET":
                response = self.client.get(f"{path}?{encoded}" if encoded else path)
            elif target.multipart:
                response = self.client.post(path, data=_multipart(pairs), content_type=(
                    f"multipart/form-data; boundary={BOUNDARY}"))
            else:
                response = self.client.post(path, data=encoded.encode("ascii"),
                                            content_type="application/x-www-form-urlencoded")
        finally:
            self.stats.seconds += time.perf_counter() - started
            self.stats.requests += 1
        return response

    def _record_rule(self, sender, **extra):
        if request.url_rule is not None:
            self.stats.rules.add(request.url_rule.rule)

    # -- checking --

    def _counts(self):
        with self.app.app_context():
            query = sa.select(*(sa.select(sa.func.count()).select_from(t).scalar_subquery()
                                for t in self._tables))
            with db.engine.connect() as conn:
                return conn.execute(query).one()

    def fail(self, what, target, param, value, status):
        """Keep the first three of each kind of failure on each route (the report stays short)."""
        kind = (target.method, target.path, what.split(":")[0])
        self.stats.kinds[kind] = self.stats.kinds.get(kind, 0) + 1
        if self.stats.kinds[kind] <= 3:
            self.stats.failures.append(Failure(
                self.role, what, target.method, target.path, param,
                encode(value).decode("utf-8", "replace"), status))

    def attempt(self, target: Target, param: str, value, pairs: list, path_args=None):
        """Send one variation and check every invariant on the answer."""
        before = self._counts() if target.method == "POST" else None
        try:
            response = self.send(target, pairs, path_args)
        except Exception as error:  # noqa: BLE001 — TESTING propagates the view's exception
            first_line = str(error).splitlines()[0][:200] if str(error) else ""
            self.fail(f"exception {type(error).__name__}: {first_line}", target, param, value,
                      500)
            return None
        status = response.status_code
        if status >= 500:
            self.fail("server error", target, param, value, status)
        body = response.get_data()
        text = body.decode("utf-8", "replace")
        sent = encode(value).decode("utf-8", "replace")
        html = response.mimetype == "text/html"
        if response.mimetype.startswith("text/") or response.is_json:
            found = [m for m in TRACEBACK.findall(text) if m not in sent]
            if found:
                self.fail(f"exception text in the body: {found[:3]}", target, param, value,
                          status)
        if html and "<" in sent and len(sent) > 1 and sent in text:
            self.fail("input echoed unescaped", target, param, value, status)
        if status >= 400 and (html or response.is_json):
            self._check_japanese(visible_text(text) if html else text, sent, target, param,
                                 value, status, "error page")
        elif html:
            for _tag, block in ERROR_BLOCK.findall(text):
                self._check_japanese(visible_text(block), sent, target, param, value, status,
                                     "error message")
        refused = status != 302
        if status == 302:
            with self.client.session_transaction() as session:
                signed_out = "_user_id" not in session
                # Read once: a later answer is not blamed for this one's messages.
                for category, message in session.pop("_flashes", []):
                    if category in ("error", "danger"):
                        refused = True
                        self._check_japanese(str(message), sent, target, param, value, status,
                                             "flashed error")
            if signed_out and self.relogin is not None:
                self._csrf = None  # a hostile value ended the session (e.g. a changed password)
                self.relogin()
        if before is not None and refused:
            after = self._counts()
            if after != before:
                changed = [t.name for t, b, a in zip(self._tables, before, after, strict=True)
                           if b != a]
                self.fail(f"rows stored by a refused post: {changed}", target, param, value,
                          status)
        return response

    def _check_japanese(self, text, sent, target, param, value, status, what):
        if not JAPANESE.search(text):
            self.fail(f"{what} not in Japanese: {text.strip()[:120]!r}", target, param, value,
                      status)
            return
        words = {w for w in WORD.findall(text.replace(sent, " ")) if w not in ALLOWED}
        words = {w for w in words if not re.fullmatch(r"[RHST]\d*", w)}
        if words:
            self.fail(f"English in the {what}: {sorted(words)[:5]}", target, param, value, status)

    # -- discovering --

    def _endpoint(self, method, path):
        try:
            rule, _args = self._adapter.match(path, method, return_rule=True)
        except Exception:  # noqa: BLE001 — not a route of this app (404/405/redirect)
            return None
        return rule

    def _add(self, target: Target) -> Target:
        if not target.path.startswith(self.scope):
            return target
        return self.targets.setdefault(target.key(), target)

    def discover(self) -> None:
        """Pages and forms (breadth first from the home page), then every rule of the URL map,
        then what Flask-Admin declares; each target's parameters include the names read."""
        seen, queue = set(), ["/admin/"]
        while queue and len(seen) < self.pages:
            url = queue.pop(0)
            parts = urlsplit(url)
            pairs = parse_qsl(parts.query, keep_blank_values=True)
            shape = (parts.path, tuple(sorted({k for k, _ in pairs})))
            if shape in seen:
                continue
            seen.add(shape)
            rule = self._endpoint("GET", parts.path)
            if rule is None or rule.endpoint in SESSION_ENDING:
                continue
            target = self._add(Target("GET", parts.path, pairs, {k for k, _ in pairs},
                                      rule=rule.rule if rule.arguments else ""))
            response = self.attempt(target, "", "", pairs)
            target.params |= READ
            if response is None or response.status_code != 200 \
                    or response.mimetype != "text/html":
                continue
            page = _Page()
            page.feed(response.get_data(as_text=True))
            page.close()
            for href in page.links:
                link = urljoin(url, href)
                parts = urlsplit(link)
                if parts.scheme in ("", "http") and parts.netloc in ("", "localhost") \
                        and not parts.path.startswith(NEVER_FOLLOW) and "pdf" not in link:
                    queue.append(parts.path + ("?" + parts.query if parts.query else ""))
            for form in page.forms:
                self._add_form(url, form, queue)
        for rule in self.app.url_map.iter_rules():
            if rule.rule.startswith(NEVER_FOLLOW):
                continue
            for method in sorted(rule.methods & {"GET", "POST"}):
                path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"<\1>", rule.rule)
                target = Target(method, path, [], set(), rule=rule.rule,
                                path_args={name: "1" for name in rule.arguments})
                if "export_type" in rule.arguments:
                    target.path_args["export_type"] = "csv"
                self._add(target)
        for view in self._views.values():
            base = f"{view.url}/"
            for arg in (getattr(view, "_filter_args", None) or {}):
                self._add(Target("GET", base, [], set())).params.add(f"flt0_{arg}")
            for name in (getattr(view, "_form_ajax_refs", None) or {}):
                self._add(Target("GET", f"{base}ajax/lookup/",
                                 [("name", name), ("query", ""), ("offset", "0")],
                                 {"name", "query", "offset", "limit"}))
            if getattr(view, "_actions", None):
                for action_name, _label in view._actions:
                    self._add(Target("POST", f"{base}action/", [("action", action_name)],
                                     {"action", "rowid", "rowversion"}))
        self._probe()

    def _add_form(self, page_url, form: Form, queue) -> None:
        action = urljoin(page_url, form.action or page_url)
        parts = urlsplit(action)
        if parts.netloc not in ("", "localhost") or parts.path.startswith(NEVER_FOLLOW):
            return
        rule = self._endpoint(form.method if form.method in ("GET", "POST") else "GET",
                              parts.path)
        if rule is None:
            return
        if form.method != "POST":
            query = "&".join(f"{quote(k)}={quote(v)}" for k, v in form.fields)
            queue.append(f"{parts.path}?{query}")
            return
        path = parts.path + ("?" + parts.query if parts.query else "")
        self._add(Target("POST", path, list(form.fields), set(form.names),
                         multipart="multipart" in form.enctype))

    def _probe(self) -> None:
        """Send each target once as found, to learn the names it reads."""
        for target in list(self.targets.values()):
            if target.method == "POST" or not target.fields:
                response = self.attempt(target, "", "", self._base(target))
                target.params |= READ
                if response is not None and target.method == "POST" \
                        and response.status_code == 302:
                    self._refresh(target)

    # -- fuzzing --

    def _base(self, target: Target) -> list:
        pairs = list(target.fields)
        if target.method == "POST" and self._is_destructive(target):
            # Vary the other fields without deleting what later requests need.
            pairs = [(k, "0" if k in ("id", "rowid") else v) for k, v in pairs]
        if target.method == "POST" and not any(k == "csrf_token" for k, _ in pairs):
            pairs.append(("csrf_token", self.csrf()))
        return pairs

    def _is_destructive(self, target):
        return target.method == "POST" and self.endpoint_of(target).endswith(
            (".delete_view", ".action_view"))

    _csrf = None

    def csrf(self):
        if self._csrf is None:
            page = self.client.get("/admin/own_account/").get_data(as_text=True)
            match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
            self._csrf = match.group(1) if match else ""
        return self._csrf

    def _refresh(self, target: Target) -> None:
        """After a save went through, post from the form as now rendered (its new version)."""
        if any(name == "version_token" for name, _ in target.fields):
            page = self.client.get(target.path).get_data(as_text=True)
            match = re.search(r'name="version_token"[^>]*value="([^"]*)"', page)
            if match:
                target.fields = [(k, match.group(1) if k == "version_token" else v)
                                 for k, v in target.fields]

    def vary(self, target: Target, name: str, value):
        base = self._base(target)
        if name.startswith("<"):
            args = {**target.path_args, name[1:-1]: value}
            response = self.attempt(target, name, value, base, args)
        else:
            pairs = [(k, v) for k, v in base if k != name] + [(name, value)]
            response = self.attempt(target, name, value, pairs)
        if response is not None and target.method == "POST" and response.status_code == 302:
            self._refresh(target)

    def names(self, target: Target) -> list[str]:
        if self.endpoint_of(target) in SESSION_ENDING:
            return ["csrf_token"]
        return sorted(target.params - {""}) + [f"<{n}>" for n in sorted(target.path_args)]

    def endpoint_of(self, target: Target) -> str:
        path = urlsplit(target.path).path
        for name, value in target.path_args.items():
            path = path.replace(f"<{name}>", value)
        rule = self._endpoint(target.method, path)
        return rule.endpoint if rule is not None else ""

    def ordered_targets(self) -> list[Target]:
        """Destructive targets last, so that deleting a record (as its form allows) cannot hide
        other screens' records from later requests."""
        targets = sorted(self.targets.values(), key=lambda t: (t.method, t.path))
        return [t for t in targets if not self._is_destructive(t)] + \
            [t for t in targets if self._is_destructive(t)]

    def run_fixed(self) -> None:
        """Each parameter of each target gets ``per_param`` values of the fixed list, the values
        rotating from one parameter to the next so that the run covers the whole list."""
        position = 0
        for target in self.ordered_targets():
            for name in self.names(target):
                for step in range(self.per_param):
                    value = HOSTILE[(position * self.per_param + step) % len(HOSTILE)]
                    self.vary(target, name, value)
                position += 1

    def run_hypothesis(self, examples: int, seed: int) -> None:
        """Hypothesis draws the target, the parameter and the value from a fixed seed; failures
        are collected, not raised (a stateful app cannot be shrunk against)."""
        targets = [t for t in self.ordered_targets() if self.names(t)]

        @hypothesis.seed(seed)
        @settings(max_examples=examples, database=None, deadline=None,
                  suppress_health_check=list(HealthCheck), phases=[Phase.generate])
        @given(data=st.data())
        def one_request(data):
            target = data.draw(st.sampled_from(targets))
            name = data.draw(st.sampled_from(self.names(target)))
            self.vary(target, name, data.draw(VALUES))

        one_request()

    def run(self, examples: int, seed: int) -> Stats:
        request_started.connect(self._record_rule, self.app)
        try:
            self.discover()
            self.run_fixed()
            if examples:
                self.run_hypothesis(examples, seed)
        finally:
            request_started.disconnect(self._record_rule, self.app)
        return self.stats
