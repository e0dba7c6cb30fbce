"""Moved to ``server.hotline.flows.tasks``; kept for ``server.incidents.presses``."""

from server.hotline.flows.tasks import insert_new, task_row

__all__ = ["insert_new", "task_row"]
