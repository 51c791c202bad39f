"""The dashboard: every campaign and its actions in a browser (the only package importing the
ASGI stack). `start_dashboard` runs it inside another process (the publishing service);
`serve_dashboard_only` is `postpilot --serve --dashboard-only`. See docs/dashboard.md.
"""

from __future__ import annotations

from postpilot.serve_options import DEFAULT_HOST, DEFAULT_PORT, BindRefused, TLSFiles
from postpilot.web.server import DashboardHandle, serve_dashboard_only, start_dashboard

__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "BindRefused",
    "DashboardHandle",
    "TLSFiles",
    "serve_dashboard_only",
    "start_dashboard",
]
