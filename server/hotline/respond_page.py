"""The small phone page behind the SMS link: "我去看看 / I'm going" or "我去不了 / I can't".

The neighbour taps a link in an SMS, so the page must work in any phone browser with no app,
no sign-in and no script: a plain HTML form posting to the same URL. The token in the URL is
the only credential (an HMAC of the alert id), so a forged page on another site cannot post
without it; the handler also refuses cross-site posts (Origin, Sec-Fetch-Site). Opening the
page (GET) never answers: SMS apps and WeChat fetch links for previews. Text in, HTML out: the
template is here, its sentences are in the catalogue (server/texts/hotline.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from html import escape
from typing import Final

from server.texts import Text

__all__ = ["PAGE_HEADERS", "PageState", "RespondPage", "render"]

PAGE_HEADERS: Final = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    # The token is in the URL: never send it on as a referrer.
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
}


class PageState(StrEnum):
    """What the person can still do."""

    ASK = "ask"  # not answered yet: both buttons
    GOING = "going"  # said they are going: they can still say they cannot
    DECLINED = "declined"  # said they cannot: they can still change their mind
    OVER = "over"  # the call is handled or closed (or the link expired): nothing to do
    ALREADY = "already"  # a different answer after the first: refused, the first one shown
    INVALID = "invalid"  # forged or unknown link


@dataclass(frozen=True, slots=True)
class RespondPage:
    """What the page shows."""

    state: PageState
    text: str = ""  # the alert's message (who called for help, where)
    action: str = ""  # where the form posts (this page's own path)


_NOTES: Final = {
    PageState.ASK: "hotline.page.ask",
    PageState.GOING: "hotline.page.going",
    PageState.DECLINED: "hotline.page.declined",
    PageState.OVER: "hotline.page.over",
    PageState.ALREADY: "hotline.page.already",
    PageState.INVALID: "hotline.page.invalid",
}

_STYLE: Final = (
    "body{font-family:system-ui,-apple-system,'PingFang SC','Microsoft YaHei',sans-serif;"
    "margin:0;padding:1.2rem;font-size:1.15rem;line-height:1.5;color:#1a1a1a;background:#fff}"
    "h1{font-size:1.5rem;margin:0 0 .8rem}.msg{background:#fff4e5;border-left:6px solid #e67e22;"
    "padding:.8rem;margin:0 0 1rem}.en{color:#555;font-size:1rem}"
    "button{display:block;width:100%;min-height:4.2rem;margin:.8rem 0;border:0;border-radius:.6rem;"
    "font-size:1.4rem;font-weight:600;color:#fff}.go{background:#1e8449}.no{background:#7f8c8d}"
)


def _both(key: str) -> tuple[str, str]:
    """A catalogue text in both languages (the catalogue's own words: no markup in them)."""
    t = Text(key)
    return t.render("zh"), t.render("en")


def _button(answer: str, css: str, key: str) -> str:
    zh, en = _both(key)
    return (
        f'<button type="submit" name="answer" value="{answer}" class="{css}">'
        f'{zh}<br><span class="en" style="color:#fff">{en}</span></button>'
    )


def render(page: RespondPage) -> str:
    """The whole page (Chinese first, English below)."""
    zh, en = _both(_NOTES[page.state])
    title, heading = _both("hotline.page.title"), _both("hotline.page.heading")
    parts = [
        "<!doctype html>",
        '<html lang="zh-CN"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width,initial-scale=1">',
        f"<title>{title[0]} / {title[1]}</title>",
        f"<style>{_STYLE}</style></head><body>",
        f'<h1>{heading[0]}<br><span class="en">{heading[1]}</span></h1>',
    ]
    if page.text:
        parts.append(f'<p class="msg">{escape(page.text)}</p>')
    parts.append(f'<p>{escape(zh)}<br><span class="en">{escape(en)}</span></p>')
    buttons = []
    if page.state is PageState.ASK:  # answered once: no buttons after
        buttons.append(_button("accept", "go", "hotline.page.accept"))
        buttons.append(_button("decline", "no", "hotline.page.decline"))
    if buttons:
        parts.append(f'<form method="post" action="{escape(page.action, quote=True)}">')
        parts.extend(buttons)
        parts.append("</form>")
    parts.append("</body></html>")
    return "\n".join(parts)
