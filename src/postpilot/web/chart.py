"""The campaign's picture: posts per day as stacked bars (success over failure), and per
account the same split as horizontal bars. Plain SVG built on the server (no script, no
external font), so the strict Content-Security-Policy holds and it renders offline.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from xml.sax.saxutils import escape

WIDTH = 720
DAY_HEIGHT = 180
ROW = 18
SUCCESS = "#2f9e44"
FAILED = "#e03131"
#: Most days drawn; older days are summed into the first bar's label instead.
MAX_DAYS = 60


def _text(x: float, y: float, text: str, anchor: str = "start", size: int = 11) -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" '
        f'font-family="sans-serif" fill="#333">{escape(text)}</text>'
    )


def render(rows: Iterable[Mapping[str, object]]) -> str:
    """The SVG document for outcome rows {day, account, outcome, count}."""
    per_day: dict[str, dict[str, int]] = defaultdict(lambda: {"success": 0, "failed": 0})
    per_account: dict[str, dict[str, int]] = defaultdict(lambda: {"success": 0, "failed": 0})
    for row in rows:
        outcome, count = str(row["outcome"]), int(str(row["count"]))
        per_day[str(row["day"])][outcome] += count
        per_account[str(row["account"])][outcome] += count
    days = sorted(per_day)[-MAX_DAYS:]
    accounts = sorted(per_account)
    height = 40 + DAY_HEIGHT + 40 + ROW * max(1, len(accounts)) + 30
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" role="img" aria-label="posts per day and account">',
        _text(10, 18, "Posts per day (green: success, red: failed)", size=13),
    ]
    if not days:
        parts.append(_text(10, 60, "No post has been published or failed yet."))
    else:
        top = max(d["success"] + d["failed"] for d in per_day.values()) or 1
        slot = (WIDTH - 60) / len(days)
        bar = min(36.0, max(2.0, slot * 0.7))
        base = 40 + DAY_HEIGHT
        parts.append(_text(50, 40, str(top), anchor="end"))
        for i, day in enumerate(days):
            x = 55 + i * slot
            ok, bad = per_day[day]["success"], per_day[day]["failed"]
            h_ok, h_bad = DAY_HEIGHT * ok / top, DAY_HEIGHT * bad / top
            title = f"{day}: {ok} success, {bad} failed"
            parts.append(
                f"<g><title>{escape(title)}</title>"
                f'<rect x="{x:.1f}" y="{base - h_ok:.1f}" width="{bar:.1f}" height="{h_ok:.1f}" '
                f'fill="{SUCCESS}"/>'
                f'<rect x="{x:.1f}" y="{base - h_ok - h_bad:.1f}" width="{bar:.1f}" '
                f'height="{h_bad:.1f}" fill="{FAILED}"/></g>'
            )
        parts.append(f'<line x1="52" y1="{base}" x2="{WIDTH - 5}" y2="{base}" stroke="#999"/>')
        parts.append(_text(55, base + 14, days[0]))
        if len(days) > 1:
            parts.append(_text(WIDTH - 5, base + 14, days[-1], anchor="end"))
    y = 40 + DAY_HEIGHT + 45
    parts.append(_text(10, y - 8, "Per account over the campaign's life", size=13))
    widest = max((a["success"] + a["failed"] for a in per_account.values()), default=0) or 1
    for i, account in enumerate(accounts):
        ok, bad = per_account[account]["success"], per_account[account]["failed"]
        row_y = y + i * ROW
        w_ok = (WIDTH - 260) * ok / widest
        w_bad = (WIDTH - 260) * bad / widest
        parts.append(_text(150, row_y + 12, account[:24], anchor="end"))
        parts.append(
            f'<rect x="155" y="{row_y + 2}" width="{w_ok:.1f}" height="{ROW - 5}" '
            f'fill="{SUCCESS}"/>'
            f'<rect x="{155 + w_ok:.1f}" y="{row_y + 2}" width="{w_bad:.1f}" height="{ROW - 5}" '
            f'fill="{FAILED}"/>'
        )
        parts.append(_text(160 + w_ok + w_bad, row_y + 12, f"{ok} ok, {bad} failed"))
    parts.append("</svg>")
    return "".join(parts)
