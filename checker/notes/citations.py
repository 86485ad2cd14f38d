"""Whether a learner cites the source of a copied paragraph: a link to its site, its name nearby,
or either in a references section.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlparse

from checker import defaults
from checker.ingest.documents import NotesDocument, Paragraph
from checker.notes.corpus import _DocData

_GENERIC_HOSTS = ("github.com", "gitee.com", "gitlab.com", "zhihu.com", "zhuanlan.zhihu.com",
                  "csdn.net", "blog.csdn.net", "medium.com", "jianshu.com", "cnblogs.com",
                  "bilibili.com", "juejin.cn", "segmentfault.com", "huggingface.co", "arxiv.org")


def _url_key(url: str) -> str:
    """What identifies a site in a citation: the registered domain, or host + two path parts
    on shared hosting sites (github.com/d2l-ai/d2l-zh is not every GitHub page)."""
    try:
        parsed = urlparse(url if "://" in url else f"http://{url}")
        host = (parsed.hostname or "").lower().removeprefix("www.")
    except ValueError:  # "http://[::1" and the like, quoted in a docstring: no site to name
        return ""
    if not host:
        return ""
    if any(host == g or host.endswith("." + g) for g in _GENERIC_HOSTS):
        parts = [p for p in parsed.path.split("/") if p][:2]
        return "/".join([host, *parts]).removesuffix(".git")
    labels = host.split(".")
    return ".".join(labels[-2:]) if len(labels) >= 2 else host


def _cites(urls: Iterable[str], text: str, doc: _DocData) -> str:
    """'' when nothing cites `doc`, else how: 'link' or 'name'."""
    source_url = re.sub(r"^(dir|git|pypi):", "", doc.source)
    targets = {_url_key(u) for u in (doc.url, source_url if "://" in source_url else "") if u}
    targets.discard("")
    for url in urls:
        key = _url_key(url)
        if key and any(key == t or key.startswith(t + "/") or t.startswith(key + "/") for t in targets):
            return "link"
    folded = text.casefold()
    for alias in doc.aliases:
        if alias.casefold() in folded:
            return "name"
    return ""


def _citation(document: NotesDocument, paragraph: Paragraph, doc: _DocData) -> str:
    if paragraph.kind == "quote":
        return "quoted"
    how = _cites(paragraph.urls, paragraph.text, doc)
    if how:
        return f"{how} in the paragraph"
    # neighbours: the paragraph before and after, and link-only lines within two lines
    position = document.paragraphs.index(paragraph)
    around = document.paragraphs[max(0, position - 1) : position + 2]
    near_urls = [u for p in around for u in p.urls]
    near_urls += [u for e in document.excluded
                  if abs(e.span.start_line - paragraph.span.end_line) <= 2
                  or abs(paragraph.span.start_line - e.span.end_line) <= 2
                  for u in e.urls if e.cell == paragraph.cell]
    how = _cites(near_urls, "\n".join(p.text for p in around), doc)
    if how:
        return f"{how} next to the paragraph"
    heading = re.compile(defaults.NOTES_REFERENCE_HEADINGS, re.I)
    # a references section (under a heading like "参考资料") or a line like "参考：..." / "Sources: ..."
    lead = re.compile(rf"^\s*(?:{defaults.NOTES_REFERENCE_HEADINGS})\w*\s*[:：]", re.I)
    references = [p for p in document.paragraphs
                  if (p.section and heading.search(p.section.rsplit(" / ", 1)[-1]))
                  or lead.match(p.text)]
    ref_urls = [u for p in references for u in p.urls] + list(document.link_urls)
    if references:
        first_line = min(p.span.start_line for p in references)
        ref_urls += [u for e in document.excluded for u in e.urls if e.span.start_line >= first_line]
    how = _cites(ref_urls, "\n".join(p.text for p in references), doc)
    return f"{how} in the references" if how else ""
