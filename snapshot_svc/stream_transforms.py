"""A stream's `transform_function`: Librato's display transform, parsed into
an expression tree and evaluated over numpy arrays. No text the client sent
is ever handed to eval, exec, compile or any other evaluator.

Librato's API documents the formula as "a linear formula run on each
measurement prior to visualization" that "may only contain numeric
characters, whitespace, parentheses, the letter x, and approved mathematical
operators ('+', '-', '*', '/')", x being the measurement's value and p "the
number of seconds in the period the measurement covers" (its knowledge base:
"Permitted variables are x (data point) and p (period)"). It documents no
functions, so there are none here. The grammar, loosest binding first:

    expression := term (("+" | "-") term)*
    term       := signed (("*" | "/") signed)*
    signed     := ("-" | "+") signed | primary
    primary    := number | "x" | "p" | "(" expression ")"
    number     := digits ["." [digits]] | "." digits

Whitespace may separate tokens. A point the formula cannot give a finite
value for (x/0, an overflow) is left out of the series: a gap, never an
error. Every bound is checked when the text is parsed, so evaluating a parsed
transform cannot fail."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Union

import numpy as np

MAX_LENGTH = 255          # characters, as every stream attribute
MAX_TOKENS = 100          # numbers, names, operators and parentheses
MAX_DEPTH = 16            # nested parentheses and signs
VARIABLES = {"x": "the value", "p": "the period in seconds"}
OPERATORS = "+-*/"
ALLOWED = "numbers, x (the value), p (the period in seconds), + - * / and parentheses"


class TransformError(ValueError):
    """Why a transform_function is not one; `position` is 1-based (0: the whole text)."""

    def __init__(self, message: str, position: int = 0) -> None:
        super().__init__(message)
        self.position = position


@dataclass(frozen=True)
class Token:
    kind: str       # "number", "name", "op", "(", ")"
    text: str
    position: int   # 1-based column of its first character


@dataclass(frozen=True)
class Number:
    value: float


@dataclass(frozen=True)
class Variable:
    name: str       # "x" or "p"


@dataclass(frozen=True)
class Negate:
    operand: "Node"


@dataclass(frozen=True)
class Binary:
    operator: str   # one of OPERATORS
    left: "Node"
    right: "Node"


Node = Union[Number, Variable, Negate, Binary]


def tokens(text: str) -> list[Token]:
    """The tokens of `text`, or a TransformError naming the first character
    that belongs to none."""
    out: list[Token] = []
    i = 0
    while i < len(text):
        ch = text[i]
        start = i
        if ch.isspace():
            i += 1
            continue
        if ch in "0123456789.":
            while i < len(text) and text[i] in "0123456789":
                i += 1
            if i < len(text) and text[i] == ".":
                i += 1
                while i < len(text) and text[i] in "0123456789":
                    i += 1
            literal = text[start:i]
            if literal == ".":
                raise TransformError(f"a lone '.' at position {start + 1}: a number needs a digit", start + 1)
            if i < len(text) and text[i] == ".":
                raise TransformError(f"a second '.' in the number at position {start + 1}", i + 1)
            out.append(Token("number", literal, start + 1))
        elif ch.isalpha() or ch == "_":
            while i < len(text) and (text[i].isalnum() or text[i] == "_"):
                i += 1
            word = text[start:i]
            if word not in VARIABLES:
                raise TransformError(
                    f"unknown name {_quoted(word)} at position {start + 1}: only x (the value) and p "
                    f"(the period in seconds) may be used", start + 1)
            out.append(Token("name", word, start + 1))
        elif ch in OPERATORS:
            i += 1
            out.append(Token("op", ch, start + 1))
        elif ch in "()":
            i += 1
            out.append(Token(ch, ch, start + 1))
        else:
            raise TransformError(f"{_quoted(ch)} at position {start + 1} is not allowed: use {ALLOWED}", start + 1)
        if len(out) > MAX_TOKENS:
            raise TransformError(f"too long: at most {MAX_TOKENS} numbers, names, operators and parentheses",
                                 start + 1)
    return out


def _quoted(text: str) -> str:
    """A piece of the client's text, safe to quote in an error (shortened, escapes visible)."""
    return repr(text[:20] + ("…" if len(text) > 20 else ""))


class _Parser:
    """Recursive descent over the tokens, one method per grammar rule."""

    def __init__(self, text: str, toks: list[Token]) -> None:
        self.text = text
        self.toks = toks
        self.at = 0
        self.depth = 0

    def peek(self) -> Token | None:
        return self.toks[self.at] if self.at < len(self.toks) else None

    def take(self) -> Token:
        token = self.toks[self.at]
        self.at += 1
        return token

    def end_position(self) -> int:
        return len(self.text.rstrip()) + 1

    def expression(self) -> Node:
        node = self.term()
        while (token := self.peek()) is not None and token.kind == "op" and token.text in "+-":
            self.take()
            node = Binary(token.text, node, self.term())
        return node

    def term(self) -> Node:
        node = self.signed()
        while (token := self.peek()) is not None and token.kind == "op" and token.text in "*/":
            self.take()
            node = Binary(token.text, node, self.signed())
        return node

    def signed(self) -> Node:
        token = self.peek()
        if token is not None and token.kind == "op" and token.text in "+-":
            self.take()
            with self.nested(token):
                operand = self.signed()
            return Negate(operand) if token.text == "-" else operand
        return self.primary()

    def primary(self) -> Node:
        token = self.peek()
        if token is None:
            after = f" after {_quoted(self.toks[-1].text)}" if self.toks else ""
            raise TransformError(f"ends too soon{after}: expected a number, x, p or '('", self.end_position())
        if token.kind == "number":
            self.take()
            value = float(token.text)
            if not math.isfinite(value):
                raise TransformError(f"the number at position {token.position} is too large", token.position)
            return Number(value)
        if token.kind == "name":
            self.take()
            return Variable(token.text)
        if token.kind == "(":
            self.take()
            with self.nested(token):
                node = self.expression()
            closing = self.peek()
            if closing is None or closing.kind != ")":
                raise TransformError(f"the '(' at position {token.position} is never closed",
                                     closing.position if closing else self.end_position())
            self.take()
            return node
        if token.kind == ")":
            raise TransformError(f"unexpected ')' at position {token.position}: expected a number, x, p or '('",
                                 token.position)
        raise TransformError(f"unexpected {_quoted(token.text)} at position {token.position}: "
                             f"expected a number, x, p or '('", token.position)

    def nested(self, token: Token) -> "_Depth":
        return _Depth(self, token)


class _Depth:
    """One more level of parentheses or signs, refused past MAX_DEPTH (a
    bound on the parser's recursion, whatever the text)."""

    def __init__(self, parser: _Parser, token: Token) -> None:
        self.parser, self.token = parser, token

    def __enter__(self) -> None:
        self.parser.depth += 1
        if self.parser.depth > MAX_DEPTH:
            raise TransformError(f"nested too deeply at position {self.token.position}: at most {MAX_DEPTH} "
                                 f"levels of parentheses and signs", self.token.position)

    def __exit__(self, *exc: object) -> None:
        self.parser.depth -= 1


@dataclass(frozen=True)
class Transform:
    """A parsed transform_function, ready to apply to a series."""

    text: str
    tree: Node

    @property
    def uses_period(self) -> bool:
        return _mentions(self.tree, "p")

    def __call__(self, x: np.ndarray, p: float) -> np.ndarray:
        """The formula at every value of `x`, p the seconds each value covers;
        NaN or ±inf where it has no finite value (the caller drops those)."""
        with np.errstate(all="ignore"):
            result = _evaluate(self.tree, np.asarray(x, dtype=float), float(p))
            return np.broadcast_to(np.asarray(result, dtype=float), np.shape(x)).copy()

    def apply(self, times: list[float], values: list[float], p: float) -> tuple[list[float], list[float]]:
        """(times, values) with the formula applied and points without a finite result left out."""
        if not values:
            return [], []
        out = self(np.asarray(values, dtype=float), p)
        keep = np.isfinite(out)
        return [t for t, k in zip(times, keep) if k], [float(v) for v in out[keep]]


def _mentions(node: Node, name: str) -> bool:
    if isinstance(node, Variable):
        return node.name == name
    if isinstance(node, Negate):
        return _mentions(node.operand, name)
    if isinstance(node, Binary):
        return _mentions(node.left, name) or _mentions(node.right, name)
    return False


def _evaluate(node: Node, x: np.ndarray, p: float) -> np.ndarray | float:
    if isinstance(node, Number):
        return node.value
    if isinstance(node, Variable):
        return x if node.name == "x" else p
    if isinstance(node, Negate):
        return -_evaluate(node.operand, x, p)
    left = np.asarray(_evaluate(node.left, x, p), dtype=float)
    right = np.asarray(_evaluate(node.right, x, p), dtype=float)
    if node.operator == "+":
        return left + right
    if node.operator == "-":
        return left - right
    if node.operator == "*":
        return left * right
    return np.divide(left, right)


def parse(text: str) -> Transform:
    """The transform `text` spells, or a TransformError saying what is wrong and where."""
    if not isinstance(text, str):
        raise TransformError("must be text: a formula in x, such as x/1000")
    if len(text) > MAX_LENGTH:
        raise TransformError(f"must be at most {MAX_LENGTH} characters")
    if not text.strip():
        raise TransformError("is empty: write a formula in x, such as x/1000")
    parser = _Parser(text, tokens(text))
    tree = parser.expression()
    extra = parser.peek()
    if extra is not None:
        if extra.kind == ")":
            raise TransformError(f"unmatched ')' at position {extra.position}", extra.position)
        raise TransformError(f"expected an operator (+ - * /) before {_quoted(extra.text)} at position "
                             f"{extra.position}", extra.position)
    return Transform(text, tree)
