"""Write a report document as Markdown (figures as files) or as one offline HTML page."""
import base64
import html

_CSS = """
body { font: 14px/1.45 -apple-system, "Segoe UI", Roboto, "DejaVu Sans", Arial, sans-serif;
       color: #1d2330; margin: 0; background: #f4f6f9; }
main { max-width: 1320px; margin: 0 auto; padding: 24px 32px 48px; }
h1 { font-size: 24px; margin: 8px 0 4px; }
h2 { font-size: 18px; margin: 32px 0 10px; padding-bottom: 4px; border-bottom: 2px solid #d8dde6; }
.meta { color: #5b6474; margin: 0 0 8px; }
.card { background: #fff; border: 1px solid #dde2ea; border-radius: 6px; padding: 14px 18px; }
.scroll { overflow-x: auto; margin: 8px 0; }
table { border-collapse: collapse; font-size: 12.5px; background: #fff; }
th, td { padding: 5px 7px; border-bottom: 1px solid #e3e7ee; text-align: left; white-space: nowrap; }
th { background: #eef1f6; font-weight: 600; white-space: normal; vertical-align: bottom; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tr:hover td { background: #f7f9fc; }
tr.reference td { color: #6b7280; font-style: italic; background: #fafafa; }
td b { color: #0b5cad; }
p { margin: 6px 0; }
img { max-width: 100%; height: auto; display: block; margin: 10px 0; background: #fff; }
.gallery { display: flex; flex-wrap: wrap; gap: 12px; align-items: flex-start; }
details { margin: 8px 0; } summary { cursor: pointer; color: #0b5cad; }
"""


def _md_cell(s):
    return str(s).replace("|", "\\|")


def _md_table(block):
    lines = ["| " + " | ".join(_md_cell(h) for h in block["headers"]) + " |"]
    lines.append("| " + " | ".join("---:" if j in block["numeric"] else "---"
                                   for j in range(len(block["headers"]))) + " |")
    for i, row in enumerate(block["rows"]):
        cells = []
        for j, c in enumerate(row):
            c = _md_cell(c)
            if (i, j) in block["bold"]:
                c = f"**{c}**"
            if block["row_class"][i] == "reference" and j == 0:
                c = f"_{c}_"
            cells.append(c)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def to_markdown(title, subtitle, sections, plot_dir):
    """Markdown with figures referenced as ``plot_dir/name`` files written beside it."""
    out = [f"# {title}", "", subtitle, ""]
    for section in sections:
        out += [f"## {section['title']}", ""]
        for block in section["blocks"]:
            if block["kind"] == "text":
                out.append(block["text"])
            elif block["kind"] == "table":
                out.append(_md_table(block))
            else:
                images = block["images"] if block["kind"] == "gallery" else [block]
                out.append("\n\n".join(f"![{im['alt']}]({plot_dir}/{im['name']})" for im in images))
            out.append("")
    return "\n".join(out)


def _html_table(block):
    num = block["numeric"]
    head = "".join(f'<th class="{"num" if j in num else ""}">{html.escape(str(h))}</th>'
                   for j, h in enumerate(block["headers"]))
    body = []
    for i, row in enumerate(block["rows"]):
        cells = []
        for j, c in enumerate(row):
            c = html.escape(str(c))
            if (i, j) in block["bold"]:
                c = f"<b>{c}</b>"
            cells.append(f'<td class="{"num" if j in num else ""}">{c}</td>')
        cls = f' class="{block["row_class"][i]}"' if block["row_class"][i] else ""
        body.append(f"<tr{cls}>{''.join(cells)}</tr>")
    table = f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>'
    if len(block["rows"]) > 25:
        return f"<details><summary>Table ({len(block['rows'])} rows)</summary>{table}</details>"
    return table


def _img(block, pngs):
    data = base64.b64encode(pngs[block["name"]]).decode("ascii")
    alt = html.escape(block["alt"], quote=True)
    return f'<img alt="{alt}" title="{alt}" src="data:image/png;base64,{data}">'


def to_html(title, subtitle, sections, pngs):
    """One self-contained page: inline CSS, figures as base64 PNG, no scripts, no links out."""
    parts = [f"<h1>{html.escape(title)}</h1>", f'<p class="meta">{html.escape(subtitle)}</p>']
    for section in sections:
        parts.append(f"<h2>{html.escape(section['title'])}</h2>")
        inner = []
        for block in section["blocks"]:
            if block["kind"] == "text":
                inner.append(f"<p>{html.escape(block['text'])}</p>")
            elif block["kind"] == "table":
                inner.append(_html_table(block))
            elif block["kind"] == "gallery":
                inner.append(f'<div class="gallery">{"".join(_img(im, pngs) for im in block["images"])}</div>')
            else:
                inner.append(_img(block, pngs))
        parts.append(f'<div class="card">{"".join(inner)}</div>')
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head>"
        f"<body><main>{''.join(parts)}</main></body></html>\n"
    )
