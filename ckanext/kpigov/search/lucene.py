"""A parser for the subset of Solr/Lucene query syntax that CKAN sends.

Pure Python, no CKAN import. ``parse(text)`` returns a small AST made of the
node classes below; ``QuerySyntaxError`` carries a message a user can act on.

Supported: ``*:*``, bare terms, ``"quoted phrases"``, ``field:value``,
``field:"quoted"``, ``field:(a OR b)``, ``field:[a TO b]`` / ``{a TO b}``,
``field:*``, ``prefix*``, ``+``/``-``/``!`` prefixes, ``AND``/``OR``/``NOT``
(and ``&&``/``||``), parentheses, ``\\`` escapes and ``^N`` boosts (ignored).
Rejected with a clear message: local params ``{!...}``, ``_query_``/``_val_``,
fuzzy/proximity ``~``, regular expressions ``/.../``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional, Union

__all__ = [
    "QuerySyntaxError", "All", "Term", "Range", "And", "Or", "Not", "Node",
    "parse", "parse_user_query", "free_text_terms",
]

MAX_QUERY_LENGTH = 10000
MAX_DEPTH = 32


class QuerySyntaxError(ValueError):
    """The query cannot be parsed; the message says where and why."""


@dataclass(frozen=True)
class All:
    """Matches every document (``*:*``)."""


@dataclass(frozen=True)
class Term:
    field: Optional[str]  # None = the default field (free text)
    value: str
    kind: str = "word"  # word | phrase | prefix | exists


@dataclass(frozen=True)
class Range:
    field: str
    low: Optional[str]  # None = unbounded
    high: Optional[str]
    include_low: bool = True
    include_high: bool = True


@dataclass(frozen=True)
class And:
    children: tuple["Node", ...]


@dataclass(frozen=True)
class Or:
    children: tuple["Node", ...]


@dataclass(frozen=True)
class Not:
    child: "Node"


Node = Union[All, Term, Range, And, Or, Not]

_FIELD_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")
_BOOST_RE = re.compile(r"\^\d+(\.\d+)?")
_SPECIAL = set('()"[]{}:^~\\')


@dataclass
class _Tok:
    kind: str  # LPAREN RPAREN PLUS MINUS NOT AND OR FIELD PHRASE RANGE WORD
    value: str = ""
    pos: int = 0
    extra: tuple = ()


def _tokenize(text: str) -> list[_Tok]:
    toks: list[_Tok] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
            continue
        if c == "(":
            toks.append(_Tok("LPAREN", c, i))
            i += 1
            continue
        if c == ")":
            toks.append(_Tok("RPAREN", c, i))
            i += 1
            continue
        if c == "{" and text.startswith("{!", i):
            raise QuerySyntaxError(
                "Local parameters ({!...}) are not supported")
        if c in "[{":
            close = text.find("]" if c == "[" else "}", i)
            close_other = text.find("}" if c == "[" else "]", i)
            ends = [e for e in (close, close_other) if e != -1]
            if not ends:
                raise QuerySyntaxError(
                    "Unclosed range starting at position %d" % i)
            end = min(ends)
            body = text[i + 1:end].strip()
            parts = re.split(r"\s+TO\s+", body)
            if len(parts) != 2:
                raise QuerySyntaxError(
                    "A range must look like [low TO high] (position %d)" % i)
            low, high = (p.strip().strip('"') for p in parts)
            toks.append(_Tok("RANGE", body, i, (
                None if low == "*" else low, None if high == "*" else high,
                c == "[", text[end] == "]")))
            i = end + 1
            continue
        if c == '"':
            j = i + 1
            buf = []
            while j < n and text[j] != '"':
                if text[j] == "\\" and j + 1 < n:
                    j += 1
                buf.append(text[j])
                j += 1
            if j >= n:
                raise QuerySyntaxError(
                    "Unclosed quote starting at position %d" % i)
            i = j + 1
            m = _BOOST_RE.match(text, i)
            if m:
                i = m.end()
            if i < n and text[i] == "~":
                raise QuerySyntaxError(
                    "Proximity searches (\"...\"~N) are not supported")
            toks.append(_Tok("PHRASE", "".join(buf), i))
            continue
        if c == "/" :
            raise QuerySyntaxError("Regular expression queries are not supported")
        if c in "+-!" and (not toks or toks[-1].kind in (
                "LPAREN", "AND", "OR", "NOT", "PLUS", "MINUS") or text[i - 1].isspace()):
            if c == "!" or c == "-":
                toks.append(_Tok("MINUS", c, i))
            else:
                toks.append(_Tok("PLUS", c, i))
            i += 1
            continue
        if text.startswith("&&", i):
            toks.append(_Tok("AND", "&&", i))
            i += 2
            continue
        if text.startswith("||", i):
            toks.append(_Tok("OR", "||", i))
            i += 2
            continue
        # a word or a field name: read until whitespace or a special char
        j = i
        buf = []
        while j < n:
            ch = text[j]
            if ch == "\\" and j + 1 < n:
                buf.append(text[j + 1])
                j += 2
                continue
            if ch.isspace() or ch in '()"[]{}':
                break
            if ch == ":":
                break
            if ch == "^":
                m = _BOOST_RE.match(text, j)
                if not m:
                    raise QuerySyntaxError(
                        "A boost (^) must be followed by a number (position %d)" % j)
                j = m.end()
                continue
            if ch == "~":
                raise QuerySyntaxError(
                    "Fuzzy searches (~) are not supported (position %d)" % j)
            buf.append(ch)
            j += 1
        word = "".join(buf)
        # Lucene skips whitespace between a field name and its colon
        # ("field : value" is "field:value").
        k = j
        while k < n and text[k].isspace():
            k += 1
        if k > j and k < n and text[k] == ":" and word and \
                word not in ("AND", "OR", "NOT") and _FIELD_RE.fullmatch(word):
            j = k
        if j < n and text[j] == ":" and word:
            if word in ("_query_", "_val_"):
                raise QuerySyntaxError(
                    "Magic fields (%s) are not supported" % word)
            if not _FIELD_RE.fullmatch(word) and word != "*":
                raise QuerySyntaxError("Invalid field name %r" % word)
            toks.append(_Tok("FIELD", word, i))
            i = j + 1
            continue
        if not word:
            raise QuerySyntaxError(
                "Unexpected character %r at position %d" % (text[j], j))
        if word in ("AND", "OR", "NOT"):
            toks.append(_Tok(word, word, i))
        else:
            toks.append(_Tok("WORD", word, i))
        i = j
    return toks


class _Parser:
    def __init__(self, toks: list[_Tok]):
        self.toks = toks
        self.i = 0
        self.depth = 0

    def peek(self) -> Optional[_Tok]:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self) -> _Tok:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def parse(self) -> Node:
        if not self.toks:
            return All()
        node = self.or_expr(None)
        if self.peek() is not None:
            tok = self.peek()
            assert tok
            raise QuerySyntaxError(
                "Unexpected %r at position %d" % (tok.value, tok.pos))
        return node

    def or_expr(self, field: Optional[str]) -> Node:
        parts = [self.and_expr(field)]
        while self.peek() is not None and self.peek().kind == "OR":  # type: ignore[union-attr]
            self.take()
            parts.append(self.and_expr(field))
        return parts[0] if len(parts) == 1 else Or(tuple(parts))

    def and_expr(self, field: Optional[str]) -> Node:
        parts = [self.unary(field)]
        while True:
            tok = self.peek()
            if tok is None or tok.kind in ("OR", "RPAREN"):
                break
            if tok.kind == "AND":
                self.take()
            parts.append(self.unary(field))
        return parts[0] if len(parts) == 1 else And(tuple(parts))

    def unary(self, field: Optional[str]) -> Node:
        tok = self.peek()
        if tok is None:
            raise QuerySyntaxError("The query ends where a term was expected")
        if tok.kind in ("NOT", "MINUS"):
            self.take()
            return Not(self.unary(field))
        if tok.kind == "PLUS":
            self.take()
            return self.unary(field)
        return self.primary(field)

    def primary(self, field: Optional[str]) -> Node:
        tok = self.take()
        if tok.kind == "LPAREN":
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise QuerySyntaxError("The query is nested too deeply")
            node = self.or_expr(field)
            closing = self.peek()
            if closing is None or closing.kind != "RPAREN":
                raise QuerySyntaxError(
                    "Missing closing parenthesis for the one at position %d"
                    % tok.pos)
            self.take()
            self.depth -= 1
            return node
        if tok.kind == "FIELD":
            if field is not None:
                raise QuerySyntaxError(
                    "Nested field %r inside field %r" % (tok.value, field))
            nxt = self.peek()
            if nxt is None or nxt.kind in ("RPAREN", "AND", "OR"):
                raise QuerySyntaxError(
                    "Field %r has no value (position %d)" % (tok.value, tok.pos))
            if tok.value == "*":
                value = self.take()
                if value.kind == "WORD" and value.value == "*":
                    return All()
                raise QuerySyntaxError("Only *:* may use the * field")
            return self.primary(tok.value)
        if tok.kind == "PHRASE":
            return Term(field, tok.value, "phrase")
        if tok.kind == "RANGE":
            if field is None:
                raise QuerySyntaxError("A range needs a field (field:[a TO b])")
            low, high, inc_low, inc_high = tok.extra
            if low is None and high is None:
                return Term(field, "", "exists")
            return Range(field, low, high, inc_low, inc_high)
        if tok.kind == "WORD":
            word = tok.value
            if word == "*":
                if field is None:
                    return All()
                return Term(field, "", "exists")
            if word.endswith("*") and "*" not in word[:-1] and "?" not in word:
                return Term(field, word[:-1], "prefix")
            if "*" in word or "?" in word:
                raise QuerySyntaxError(
                    "Only trailing wildcards (abc*) are supported: %r" % word)
            return Term(field, word, "word")
        raise QuerySyntaxError(
            "Unexpected %r at position %d" % (tok.value, tok.pos))


def parse(text: str) -> Node:
    """Parse a q/fq string into an AST; raise QuerySyntaxError if invalid."""
    if not isinstance(text, str):
        raise QuerySyntaxError("The query must be a string")
    if len(text) > MAX_QUERY_LENGTH:
        raise QuerySyntaxError(
            "The query is longer than %d characters" % MAX_QUERY_LENGTH)
    if "\x00" in text:
        raise QuerySyntaxError("The query contains a NUL character")
    return _Parser(_tokenize(text)).parse()


def parse_user_query(text: str) -> Node:
    """Parse ``q`` the way CKAN's Solr set-up does.

    A ``q`` without a colon goes to Solr's lenient dismax parser, which never
    fails on stray syntax: do the same by falling back to literal terms
    (quoted phrases kept, ``+``/``-`` prefixes honoured). A ``q`` with a colon
    is a fielded Lucene query and must parse.
    """
    if ":" in text:
        return parse(text)
    try:
        return parse(text)
    except QuerySyntaxError:
        pass
    if len(text) > MAX_QUERY_LENGTH:
        raise QuerySyntaxError(
            "The query is longer than %d characters" % MAX_QUERY_LENGTH)
    parts: list[Node] = []
    for m in re.finditer(r'([+-]?)"([^"]*)"|(\S+)', text):
        sign, phrase, word = m.group(1), m.group(2), m.group(3)
        if word is not None:
            sign = word[0] if word[0] in "+-" and len(word) > 1 else ""
            word = word.lstrip("+-") if sign else word
            word = "".join(ch for ch in word if ch not in '()[]{}"^~*?:\\/!&|')
            if not word:
                continue
            node: Node = Term(None, word, "word")
        else:
            if not phrase.strip():
                continue
            node = Term(None, phrase, "phrase")
        parts.append(Not(node) if sign == "-" else node)
    if not parts:
        return All()
    return parts[0] if len(parts) == 1 else And(tuple(parts))


def free_text_terms(node: Node) -> list[Term]:
    """The positive default-field terms, used for relevance ranking."""
    out: list[Term] = []

    def walk(n: Node) -> None:
        if isinstance(n, Term) and n.field in (None, "text") and n.kind != "exists":
            out.append(n)
        elif isinstance(n, (And, Or)):
            for c in n.children:
                walk(c)

    walk(node)
    return out
