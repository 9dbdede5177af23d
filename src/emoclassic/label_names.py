"""What a label name may be: the one rule for data files, label lists and saved models.

Label names are printed one per line and quoted inside one-line messages, so a
name that could break a line, or hide in one, is refused wherever it comes from.
"""

from __future__ import annotations

import unicodedata

__all__ = ["breaks_a_line", "first_line_breaker", "label_name_problem"]


def label_name_problem(name: str) -> str | None:
    r"""Say what makes ``name`` unusable as a label name, or return ``None``.

    A label name must be non-empty, without white space at either end and
    without control or format characters (Unicode category ``C*``) or line and
    paragraph separators: names are printed one per line and inside one-line
    messages.

    Examples
    --------
    >>> label_name_problem("joy") is None
    True
    >>> label_name_problem("joy\nanger")
    'has a control character (U+000A)'
    >>> label_name_problem(" joy")
    'has white space at the start or end'
    """
    if not name:
        return "is empty"
    if name != name.strip():
        return "has white space at the start or end"
    breaking = first_line_breaker(name)
    if breaking is not None:
        return f"has a control character (U+{ord(breaking):04X})"
    return None


def first_line_breaker(text: str) -> str | None:
    r"""Return the first character of ``text`` that must not appear in a one-line name.

    Those are Unicode's control, format, surrogate, private-use and unassigned
    characters (category ``C*``) and the line and paragraph separators.

    Examples
    --------
    >>> first_line_breaker("sklearn 1.9"), first_line_breaker("a\u2028b")
    (None, '\u2028')
    """
    return next((character for character in text if breaks_a_line(character)), None)


def breaks_a_line(character: str) -> bool:
    r"""Tell whether ``character`` may break a one-line message.

    That is a control, format, surrogate, private-use or unassigned character
    (category ``C*``), or a line or paragraph separator.

    Examples
    --------
    >>> breaks_a_line("\n"), breaks_a_line("\u2028"), breaks_a_line("é")
    (True, True, False)
    """
    category = unicodedata.category(character)
    return category.startswith("C") or category in ("Zl", "Zp")
