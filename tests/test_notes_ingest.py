"""Notes ingest: paragraphs with line spans; code, formulas, images and links kept apart."""

from __future__ import annotations

import json

from checker.ingest.documents import parse_notes_text, read_notes_file

MARKDOWN = """# 第三周笔记

这是第一段。它有两句话！见 [d2l](https://zh.d2l.ai/chapter_linear/softmax.html) 和 $x^2$。

$$
y = wx + b
$$

![loss curve](loss.png)

https://example.com/only-a-link

- 第一项 *强调*
- 第二项

```python
import torch
```

```bash
pip install d2l
```
"""


def test_markdown_paragraphs_keep_their_line_spans():
    doc = parse_notes_text(MARKDOWN, "week3.md", "alice")
    prose = doc.prose
    assert [p.kind for p in prose] == ["prose", "list"]
    assert (prose[0].span.start_line, prose[0].span.end_line) == (3, 3)
    assert (prose[1].span.start_line, prose[1].span.end_line) == (13, 14)
    assert prose[1].text == "第一项 强调\n第二项"
    assert doc.title == "第三周笔记"


def test_fenced_python_goes_to_the_code_path_and_other_languages_are_excluded():
    doc = parse_notes_text(MARKDOWN, "week3.md", "alice")
    assert [f.text for f in doc.code_files] == ["import torch\n"]
    assert doc.code_files[0].kind == "code" and doc.code_files[0].owner == "alice"
    assert "code:bash" in {e.reason for e in doc.excluded}
    assert "import torch" not in " ".join(p.text for p in doc.paragraphs)


def test_formulas_images_and_link_only_lines_are_neither_words_nor_copying():
    doc = parse_notes_text(MARKDOWN, "week3.md", "alice")
    reasons = {e.reason: e for e in doc.excluded}
    assert {"formula", "image", "links"} <= set(reasons)
    assert (reasons["formula"].span.start_line, reasons["formula"].span.end_line) == (5, 7)
    assert reasons["links"].urls == ("https://example.com/only-a-link",)
    first = doc.prose[0]
    assert "x^2" not in first.text and "https" not in first.text
    assert first.urls == ("https://zh.d2l.ai/chapter_linear/softmax.html",)
    assert "https://example.com/only-a-link" in doc.urls


def test_inline_math_next_to_chinese_is_removed():
    doc = parse_notes_text("模型的输出$\\hat{y}_j$可以视为概率。\n", "n.md")
    assert doc.prose[0].text == "模型的输出 可以视为概率。"


def test_sentences_follow_chinese_punctuation_inside_a_paragraph():
    doc = parse_notes_text("第一句。第二句！\n第三句？\n", "n.md")
    assert doc.prose[0].sentence_texts() == ["第一句。", "第二句！", "第三句？"]


def test_gbk_text_file_is_decoded_and_recorded(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_bytes("第一段笔记，写了一些东西。\n\n第二段。\n".encode("gbk"))
    doc = read_notes_file(path, owner="bob", rel_path="notes.txt")
    assert [p.text for p in doc.paragraphs] == ["第一段笔记，写了一些东西。", "第二段。"]
    assert doc.paragraphs[1].span.start_line == 3
    assert doc.encoding == "gb18030"
    assert [w.kind for w in doc.warnings] == ["decoded"]


def test_notebook_markdown_cells_are_notes_with_cell_numbers():
    notebook = {"cells": [
        {"cell_type": "code", "source": ["print('hi')\n"]},
        {"cell_type": "markdown", "source": ["# 标题\n", "\n", "笔记正文，一句话。\n"]},
    ]}
    doc = parse_notes_text(json.dumps(notebook), "lab.ipynb", "carol")
    assert [(p.text, p.cell, p.span.start_line) for p in doc.prose] == [("笔记正文，一句话。", 2, 3)]
    assert doc.code_files == []  # code cells belong to the code path's notebook reader


def test_broken_notebook_is_a_warning_not_an_exception():
    doc = parse_notes_text("{not json", "lab.ipynb", "carol")
    assert doc.paragraphs == [] and "not a valid notebook" in doc.warnings[0].reason  # as ingest says


def test_html_article_drops_furniture_and_sends_pre_to_code():
    html = """<html><head><title>Softmax</title><script>var x = 1;</script></head>
<body><nav>Home | About</nav>
<h1>Softmax 回归</h1>
<p>Softmax turns <a href="https://d2l.ai">logits</a> into probabilities.</p>
<pre><code class="language-python">import torch</code></pre>
<p>Second paragraph here.</p>
</body></html>"""
    doc = parse_notes_text(html, "post.html", "web")
    assert [p.text for p in doc.prose] == ["Softmax turns logits into probabilities.",
                                          "Second paragraph here."]
    assert doc.prose[0].urls == ("https://d2l.ai",)
    assert doc.prose[0].span.start_line == 4
    assert [f.text for f in doc.code_files] == ["import torch"]
    assert "Home" not in " ".join(p.text for p in doc.paragraphs)


def test_docx_paragraphs_and_headings_are_read(tmp_path):
    import docx

    document = docx.Document()
    document.add_heading("Week 3", level=1)
    document.add_paragraph("My own notes about training a small network.")
    document.add_paragraph("")
    document.add_paragraph("A second paragraph of notes.")
    path = tmp_path / "notes.docx"
    document.save(path)
    doc = read_notes_file(path, owner="dan")
    assert [p.text for p in doc.prose] == ["My own notes about training a small network.",
                                          "A second paragraph of notes."]
    assert doc.title == "Week 3"
    assert doc.prose[1].span.start_line == 4  # docx "lines" are paragraph numbers


def _tiny_pdf(lines: list[str]) -> bytes:
    """A one-page PDF with a text layer, written by hand (Helvetica, one line per string)."""
    stream = "BT /F1 12 Tf 72 720 Td 14 TL " + " ".join(f"({line}) Tj T*" for line in lines) + " ET"
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        "/Resources << /Font << /F1 5 0 R >> >> >>",
        f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{o:010d} 00000 n \n" for o in offsets).encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return out


def test_pdf_text_layer_becomes_paragraphs_with_pages(tmp_path):
    path = tmp_path / "report.pdf"
    path.write_bytes(_tiny_pdf(["Notes on training a network with a long line of",
                                "text that goes on.", "A second paragraph."]))
    doc = read_notes_file(path, owner="erin")
    texts = [p.text for p in doc.prose]
    assert texts[0].startswith("Notes on training a network") and "goes on." in texts[0]
    assert all(p.page == 1 for p in doc.prose)


def test_unreadable_pdf_and_oversized_file_are_warnings(tmp_path):
    bad = tmp_path / "broken.pdf"
    bad.write_bytes(b"%PDF-1.4 not really")
    assert read_notes_file(bad).warnings and read_notes_file(bad).paragraphs == []
    big = tmp_path / "big.txt"
    big.write_text("x" * 200)
    doc = read_notes_file(big, max_bytes=100)
    assert doc.paragraphs == [] and "limit" in doc.warnings[0].reason
