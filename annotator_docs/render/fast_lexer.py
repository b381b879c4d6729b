"""Pygments' regex lexers, run with one regular expression per state instead of one per rule.

Pygments' `RegexLexer` tries a state's rules one after another at each position, a Python call per
rule: the Python lexer averages over 30 tries per token, and lexing was half of a cold build's work.
Joined into one alternation per state (each rule's pattern in its own group, with its own flags), the
regular expression engine makes the same choice, the first rule in order that matches here, in one
call. The rules, their order, their actions and the state machine are Pygments' own, and the tokens
are identical: `tests/test_highlight.py` compares them with Pygments' on every sample it has, and on
the standard library when asked. A state whose patterns refer to their own groups by number or
name (a shell here-document does) keeps Pygments' rule-by-rule matching.
"""

from __future__ import annotations

import functools
import importlib
import re
from collections.abc import Callable, Iterator
from typing import Any

from pygments.lexer import Lexer, RegexLexer
from pygments.token import Error, Whitespace, _TokenType

_GLOBAL_FLAGS = re.compile(r"\A\(\?([aiLmsux]+)\)")
_SELF_REFERENCE = re.compile(r"\\[1-9]|\(\?P[=<]|\(\?\(")  # backreferences, named or conditional groups
_SCOPED = ((re.IGNORECASE, "i"), (re.MULTILINE, "m"), (re.DOTALL, "s"), (re.VERBOSE, "x"))

# the standard library's own reading of a pattern (the module sre_parse was, before Python 3.11)
_parser: Any = importlib.import_module("re._parser")

Rule = tuple[Callable[..., Any], Any, Any]  # Pygments' processed rule: (pattern.match, action, new state)
_ANY = "any"


def _pattern(rule: Rule) -> re.Pattern[str]:
    match: Any = rule[0]  # a bound `Pattern.match`
    pattern: re.Pattern[str] = match.__self__
    return pattern  # a rule that may start with any character


class _State:
    """One state's rules and, for each character a token may start with, the rules that could
    match there joined into one pattern (in their order: the first that matches is Pygments' choice)."""

    __slots__ = ("_branches", "_first", "_joined", "rules")

    def __init__(self, rules: list[Rule]) -> None:
        self.rules = rules
        self._branches: list[str] | None = []
        self._first: list[Any] = []  # per rule: _ANY, or (predicate of a first character, may match empty)
        self._joined: dict[str, tuple[re.Pattern[str], dict[int, Rule]] | None] = {}
        for rule in rules:
            pattern: re.Pattern[str] = _pattern(rule)
            source = _GLOBAL_FLAGS.sub("", pattern.pattern, count=1)
            if _SELF_REFERENCE.search(source) or pattern.flags & re.ASCII:
                self._branches = None
                return
            on = "".join(letter for flag, letter in _SCOPED if pattern.flags & flag)
            off = "".join(letter for flag, letter in _SCOPED if not pattern.flags & flag)
            self._branches.append(f"((?{on}-{off}:{source}))" if off else f"((?{on}:{source}))")
            self._first.append(_first_characters(pattern))

    @property
    def joinable(self) -> bool:
        return self._branches is not None

    def at(self, char: str) -> tuple[re.Pattern[str], dict[int, Rule]] | None:
        """The joined pattern of the rules that may match where ``char`` ("" at the end) starts,
        and which rule each of its groups is; None when no rule can."""
        if char in self._joined:
            return self._joined[char]
        assert self._branches is not None
        chosen = [i for i, first in enumerate(self._first) if _may_start(first, char)]
        joined = None
        if chosen:
            group, rule_of_group = 1, {}
            for i in chosen:
                rule_of_group[group] = self.rules[i]
                group += 1 + _pattern(self.rules[i]).groups
            joined = (re.compile("|".join(self._branches[i] for i in chosen)), rule_of_group)
        if len(self._joined) < 4096:  # bounded: text in any script meets few characters per state
            self._joined[char] = joined
        return joined


def _may_start(first: Any, char: str) -> bool:
    if first is _ANY:
        return True
    accepts, nullable = first
    return nullable or (char != "" and accepts(char))


def _first_characters(pattern: re.Pattern[str]) -> Any:
    """What a match of ``pattern`` may start with: (predicate, may match empty), or _ANY when the
    pattern is beyond this reading (it then stays a candidate everywhere, which is always right)."""
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
    """The lexer itself, its token stream matched a state at a time when it is a plain
    `RegexLexer` (one that keeps Pygments' own `get_tokens_unprocessed`)."""
    cls = type(lexer)
    if not isinstance(lexer, RegexLexer) or cls.get_tokens_unprocessed is not RegexLexer.get_tokens_unprocessed:
        return lexer
    states = _states(cls)
    lexer.get_tokens_unprocessed = functools.partial(_tokens, lexer, states)  # type: ignore[method-assign]
    return lexer


def _tokens(lexer: RegexLexer, states: dict[Any, _State], text: str, stack: tuple[str, ...] = ("root",)) -> Iterator[Any]:
    """`RegexLexer.get_tokens_unprocessed` (Pygments 2.x) with the rule chosen by one match."""
    pos = 0
    statestack = list(stack)
    state = states[statestack[-1]]
    while True:
        rule: Rule | None = None
        m: re.Match[str] | None = None
        if state.joinable:
            candidates = state.at(text[pos : pos + 1])
            joined = candidates[0].match(text, pos) if candidates is not None else None
            if joined is not None:
                rule = candidates[1][joined.lastindex or 0]  # type: ignore[index]
                # an action other than a token type reads the rule's own groups: match it alone
                m = joined if type(rule[1]) is _TokenType else rule[0](text, pos)
        else:
            for candidate in state.rules:
                m = candidate[0](text, pos)
                if m:
                    rule = candidate
                    break
        if rule is not None and m is not None:
            _, action, new_state = rule
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
            continue
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
