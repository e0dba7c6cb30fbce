"""The platform: the server's own words (the command line, the API document's title)."""

from __future__ import annotations

from server.texts.core import Catalogue

TEXTS: Catalogue = {
    "app.name": ("安心", "Anxin"),
    "cli.description": ("安心：社区养老服务站后端", "Anxin: community elder-care station back end"),
    "cli.serving": (
        "安心 正在 http://{host}:{port} 提供服务（存储：{store}，总线：{bus}）",
        "Anxin serving on http://{host}:{port}  (store: {store}, bus: {bus})",
    ),
    "api.title": ("安心 API", "Anxin API"),
}
