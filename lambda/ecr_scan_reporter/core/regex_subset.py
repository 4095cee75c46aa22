"""The repository regexes Terraform accepts: the common subset of RE2 and Python ``re``, and none that can hang a
function. Pure.

Terraform validates ``repository_include_regex``, ``repository_exclude_regex``, a suppression's and a team's
``repository_regex`` three times (variables.tf): RE2 must compile it (``can(regexall(v, ""))``), it must not use
RE2 syntax that Python's ``re`` rejects or reads differently (a lexical rule, :data:`RE2_ONLY` and
:data:`FLAG_GROUP`), and it must not repeat a group holding a quantifier (:func:`nested_quantifier`, the rule
:data:`NESTED` after :data:`SIMPLIFY`). :func:`check` applies the same rules in Python, with the same messages, so
the CLI refuses what ``terraform plan`` refuses:

- the lexical rule is Terraform's, character for character (tests/terraform/test_regex_subset.py reads both);
- "RE2 compiles it" cannot be asked in Python, so it is approximated by "Python compiles it and it uses none of
  the constructs only Python has" (:func:`python_only`): look-around, backreferences, conditionals, atomic groups,
  possessive quantifiers, comments, the flags a, L, u and x, the escapes ``\\Z``, ``\\u``, ``\\U``, ``\\N``,
  ``\\b`` inside ``[...]``, and repeat counts over 1000 (RE2's limit);
- the nested-quantifier rule is Terraform's, character for character: Python's ``re`` backtracks, and a repeated
  group that can match the same text in several ways (``([a-z0-9]+-?)+``, ``(a|aa)+``) takes exponential time on
  a name that almost matches (a 40-character repository name hangs every ownership resolution); RE2 never does,
  so only this rule stops such a regex before it reaches a function. The functions apply it too
  (``config.parse_regex``: the settings, the teams and suppressions documents).
"""

from __future__ import annotations

import re
import warnings

#: Terraform's lexical rule (variables.tf), searched in the pattern once every ``\\`` pair is removed: ``\\x{..}``,
#: ``\\p``/``\\P``, ``\\Q``/``\\E``, ``\\z``, ``\\C``, ``\\1``-``\\9``, POSIX classes, ``(?<name>``, the U flag,
#: ``{,n}``, a class escape as a range end.
RE2_ONLY = r"\\(x\{|[pPQEzC1-9])|\[:\^?[A-Za-z]+:\]|\(\?<[A-Za-z_]|\(\?[A-Za-z-]*U|\{,|\[[^\]]*\\[dDsSwW]-[^\]]"
#: A flag group, refused anywhere but at the start (:data:`LEADING_FLAGS` is removed first).
FLAG_GROUP = r"\(\?[A-Za-z-]+\)"
LEADING_FLAGS = r"^(\(\?[A-Za-z]+\))+"

#: The nested-quantifier rule (variables.tf has the same text): the pattern is first simplified by these
#: replacements, in this order (each a regex and what its every match becomes): an escaped character becomes a
#: plain one, a set ``[...]`` one character, a group's opening ``(?:``, ``(?i:`` or ``(?P<name>`` a plain ``(``, and
#: a flag group ``(?i)`` nothing. Then :data:`NESTED` finds a repeated group (``)`` then ``*``, ``+`` or ``{``) that
#: holds another group (a ``)`` before it since the last ``(``), or, being innermost, a quantifier or ``|``.
SIMPLIFY: tuple[tuple[str, str], ...] = (
    (r"\\.", "e"),
    (r"\[\^?\]?[^\]]*\]", "c"),
    (r"\(\?(P<[A-Za-z0-9_]*>|[A-Za-z-]*:)", "("),
    (r"\(\?[A-Za-z-]*\)", ""),
)
NESTED = r"\)[^()]*\)[*+{]|\([^()]*[*+?{|][^()]*\)[*+{]"

#: Terraform's error messages (variables.tf) follow the subject, e.g. "repository_include_regex" or
#: "A suppression's repository_regex".
INVALID = (
    "is not a valid regular expression (Terraform checks it with RE2: look-around and backreferences are not "
    "supported)."
)
NOT_COMMON = (
    "uses RE2 syntax that Python's re (which the functions use) rejects or reads differently. Write it in the "
    "common subset: \\xHH not \\x{..}; ranges such as [a-z0-9] not \\p{..}/\\pN or [[:alpha:]]; escape each "
    "character instead of \\Q...\\E; $ not \\z; (?P<name>...) not (?<name>...); \\xHH not \\1-\\9; {0,n} not "
    "{,n}; flags only as a leading (?i), (?m), (?s) or scoped (?i:...), never U or (?-i); no \\d, \\s or \\w as "
    "a range end in [...]."
)

HANGS = (
    "repeats a group that holds a quantifier, an alternation or another group, such as ([a-z0-9]+-?)+ or (a|aa)+: "
    "Python's re (which the functions use) can take exponential time on such a regex and hang them. Repeat a set "
    "instead ([a-z0-9-]+), or write the group once without repeating it."
)

_RE2_ONLY = re.compile(RE2_ONLY)
_SIMPLIFY = tuple((re.compile(pattern), replacement) for pattern, replacement in SIMPLIFY)
_NESTED = re.compile(NESTED)
_FLAG_GROUP = re.compile(FLAG_GROUP)
_LEADING_FLAGS = re.compile(LEADING_FLAGS)
_RE2_MAX_REPEAT = 1000
_GROUP_OPENERS = {  # what follows "(?" -> the construct RE2 does not have
    "=": "look-ahead",
    "!": "negative look-ahead",
    "<=": "look-behind",
    "<!": "negative look-behind",
    "P=": "named backreference",
    "(": "conditional group",
    ">": "atomic group",
    "#": "comment",
}
_PYTHON_ONLY_FLAGS = frozenset("aLux")
_PYTHON_ONLY_ESCAPES = {"Z": "\\Z (write $)", "u": "\\u escape", "U": "\\U escape", "N": "\\N{...} escape"}
_REPEAT = re.compile(r"\{([0-9]+)(?:,([0-9]*))?\}")  # {,n} is refused by RE2_ONLY


class RegexRefused(ValueError):
    """The pattern is outside the common subset; the message is Terraform's, for the subject given."""


def re2_only(pattern: str) -> bool:
    """Terraform's lexical rule: True when ``pattern`` uses RE2 syntax that Python rejects or reads differently."""
    plain = pattern.replace("\\\\", "")
    return bool(_RE2_ONLY.search(plain) or _FLAG_GROUP.search(_LEADING_FLAGS.sub("", plain)))


def simplified(pattern: str) -> str:
    """``pattern`` after :data:`SIMPLIFY`: escapes, sets and group openings flattened, flag groups removed."""
    for regex, replacement in _SIMPLIFY:
        pattern = regex.sub(replacement, pattern)
    return pattern


def nested_quantifier(pattern: str) -> bool:
    """The nested-quantifier rule: True when ``pattern`` repeats (``*``, ``+``, ``{n}``, ``{n,}``, ``{n,m}``) a group
    that holds a quantifier, an alternation or another group. Lexical, and so conservative: it also refuses a
    repeated group that could not match the same text two ways (``(?:-[a-z]+)*``); a repeated group of plain text
    (``(ab)+``) and a quantified group that is not repeated (``(a+)?``) pass."""
    return bool(_NESTED.search(simplified(pattern)))


def python_only(pattern: str) -> str | None:
    """The first construct of ``pattern`` that Python has and RE2 does not (so Terraform refuses it), or None.
    Scans the text: escapes, ``[...]`` sets, ``(?`` groups and quantifiers."""
    i, n, in_set, quantified = 0, len(pattern), False, False
    while i < n:
        c = pattern[i]
        if c == "\\":
            escaped = pattern[i + 1 : i + 2]
            if escaped in _PYTHON_ONLY_ESCAPES:
                return _PYTHON_ONLY_ESCAPES[escaped]
            if in_set and escaped == "b":
                return "\\b inside [...] (a backspace in Python)"
            i, quantified = i + 2, False
            continue
        if in_set:
            if c == "]":
                in_set = False
            i += 1
            continue
        if c == "[":
            in_set, i, quantified = True, i + 1, False
            i += 1 if pattern[i : i + 1] == "^" else 0
            i += 1 if pattern[i : i + 1] == "]" else 0  # a leading ] is a member
            continue
        if c == "+" and quantified:
            return "possessive quantifier"
        if c in "*+?":
            quantified = c != "?" or not quantified  # a ? after a quantifier makes it lazy: nothing to repeat
            i += 1
            continue
        if c == "{":
            repeat = _REPEAT.match(pattern, i)
            if repeat:
                counts = [int(x) for x in repeat.groups() if x]
                if any(count > _RE2_MAX_REPEAT for count in counts):
                    return f"repeat count over {_RE2_MAX_REPEAT}"
                i, quantified = repeat.end(), True
                continue
        if c == "(" and pattern.startswith("(?", i):
            rest = pattern[i + 2 :]
            for opener, construct in _GROUP_OPENERS.items():
                if rest.startswith(opener):
                    return construct
            flags = re.match(r"[A-Za-z-]*", rest)
            found = sorted(set(flags.group()) & _PYTHON_ONLY_FLAGS) if flags else []
            if found:
                return f"flag {found[0]}"
        quantified = False
        i += 1
    return None


def diagnose(pattern: str) -> tuple[str, str | None] | None:
    """Which of Terraform's messages ``pattern`` earns (:data:`NOT_COMMON`, :data:`INVALID` or :data:`HANGS`) and,
    for :data:`INVALID`, what Python found (its compile error, or the construct only Python has); None: accepted."""
    if re2_only(pattern):
        return NOT_COMMON, None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # FutureWarning "Possible nested set": refused above anyway
            re.compile(pattern)
    except re.error as exc:
        return INVALID, str(exc)
    construct = python_only(pattern)
    if construct:
        return INVALID, f"{construct}, which only Python has"
    return (HANGS, None) if nested_quantifier(pattern) else None


def problem(pattern: str) -> str | None:
    """Terraform's message for ``pattern`` (:data:`NOT_COMMON`, :data:`INVALID` or :data:`HANGS`), or None when it is
    accepted."""
    found = diagnose(pattern)
    return found[0] if found else None


def check(pattern: str, subject: str) -> re.Pattern[str]:
    """Compile ``pattern``, or raise :class:`RegexRefused`: ``subject``, Terraform's message, and what Python found
    (e.g. "'(?=a)' is not a valid regular expression (...). Here: look-ahead, which only Python has.")."""
    found = diagnose(pattern)
    if found is not None:
        message, detail = found
        raise RegexRefused(f"{subject} {message}" + (f" Here: {detail}." if detail else ""))
    return re.compile(pattern)
