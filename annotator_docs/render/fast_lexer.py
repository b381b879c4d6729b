"""Pygments' regex lexers, trying at each position only the rules that can start with the
character found there.

Pygments' `RegexLexer` tries a state's rules one after another at each position, a Python call per
rule: the Python lexer averages over 30 tries per token, and lexing was half of a cold build's work.
Most of those tries cannot succeed: a rule for a string cannot match where the text has a digit.
Each rule's pattern is read once (by the standard library's own parser) for the characters a match
may begin with; at a position, the rules left out are exactly those that cannot match a string
starting with the character there. The rules, their order, their compiled patterns, their actions
and the state machine are Pygments' own, so the tokens are identical: `tests/test_highlight.py`
compares them with Pygments' on every sample it has, and `benchmarks/lexer.py` on the standard
library. A pattern beyond this reading (a group reference, say) stays a candidate everywhere.
"""

from __future__ import annotations

import functools
import importlib
import re
from collections.abc import Callable, Iterator
from typing import Any

from pygments.lexer import Lexer, RegexLexer
from pygments.token import Error, Whitespace, _TokenType

# the standard library's own reading of a pattern (the module sre_parse was, before Python 3.11)
_parser: Any = importlib.import_module("re._parser")

Rule = tuple[Callable[..., Any], Any, Any]  # Pygments' processed rule: (pattern.match, action, new state)
_ANY = "any"  # a rule that may start with any character


class _State:
    """One state's rules and, by the character a token starts with, the rules that could match."""

    __slots__ = ("_at", "_first", "rules")

    def __init__(self, rules: list[Rule]) -> None:
        self.rules = rules
        self._first = [_first_characters(rule[0]) for rule in rules]
        self._at: dict[str, tuple[Rule, ...]] = {}

    def at(self, char: str) -> tuple[Rule, ...]:
        """The rules, in order, that may match where ``char`` starts ("" at the end of the text)."""
        found = self._at.get(char)
        if found is None:
            found = tuple(rule for rule, first in zip(self.rules, self._first, strict=True) if _may_start(first, char))
            if len(self._at) < 4096:  # bounded: text in any script meets few characters per state
                self._at[char] = found
        return found


def _may_start(first: Any, char: str) -> bool:
    if first is _ANY:
        return True
    accepts, nullable = first
    return nullable or (char != "" and accepts(char))


def _first_characters(match: Any) -> Any:
    """What a match of a rule's pattern (``match`` is its bound `Pattern.match`) may start with:
    (predicate, may match empty), or _ANY when the pattern is beyond this reading (it then stays a
    candidate everywhere, which is always right)."""
    pattern: re.Pattern[str] = match.__self__
    try:
        parsed = _parser.parse(pattern.pattern, pattern.flags)
        predicates, nullable = _first_of(list(parsed), bool(pattern.flags & re.IGNORECASE))
    except _Unknown:
        return _ANY
    except Exception:  # another Python's parse tree: stay correct, only slower
        return _ANY
    return (lambda char: any(p(char) for p in predicates)), nullable


class _Unknown(Exception):
    pass


def _first_of(items: list[Any], ignore_case: bool) -> tuple[list[Callable[[str], bool]], bool]:
    """First-character predicates of a sequence, and whether the whole sequence may match empty."""
    predicates: list[Callable[[str], bool]] = []
    for op, argument in items:
        name = str(op)
        if name in ("AT", "ASSERT", "ASSERT_NOT"):  # zero-width: what follows starts the match
            continue
        if name == "SUBPATTERN":
            _, add, remove, inner = argument
            case = (ignore_case or bool(add & re.IGNORECASE)) and not remove & re.IGNORECASE
            found, nullable = _first_of(list(inner), case)
        elif name == "ATOMIC_GROUP":
            found, nullable = _first_of(list(argument), ignore_case)
        elif name == "BRANCH":
            found, nullable = [], False
            for alternative in argument[1]:
                more, empty = _first_of(list(alternative), ignore_case)
                found += more
                nullable = nullable or empty
        elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            low, _, inner = argument
            found, nullable = _first_of(list(inner), ignore_case)
            nullable = nullable or low == 0
        elif name in ("LITERAL", "NOT_LITERAL", "IN", "ANY"):
            found, nullable = [_one_character(name, argument, ignore_case)], False
        else:  # group references and the like
            raise _Unknown(name)
        predicates += found
        if not nullable:
            return predicates, False
    return predicates, True


def _one_character(name: str, argument: Any, ignore_case: bool) -> Callable[[str], bool]:
    if name == "ANY":
        return lambda char: True
    if name == "LITERAL":
        test: Callable[[str], bool] = functools.partial(str.__eq__, chr(argument))
    elif name == "NOT_LITERAL":
        test = functools.partial(str.__ne__, chr(argument))
    else:
        test = _character_class(argument)
    if not ignore_case:
        return test
    return lambda char: not char.isascii() or test(char) or test(char.lower()) or test(char.upper())


_CATEGORIES = {
    "CATEGORY_DIGIT": re.compile(r"\d").fullmatch,
    "CATEGORY_NOT_DIGIT": re.compile(r"\D").fullmatch,
    "CATEGORY_SPACE": re.compile(r"\s").fullmatch,
    "CATEGORY_NOT_SPACE": re.compile(r"\S").fullmatch,
    "CATEGORY_WORD": re.compile(r"\w").fullmatch,
    "CATEGORY_NOT_WORD": re.compile(r"\W").fullmatch,
    "CATEGORY_LINEBREAK": re.compile(r"\n").fullmatch,
    "CATEGORY_NOT_LINEBREAK": re.compile(r"[^\n]").fullmatch,
}


def _in_range(low: int, high: int, char: str) -> bool:
    return low <= ord(char) <= high


def _character_class(items: Any) -> Callable[[str], bool]:
    negate = False
    tests: list[Callable[[str], Any]] = []
    for op, argument in items:
        name = str(op)
        if name == "NEGATE":
            negate = True
        elif name == "LITERAL":
            tests.append(functools.partial(str.__eq__, chr(argument)))
        elif name in ("RANGE", "RANGE_UNI_IGNORE"):
            low, high = argument
            tests.append(functools.partial(_in_range, low, high))
        elif name == "CATEGORY":
            tests.append(_CATEGORIES[str(argument)])
        else:
            raise _Unknown(name)
    if negate:
        return lambda char: not any(t(char) for t in tests)
    return lambda char: any(t(char) for t in tests)


@functools.cache
def _states(lexer_class: type[RegexLexer]) -> dict[Any, _State]:
    processed: dict[Any, list[Rule]] = vars(lexer_class)["_tokens"]  # made on the first instance
    return {name: _State(rules) for name, rules in processed.items()}


def accelerated(lexer: Lexer) -> Lexer:
    """The lexer itself, trying only the rules that can match at each position when it is a plain
    `RegexLexer` (one that keeps Pygments' own `get_tokens_unprocessed`)."""
    cls = type(lexer)
    if not isinstance(lexer, RegexLexer) or cls.get_tokens_unprocessed is not RegexLexer.get_tokens_unprocessed:
        return lexer
    states = _states(cls)
    lexer.get_tokens_unprocessed = functools.partial(_tokens, lexer, states)  # type: ignore[method-assign]
    return lexer


def _tokens(lexer: RegexLexer, states: dict[Any, _State], text: str, stack: tuple[str, ...] = ("root",)) -> Iterator[Any]:
    """`RegexLexer.get_tokens_unprocessed` (Pygments 2.x), trying only the rules that can match here."""
    pos = 0
    statestack = list(stack)
    state = states[statestack[-1]]
    while True:
        for rexmatch, action, new_state in state.at(text[pos : pos + 1]):
            m = rexmatch(text, pos)
            if m:
                if action is not None:
                    if type(action) is _TokenType:
                        yield pos, action, m.group()
                    else:
                        yield from action(lexer, m)
                pos = m.end()
                if new_state is not None:
                    if isinstance(new_state, tuple):
                        for name in new_state:
                            if name == "#pop":
                                if len(statestack) > 1:
                                    statestack.pop()
                            elif name == "#push":
                                statestack.append(statestack[-1])
                            else:
                                statestack.append(name)
                    elif isinstance(new_state, int):
                        if abs(new_state) >= len(statestack):
                            del statestack[1:]
                        else:
                            del statestack[new_state:]
                    elif new_state == "#push":
                        statestack.append(statestack[-1])
                    else:
                        raise AssertionError(f"wrong state def: {new_state!r}")
                    state = states[statestack[-1]]
                break
        else:
            if pos >= len(text):
                break
            if text[pos] == "\n":  # at the end of a line, back to the root state
                statestack = ["root"]
                state = states["root"]
                yield pos, Whitespace, "\n"
                pos += 1
                continue
            yield pos, Error, text[pos]
            pos += 1
