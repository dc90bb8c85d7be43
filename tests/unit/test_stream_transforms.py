"""snapshot_svc.stream_transforms: Librato's transform_function grammar, parsed
by hand and evaluated over numpy arrays; every refusal says what and where."""

from __future__ import annotations

import ast
import builtins
import math
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from snapshot_svc import stream_transforms
from snapshot_svc.stream_transforms import MAX_DEPTH, MAX_LENGTH, MAX_TOKENS, TransformError, parse

X = np.array([-2.0, 0.0, 1.0, 50.0, 212.0])


def _at(text: str, p: float = 60.0) -> list[float]:
    return list(parse(text)(X, p))


# -- what Librato's documentation gives as examples ---------------------------------------------------------

def test_fahrenheit_to_celsius():
    assert _at("(x-32)/1.8") == pytest.approx([(v - 32) / 1.8 for v in X])


def test_rate_per_second_and_per_minute_from_the_period():
    assert _at("x/p", 60) == pytest.approx(list(X / 60))
    assert _at("(x/p)*60", 30) == pytest.approx(list(X / 30 * 60))


def test_octets_to_megabits_per_second():
    assert _at("(x*8)/1000/1000/p", 10) == pytest.approx(list(X * 8 / 1000 / 1000 / 10))


# -- every operator, variable and literal --------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("x+1", X + 1), ("x-1", X - 1), ("x*3", X * 3), ("x/4", X / 4),
    ("x", X), ("p", np.full(X.shape, 60.0)), ("7", np.full(X.shape, 7.0)),
    ("0.5*x", X * 0.5), ("5.*x", X * 5), (".25*x", X * 0.25), ("007", np.full(X.shape, 7.0)),
    ("-x", -X), ("+x", X), ("--x", X), ("2*-x", -2 * X), ("-(x+1)", -(X + 1)), ("x--1", X + 1),
    ("x - -p", X + 60), ("x/p*p", X),
])
def test_operators_variables_and_numbers(text, expected):
    assert _at(text) == pytest.approx(list(expected))


@pytest.mark.parametrize("text, expected", [
    ("2+3*4", 14), ("2*3+4", 10), ("(2+3)*4", 20), ("2*(3+4)", 14),
    ("1-2-3", -4), ("8/4/2", 1), ("8/(4/2)", 4), ("1-(2-3)", 2),
    ("-2*3", -6), ("-(2*3)", -6), ("2--3*2", 8), ("10/-2/5", -1),
    ("((((1))))+(((2)))", 3), ("1+2*3-4/2", 5),
])
def test_precedence_and_associativity(text, expected):
    assert parse(text)(np.array([0.0]), 1.0)[0] == pytest.approx(expected)


@pytest.mark.parametrize("text", [" x / 2 ", "x\t*\t2", "\n(x)\n/2"])
def test_whitespace_between_tokens(text):
    assert parse(text)(np.array([4.0]), 1.0)[0] in (2.0, 8.0)


def test_constant_formula_gives_one_value_per_point():
    assert parse("3")(X, 1.0).shape == X.shape


def test_uses_period():
    assert parse("x/p").uses_period and parse("(p)").uses_period
    assert not parse("x/60").uses_period


# -- gaps, never exceptions ------------------------------------------------------------------------------------

def test_division_by_zero_is_a_gap():
    times = [10.0, 20.0, 30.0]
    assert parse("1/x").apply(times, [2.0, 0.0, 4.0], 60) == ([10.0, 30.0], [0.5, 0.25])
    assert parse("x/(p-60)").apply(times, [1.0, 2.0, 3.0], 60) == ([], [])
    assert parse("0/0").apply(times, [1.0, 2.0, 3.0], 60) == ([], [])


def test_overflow_is_a_gap_and_huge_literals_are_numbers():
    huge = "9" * 200
    assert parse(f"x*{huge[:100]}").apply([1.0, 2.0], [1e300, 0.0], 1) == ([2.0], [0.0])
    assert parse(huge)(np.array([1.0]), 1)[0] == float(huge)


def test_empty_series():
    assert parse("x*2").apply([], [], 60) == ([], [])


def test_no_warning_escapes_numpy(recwarn):
    parse("x/0 - x/0")(X, 0.0)
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


# -- refusals, with positions ----------------------------------------------------------------------------------

@pytest.mark.parametrize("text, position, words", [
    ("x*", 3, "ends too soon after '*'"),
    ("(x", 3, "'(' at position 1 is never closed"),
    ("x)", 2, "unmatched ')' at position 2"),
    ("()", 2, "unexpected ')' at position 2"),
    ("x x", 3, "expected an operator (+ - * /) before 'x' at position 3"),
    ("2x", 2, "expected an operator"),
    ("(x)(x)", 4, "expected an operator"),
    ("x**2", 3, "unexpected '*' at position 3"),
    ("x^2", 2, "'^' at position 2 is not allowed"),
    ("x%2", 2, "'%' at position 2 is not allowed"),
    ("1,000*x", 2, "',' at position 2 is not allowed"),
    ("1.2.3", 4, "a second '.'"),
    ("x*.", 3, "a lone '.' at position 3"),
    ("abs(x)", 1, "unknown name 'abs' at position 1"),
    ("min(x, 1)", 1, "unknown name 'min'"),
    ("derive(x)", 1, "unknown name 'derive'"),
    ("import os", 1, "unknown name 'import'"),
    ("x + __import__('os')", 5, "unknown name '__import__' at position 5"),
    ("x.__class__", 2, "a lone '.'"),
    ("__class__", 1, "unknown name '__class__'"),
    ("X*2", 1, "unknown name 'X'"),
    ("xp", 1, "unknown name 'xp'"),
    ("1e3*x", 2, "unknown name 'e3' at position 2"),
    ("inf", 1, "unknown name 'inf'"),
    ("nan", 1, "unknown name 'nan'"),
    ("x;x", 2, "';' at position 2 is not allowed"),
    ("x\x00", 2, "'\\x00' at position 2 is not allowed"),
    ("é", 1, "unknown name 'é'"),
    ("x=1", 2, "'=' at position 2 is not allowed"),
    ("lambda: x", 1, "unknown name 'lambda'"),
    ("[x]", 1, "'[' at position 1 is not allowed"),
    ("'x'", 1, "\"'\" at position 1 is not allowed"),
])
def test_refusals_say_what_and_where(text, position, words):
    with pytest.raises(TransformError) as caught:
        parse(text)
    assert words in str(caught.value)
    assert caught.value.position == position


@pytest.mark.parametrize("text", ["", "   ", "\t\n"])
def test_empty_formula(text):
    with pytest.raises(TransformError, match="is empty"):
        parse(text)


def test_not_text():
    with pytest.raises(TransformError, match="must be text"):
        parse(42)  # type: ignore[arg-type]


def test_unknown_names_are_quoted_short():
    with pytest.raises(TransformError) as caught:
        parse("a" * 200)
    assert len(str(caught.value)) < 150


# -- bounds ----------------------------------------------------------------------------------------------------

def test_length_bound():
    parse("x" + " " * (MAX_LENGTH - 1))
    with pytest.raises(TransformError, match=f"at most {MAX_LENGTH} characters"):
        parse("x" + " " * MAX_LENGTH)


def test_token_bound():
    within = "+".join(["1"] * ((MAX_TOKENS + 1) // 2))
    assert len(stream_transforms.tokens(within)) <= MAX_TOKENS
    parse(within)
    over = "+".join(["1"] * (MAX_TOKENS // 2 + 1))
    with pytest.raises(TransformError, match=f"at most {MAX_TOKENS} numbers"):
        parse(over)


def test_nesting_bound_on_parentheses_and_signs():
    parse("(" * MAX_DEPTH + "x" + ")" * MAX_DEPTH)
    parse("-" * MAX_DEPTH + "x")
    with pytest.raises(TransformError, match="nested too deeply") as caught:
        parse("(" * (MAX_DEPTH + 1) + "x" + ")" * (MAX_DEPTH + 1))
    assert caught.value.position == MAX_DEPTH + 1
    with pytest.raises(TransformError, match="nested too deeply"):
        parse("-" * (MAX_DEPTH + 1) + "x")
    with pytest.raises(TransformError, match="nested too deeply"):
        parse("-(" * 20 + "x" + ")" * 20)


def test_hostile_inputs_are_refused_fast():
    hostile = ["(" * 127 + "x" + ")" * 127, "-" * 254 + "x", "1" * 255, "x" + "*x" * 127, "(" * 255, ")" * 255]
    started = time.perf_counter()
    for text in hostile:
        try:
            parse(text[:MAX_LENGTH])(X, 1.0)
        except TransformError:
            pass
    assert time.perf_counter() - started < 0.5


# -- no evaluator of text is ever used ---------------------------------------------------------------------------

def test_the_module_names_no_evaluator():
    with open(stream_transforms.__file__, encoding="utf-8") as f:
        tree = ast.parse(f.read())
    called = {node.func.id for node in ast.walk(tree) if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)}
    attributes = {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))
                for alias in node.names}
    assert not called & {"eval", "exec", "compile", "__import__", "getattr", "literal_eval"}
    assert not attributes & {"eval", "literal_eval", "numexpr", "evaluate"}
    assert not imported & {"ast", "numexpr", "builtins"}


def test_parsing_calls_no_evaluator(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("an evaluator was called")

    for name in ("eval", "exec", "compile"):
        monkeypatch.setattr(builtins, name, refuse)
    assert parse("(x-32)/1.8")(np.array([212.0]), 1.0)[0] == pytest.approx(100.0)


def test_evaluation_is_finite_or_left_out():
    times = [float(i) for i in range(len(X))]
    kept_times, kept = parse("x/(x-1)").apply(times, list(X), 1.0)
    assert kept_times == [0.0, 1.0, 3.0, 4.0]  # x = 1 (time 2): division by zero, a gap
    assert all(math.isfinite(v) for v in kept)
    assert kept == pytest.approx([-2 / -3, 0.0, 50 / 49, 212 / 211])


# -- any text at all: a transform or a TransformError, nothing else -------------------------------------------

GRAMMAR_ALPHABET = "0123456789.xp+-*/() \t"


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(max_size=300), st.text(alphabet=GRAMMAR_ALPHABET, max_size=300)))
def test_any_text_parses_or_is_refused_with_a_transform_error(text):
    try:
        transform = parse(text)
    except TransformError as exc:
        assert str(exc) and 0 <= exc.position <= len(text) + 1
        return
    out = transform(X, 60.0)
    assert out.shape == X.shape and out.dtype == float
    times, values = transform.apply(list(range(len(X))), list(X), 60.0)
    assert len(times) == len(values) and all(np.isfinite(values))
