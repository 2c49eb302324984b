"""The cost section of the diagnose report: the recommendation, cost against volume with break-evens, the table
per option and where every input came from. Pure: an estimate in, an HTML fragment out (everything escaped)."""

from __future__ import annotations

import html

from ragtune.economics.estimate import CostEstimate
from ragtune.economics.model import LABEL
from ragtune.economics.plot import cost_plot


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _money(value: float | None, currency: str) -> str:
    if value is None:
        return '<span class="muted">unknown</span>'
    return f"{value:,.2f} {_e(currency)}" if value >= 0.01 or value == 0 else f"{value:.6f} {_e(currency)}"


def cost_section(estimate: CostEstimate | None, problem: str | None = None) -> str:
    """``problem`` (no price sheet, a bad one) replaces the section's body with that one line."""
    head = '<h2>Cost</h2>\n'
    if estimate is None:
        return head + f"<p>{_e(problem or 'No cost estimate.')}</p>"
    e = estimate
    parts = [head, f'<p class="lede" id="cost-recommendation"><b>{_e(e.recommendation)}</b></p>']
    svg = cost_plot(e)
    if svg is not None:
        marks = "; ".join(f"{LABEL[b.a]} = {LABEL[b.b]} at {b.volume:,.0f} queries/day" for b in e.break_evens)
        parts.append(f'<figure id="plot-cost">{svg}\n<figcaption>Cost a month against queries a day, both axes '
                     f"logarithmic; dots are break-evens ({_e(marks or 'none in range')}); the dashed line is the "
                     "volume now.</figcaption></figure>")
    at = e.volume
    rows = []
    for name, c in e.options.items():
        rows.append(f"<tr><td>{_e(LABEL[name])}</td>"
                    f'<td class="num">{_money(c.monthly(at) if at is not None else None, e.currency)}</td>'
                    f'<td class="num">{_money(c.per_1k(at) if at is not None else None, e.currency)}</td>'
                    f'<td class="num">{_money(c.per_query, e.currency)}</td>'
                    f'<td class="num">{_money(c.fixed_per_month, e.currency)}</td>'
                    f'<td class="num">{_money(c.one_off, e.currency)}</td>'
                    f"<td>{_e(', '.join(c.unknown) or '—')}</td></tr>")
    volume = f"{at:,.0f} queries/day ({e.volume_from.status}: {e.volume_from.detail})" if at is not None else (
        "no volume measured or given")
    parts.append(f"<p>At {_e(volume)}:</p>"
                 '<table id="cost-table"><thead><tr><th>option</th><th>a month</th><th>per 1,000 queries</th>'
                 "<th>per query</th><th>fixed a month</th><th>one-off</th><th>unknown inputs</th></tr></thead>"
                 f"<tbody>{''.join(rows)}</tbody></table>")
    if e.break_evens:
        items = "".join(f"<li>{_e(LABEL[b.below])} is cheaper below {b.volume:,.0f} queries/day, "
                        f"{_e(LABEL[b.above])} above</li>" for b in e.break_evens)
        parts.append(f"<h3>Break-even volumes</h3><ul>{items}</ul>")
    inputs = "".join(
        f"<tr><td>{_e(name)}</td><td>{_e(p.status)}</td><td class=\"num\">"
        f"{'—' if p.value is None else _e(f'{p.value:.4g}')}</td><td>{_e(p.detail)}</td></tr>"
        for name, p in e.provenance.items())
    parts.append("<h3>Inputs: measured, given, missing</h3>"
                 '<table id="cost-inputs"><thead><tr><th>input</th><th>status</th><th>value</th><th>from</th></tr>'
                 f"</thead><tbody>{inputs}</tbody></table>")
    if e.missing:
        parts.append('<div class="note"><p>Missing measurements (left out of the costs, never guessed):</p><ul>'
                     + "".join(f"<li>{_e(m)}</li>" for m in e.missing) + "</ul></div>")
    parts.append(f'<p class="muted">Prices from {_e(e.sheet.source)} in {_e(e.currency)}; a month is 30.44 days. '
                 "The model is in docs/economics.md.</p>")
    return "\n".join(parts)
