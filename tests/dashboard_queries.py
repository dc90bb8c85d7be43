"""The Grafana dashboard's queries (deploy/grafana/chartsnap.json) and the
metric names they name, checked against Prometheus expositions.

PromQL is read by a small tokenizer and a walk over its tokens, not by a
pattern that finds anything name-like: a character it does not know, an
unterminated string, an unbalanced bracket, a call of something that is not
a PromQL function or a misplaced keyword is an error, so a typo in a query
fails the test instead of passing it. Label names (in `{...}`, `by (...)`,
`on (...)`), function names, keywords, strings, numbers, durations and
Grafana's variables (`$__rate_interval`, `${datasource}`) are not metrics."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from prometheus_client.parser import text_string_to_metric_families

DASHBOARD = Path(__file__).resolve().parent.parent / "deploy" / "grafana" / "chartsnap.json"

FUNCTIONS = frozenset("""
    abs absent absent_over_time acos acosh asin asinh atan atanh avg_over_time ceil changes clamp clamp_max
    clamp_min cos cosh count_over_time day_of_month day_of_week day_of_year days_in_month deg delta deriv
    double_exponential_smoothing exp floor histogram_avg histogram_count histogram_fraction histogram_quantile
    histogram_stddev histogram_stdvar histogram_sum holt_winters hour idelta increase info irate label_join
    label_replace last_over_time ln log10 log2 mad_over_time max_over_time min_over_time minute month pi
    predict_linear present_over_time quantile_over_time rad rate resets round scalar sgn sin sinh sort
    sort_by_label sort_by_label_desc sort_desc sqrt stddev_over_time stdvar_over_time sum_over_time tan tanh
    time timestamp vector year
""".split())
AGGREGATIONS = frozenset("sum min max avg group stddev stdvar count count_values bottomk topk quantile "
                         "limitk limit_ratio".split())
BINARY_KEYWORDS = frozenset("and or unless atan2".split())
LABEL_LIST_KEYWORDS = frozenset("by without on ignoring".split())   # always followed by (labels)
GROUP_KEYWORDS = frozenset("group_left group_right".split())        # optionally followed by (labels)
AT_FUNCTIONS = frozenset("start end".split())                       # only after @
NUMBER_WORDS = frozenset("inf nan".split())
MATCH_OPERATORS = frozenset("= != =~ !~".split())
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")
# Which exposition types have each suffix's series.
SUFFIX_TYPES = {"_bucket": {"histogram", "gaugehistogram"}, "_sum": {"histogram", "summary"},
                "_count": {"histogram", "summary"}}
CLOSING = {"(": ")", "[": "]", "{": "}"}

TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<comment>\#[^\n]*)
  | (?P<string>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|`[^`]*`)
  | (?P<variable>\$\{[A-Za-z_][A-Za-z0-9_]*(?::[A-Za-z_]+)?\}|\$[A-Za-z_][A-Za-z0-9_]*)
  | (?P<duration>(?:[0-9]+(?:ms|[smhdwy]))+(?![A-Za-z0-9_]))
  | (?P<number>0[xX][0-9a-fA-F]+|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?(?![A-Za-z_]))
  | (?P<identifier>[A-Za-z_][A-Za-z0-9_:]*)
  | (?P<operator>==|!=|<=|>=|=~|!~|[-+*/%^<>=])
  | (?P<punctuation>[(){}\[\],@:])
""", re.VERBOSE)


class PromQLError(ValueError):
    """The expression is not PromQL this reader understands."""


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    at: int


@dataclass(frozen=True)
class MetricRef:
    """A series name an expression selects, and the metric it belongs to:
    `x_bucket` → metric `x`, suffix `_bucket` (a histogram's series)."""

    series: str

    @property
    def suffix(self) -> str:
        return next((s for s in HISTOGRAM_SUFFIXES if self.series.endswith(s) and len(self.series) > len(s)), "")

    @property
    def metric(self) -> str:
        return self.series[: len(self.series) - len(self.suffix)]


def tokens(expr: str) -> list[Token]:
    """The tokens of `expr`, without spaces and comments."""
    found, at = [], 0
    while at < len(expr):
        match = TOKEN.match(expr, at)
        if match is None:
            raise PromQLError(f"unexpected {expr[at]!r} at {at} in {expr!r}")
        kind = match.lastgroup or ""
        if kind not in ("space", "comment"):
            found.append(Token(kind, match.group(), at))
        at = match.end()
    return found


def metric_refs(expr: str) -> list[MetricRef]:
    """Every series name `expr` selects, in order (repeats kept)."""
    return list(_Walk(expr).refs())


def metric_names(expr: str) -> set[str]:
    """The metrics `expr` names: histogram series (`_bucket`, `_sum`, `_count`) by their metric."""
    return {ref.metric for ref in metric_refs(expr)}


class _Walk:
    def __init__(self, expr: str) -> None:
        self.expr = expr
        self.toks = tokens(expr)
        self.i = 0

    def peek(self, ahead: int = 0) -> Token | None:
        j = self.i + ahead
        return self.toks[j] if j < len(self.toks) else None

    def take(self) -> Token:
        tok = self.peek()
        if tok is None:
            raise PromQLError(f"{self.expr!r} ends too soon")
        self.i += 1
        return tok

    def expect(self, text: str) -> Token:
        tok = self.take()
        if tok.text != text:
            raise PromQLError(f"expected {text!r} at {tok.at}, found {tok.text!r} in {self.expr!r}")
        return tok

    def fail(self, tok: Token, words: str) -> PromQLError:
        return PromQLError(f"{words}: {tok.text!r} at {tok.at} in {self.expr!r}")

    def refs(self) -> Iterator[MetricRef]:
        if not self.toks:
            raise PromQLError("empty expression")
        parens: list[Token] = []
        operand = False      # the last token ended an operand: an operator or modifier must come next
        selector = False     # ... and it was a metric name (so `{...}` may follow)
        while self.peek() is not None:
            tok = self.take()
            starts_operand = tok.kind in ("number", "string", "variable") or tok.text == "(" or (
                tok.kind == "identifier" and self.is_operand_word(tok.text))
            if starts_operand and operand:
                raise self.fail(tok, "missing operator before")
            if tok.kind == "identifier":
                refs = list(self.identifier(tok, self.peek()))
                yield from refs
                if tok.text not in ("by", "without", "offset"):   # these keep what came before
                    operand = bool(refs) or tok.text.lower() in NUMBER_WORDS
                selector = bool(refs)
                continue
            if tok.text == "{":
                if operand and not selector:
                    raise self.fail(tok, "label matchers must follow a metric name or stand alone")
                yield from self.matchers(tok)
                operand = True
            elif tok.text == "[":
                if not operand:
                    raise self.fail(tok, "a range must follow a selector or a subquery's expression")
                self.range(tok)
            elif tok.text == "@":
                if not operand:
                    raise self.fail(tok, "@ must follow a selector")
                self.at_modifier()
            elif tok.text == "(":
                parens.append(tok)
                operand = False
            elif tok.text == ")":
                if not parens:
                    raise self.fail(tok, "unbalanced ')'")
                parens.pop()
                operand = True
            elif tok.kind in ("number", "string", "variable"):
                operand = True
            elif tok.kind == "operator" or tok.text == ",":
                operand = False
            else:            # a stray '}', ']' or ':'
                raise self.fail(tok, "unexpected")
            selector = False
        if parens:
            raise self.fail(parens[-1], "unclosed '('")
        if not operand:
            raise PromQLError(f"{self.expr!r} ends without an operand")

    @staticmethod
    def is_operand_word(word: str) -> bool:
        """A word that begins an operand: a metric, a number word, a function or an aggregation."""
        return word not in BINARY_KEYWORDS | LABEL_LIST_KEYWORDS | GROUP_KEYWORDS | {"bool", "offset"}

    def identifier(self, tok: Token, nxt: Token | None) -> Iterator[MetricRef]:
        word = tok.text
        calls = nxt is not None and nxt.text == "("
        if word.lower() in NUMBER_WORDS or word in BINARY_KEYWORDS or word == "bool":
            return
        if word in LABEL_LIST_KEYWORDS:
            if not calls:
                raise self.fail(tok, f"{word} needs a label list")
            self.labels()
            return
        if word in GROUP_KEYWORDS:
            if calls:
                self.labels()
            return
        if word == "offset":
            if self.peek() is not None and self.peek().text == "-":
                self.take()
            if self.take().kind not in ("duration", "variable"):
                raise self.fail(tok, "offset needs a duration")
            return
        if word in AGGREGATIONS:
            if not calls and not (nxt is not None and nxt.text in ("by", "without")):
                raise self.fail(tok, "aggregation without its argument")
            return
        if word in FUNCTIONS:
            if not calls:
                raise self.fail(tok, "function without its arguments")
            return
        if calls:
            raise self.fail(tok, "not a PromQL function")
        if word in AT_FUNCTIONS:
            raise self.fail(tok, "start and end belong after @")
        yield MetricRef(word)

    def labels(self) -> None:
        """`(label, label, ...)` after by/without/on/ignoring/group_*."""
        self.expect("(")
        while True:
            tok = self.take()
            if tok.text == ")":
                return
            if tok.kind not in ("identifier", "string"):
                raise self.fail(tok, "not a label name")
            after = self.take()
            if after.text == ")":
                return
            if after.text != ",":
                raise self.fail(after, "expected ',' or ')' in a label list")

    def matchers(self, opening: Token) -> Iterator[MetricRef]:
        """`{label op "value", ...}`; a `__name__="x"` matcher names metric x."""
        while True:
            tok = self.take()
            if tok.text == "}":
                return
            if tok.kind == "string" and self.peek() is not None and self.peek().text in (",", "}"):
                yield MetricRef(_unquote(tok.text))       # Prometheus 3: {"metric.name"}
            else:
                if tok.kind not in ("identifier", "string"):
                    raise self.fail(tok, "not a label name")
                op = self.take()
                if op.text not in MATCH_OPERATORS:
                    raise self.fail(op, "not a label matcher")
                value = self.take()
                if value.kind != "string":
                    raise self.fail(value, "a label matcher needs a quoted value")
                if _unquote(tok.text) == "__name__" and op.text == "=":
                    yield MetricRef(_unquote(value.text))
            after = self.take()
            if after.text == "}":
                return
            if after.text != ",":
                raise self.fail(after, f"expected ',' or '}}' in the matchers opened at {opening.at}")

    def range(self, opening: Token) -> None:
        """`[5m]`, `[$__rate_interval]`, a subquery's `[30m:1m]` or `[30m:]`."""
        first = self.take()
        if first.kind not in ("duration", "variable", "number"):
            raise self.fail(first, "a range needs a duration")
        tok = self.take()
        if tok.text == ":":
            tok = self.take()
            if tok.kind in ("duration", "variable", "number"):
                tok = self.take()
        if tok.text != "]":
            raise self.fail(tok, f"expected ']' closing the range at {opening.at}")

    def at_modifier(self) -> None:
        tok = self.take()
        if tok.kind == "number" or tok.kind == "variable":
            return
        if tok.text in AT_FUNCTIONS:
            self.expect("(")
            self.expect(")")
            return
        raise self.fail(tok, "@ needs a timestamp, start() or end()")


def _unquote(text: str) -> str:
    return text[1:-1] if text[:1] in "\"'`" else text


# --- the dashboard ------------------------------------------------------------

def load_dashboard(path: Path = DASHBOARD) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def panels(dashboard: dict) -> Iterator[dict]:
    """Every panel, those inside collapsed rows too (rows themselves excluded)."""
    for panel in dashboard.get("panels", []):
        if panel.get("type") == "row":
            yield from panel.get("panels", [])
        else:
            yield panel


def queries(dashboard: dict) -> Iterator[tuple[str, str]]:
    """(panel title, PromQL expr) of every query of every panel."""
    for panel in panels(dashboard):
        for target in panel.get("targets", []):
            yield panel.get("title", ""), target.get("expr", "")


# --- expositions ----------------------------------------------------------------

def exported_metrics(exposition: str) -> dict[str, str]:
    """{metric name: type} of a /metrics text, named as PromQL selects them:
    a histogram or summary by its base name (its series add the suffixes), a
    counter with `_total`, anything else as written."""
    found = {}
    for family in text_string_to_metric_families(exposition):
        if family.type == "counter":
            for name in {s.name for s in family.samples if not s.name.endswith("_created")}:
                found[name] = "counter"
        else:
            found[family.name] = family.type
    return found


def is_exported(ref: MetricRef, exported: dict[str, str]) -> bool:
    """Whether `ref` selects series of `exported`: a suffixed name needs a
    histogram (or summary) of its metric, unless a gauge or counter carries
    that very name; a bare name must not be a histogram's (a histogram has no
    series without a suffix; a summary's bare name is its quantiles)."""
    if ref.suffix and exported.get(ref.metric) in SUFFIX_TYPES[ref.suffix]:
        return True
    kind = exported.get(ref.series)
    return kind is not None and kind not in ("histogram", "gaugehistogram")


def unexported(expr: str, exported: dict[str, str]) -> list[str]:
    """The series names of `expr` that `exported` has not (raises PromQLError when unreadable)."""
    return [ref.series for ref in metric_refs(expr) if not is_exported(ref, exported)]
