"""The human status page (`GET /` on the admin listener): sessions, stations (with the
registered phone of each SIP station), calls."""
from __future__ import annotations

from html import escape


def _table(title: str, columns: list[tuple[str, str]], rows: list[dict], empty: str) -> str:
    head = "".join(f"<th>{escape(label)}</th>" for _, label in columns)
    if not rows:
        body = f'<tr><td colspan="{len(columns)}" class="empty">{escape(empty)}</td></tr>'
    else:
        body = "".join(
            "<tr>" + "".join(f"<td>{escape(_cell(row.get(key)))}</td>" for key, _ in columns) + "</tr>"
            for row in rows
        )
    return f"<h2>{escape(title)} ({len(rows)})</h2>\n<table><tr>{head}</tr>{body}</table>"


def _cell(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, (list, tuple)):
        return ", ".join(_cell(v) for v in value) or "-"
    if isinstance(value, dict):
        return ", ".join(f"{k}={_cell(v)}" for k, v in value.items()) or "-"
    return str(value)


def _registration(value) -> str | None:
    """A SIP station's registration as one cell: contact (transport), user agent, seconds left."""
    if not value:
        return None
    text = f"{value.get('contact')} ({value.get('transport')}), expires in {value.get('expires_in')} s"
    return f"{text}, {value['user_agent']}" if value.get("user_agent") else text


def _with_registration(row: dict) -> dict:
    if row.get("type") != "sip":
        return row
    return {**row, "registration": _registration(row.get("registration")) or "not registered"}


def render_status_page(sessions: list[dict], stations: list[dict], calls: list[dict],
                       trunk: dict | None = None) -> str:
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>rccserver status</title>",
        "<meta http-equiv='refresh' content='5'>",
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin-bottom:2em}"
        "td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}th{background:#eee}"
        ".empty{color:#888}</style></head><body>",
        "<h1>rccserver</h1>",
        _table("RCC sessions", [("lync_uri", "Lync user"), ("cic_user", "CIC user"), ("station", "station"),
                                ("line", "line"), ("monitors", "monitors"), ("remote", "remote address"),
                                ("started", "started (UTC)")], sessions, "no RCC sessions"),
        _table("Stations", [("extension", "extension"), ("name", "name"), ("type", "type"),
                            ("registration", "registered phone"), ("user", "occupied by"),
                            ("how", "how"), ("calls", "calls")], [_with_registration(row) for row in stations],
               "no stations"),
        _table("Calls", [("call_id", "call"), ("calling", "calling"), ("called", "called"),
                         ("parties", "parties")], calls, "no calls"),
        *([] if trunk is None else [_table("Trunk", [("peer", "peer"), ("state", "state"),
                                                     ("last_status", "last OPTIONS answer"),
                                                     ("last_reason", "reason")], [trunk], "no trunk")]),
        "</body></html>",
    ]
    return "\n".join(parts)
