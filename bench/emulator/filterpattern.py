"""CloudWatch Logs filter patterns, the text-term subset that FilterLogEvents matches messages with.

Supported, as CloudWatch reads them (matching is case-sensitive, by substring):
- an empty (or blank) pattern matches every event;
- ``ERROR Exception``: every term must appear;
- ``"REPORT RequestId: abc"``: a double-quoted phrase must appear exactly (``\\"`` inside
  a phrase is a literal quote, as the AWS CDK writes them);
- ``?ERROR ?WARN``: any one of the ``?`` terms must appear. A ``?`` starts an alternative and
  the plain terms after it join that alternative, so ``?ERROR MainThread ?WARN Deadlock`` means
  (ERROR and MainThread) or (WARN and Deadlock): that is how the CDK's ``anyTermGroup`` renders.
  Plain terms before the first ``?`` must appear whichever alternative matches;
- ``ERROR -ARGUMENTS``: a ``-`` term must not appear (in the group it belongs to).

Not supported, and rejected with :class:`FilterPatternError` (the API answers
InvalidParameterException) rather than silently matching nothing: JSON patterns
(``{ $.x = ... }``), space-delimited patterns (``[ip, user, ...]``) and regular expressions
(``%...%``). A collector that needs them against AWS must not be fooled by the emulator.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

UNSUPPORTED_OPENERS = {
    "{": "JSON filter patterns",
    "[": "space-delimited filter patterns",
    "%": "regular-expression filter patterns",
}


class FilterPatternError(ValueError):
    """The pattern is malformed or uses a syntax the emulator does not implement."""


@dataclass
class TermGroup:
    """Terms that must all appear and terms that must not, in one message."""

    include: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)

    def matches(self, message: str) -> bool:
        return all(term in message for term in self.include) and not any(term in message for term in self.exclude)


@dataclass
class FilterPattern:
    """A parsed pattern: the common group, and the ``?`` alternatives of which one must match."""

    common: TermGroup = field(default_factory=TermGroup)
    alternatives: list[TermGroup] = field(default_factory=list)

    def matches(self, message: str) -> bool:
        if not self.common.matches(message):
            return False
        return not self.alternatives or any(group.matches(message) for group in self.alternatives)


def parse(pattern: str | None) -> FilterPattern:
    """Parse a text filter pattern; raise FilterPatternError for what CloudWatch would not take."""
    text = (pattern or "").strip()
    if text[:1] in UNSUPPORTED_OPENERS:
        raise FilterPatternError(
            f"{UNSUPPORTED_OPENERS[text[0]]} are not supported by the lambench emulator; "
            "use text terms, quoted phrases, ?terms and -terms"
        )
    parsed = FilterPattern()
    group = parsed.common
    for operator, term in _terms(text):
        if operator == "?":
            group = TermGroup()
            parsed.alternatives.append(group)
            group.include.append(term)
        elif operator == "-":
            group.exclude.append(term)
        else:
            group.include.append(term)
    return parsed


def _terms(text: str) -> Iterator[tuple[str, str]]:
    """Yield (operator, term) pairs, operator being "?", "-" or ""."""
    i = 0
    while i < len(text):
        if text[i].isspace():
            i += 1
            continue
        operator = text[i] if text[i] in "?-" else ""
        i += len(operator)
        if i < len(text) and text[i] == '"':
            term, i = _quoted(text, i)
        else:
            term, i = _bare(text, i)
        if not term:
            raise FilterPatternError(f"Invalid filter pattern {text!r}: {operator!r} must be followed by a term")
        yield operator, term


def _quoted(text: str, start: int) -> tuple[str, int]:
    """The phrase that starts with the quote at ``start``, and the index after its closing quote."""
    chars = []
    i = start + 1
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text):
            chars.append(text[i + 1])
            i += 2
            continue
        if char == '"':
            return "".join(chars), i + 1
        chars.append(char)
        i += 1
    raise FilterPatternError(f"Invalid filter pattern {text!r}: unterminated quoted phrase")


def _bare(text: str, start: int) -> tuple[str, int]:
    end = start
    while end < len(text) and not text[end].isspace():
        end += 1
    term = text[start:end]
    if '"' in term:
        # A quote inside a bare term is almost certainly a typo: refuse it rather than guess.
        raise FilterPatternError(f"Invalid filter pattern {text!r}: quote inside the term {term!r}")
    return term, end
