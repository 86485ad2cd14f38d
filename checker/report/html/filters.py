"""The jinja2 filters for learner-controlled text: `name`, `text` and `plain`.

Learner ids, file paths and corpus names go through `name` (isolated in `<bdi>`, so a bidi
control cannot reorder the text around it), code, logs and messages through `text`, attributes,
`<title>` and SVG labels through `plain`; each shows bidi and C0/C1 controls as escapes.
"""

from __future__ import annotations

from checker.report.safetext import (
    control_escape,
    control_name,
    unsafe_pattern,
    visible_controls,
)


def _controls_markup(value, multiline: bool):
    """`value` HTML-escaped, each bidi or C0/C1 control shown as its escape in a `ctl` span."""
    from markupsafe import Markup, escape

    text = str(value)
    pattern = unsafe_pattern(multiline)
    if not pattern.search(text):
        return escape(text)
    parts, last = [], 0
    for match in pattern.finditer(text):
        char = match.group()
        parts.append(escape(text[last : match.start()]))
        parts.append(
            Markup('<span class="ctl" title="{}">{}</span>').format(control_name(char), control_escape(char))
        )
        last = match.end()
    parts.append(escape(text[last:]))
    return Markup("").join(parts)


def name_filter(value):
    """`{{ x|name }}`: a learner id, file path or corpus name, isolated in `<bdi>` (it cannot
    reorder the text around it) with its bidi and C0/C1 controls shown as escapes (`\\u202e`)."""
    from markupsafe import Markup

    return Markup('<bdi class="name">') + _controls_markup(value, False) + Markup("</bdi>")


def text_filter(value):
    """`{{ x|text }}`: learner-written text of several lines (code, a log, a message): controls
    shown as escapes, tab and newline kept."""
    return _controls_markup(value, True)


def plain_filter(value) -> str:
    """`{{ x|plain }}`: where no markup may go (attributes, <title>, SVG text): controls written
    as escapes in the text itself."""
    return visible_controls(value)
