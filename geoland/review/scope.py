"""Who may see and change what: the one place where a user's communes are enforced (issue 17).

Viewers, reviewers and admins work province-wide. An ``editor`` (cán bộ địa chính xã) works on the plots of
its communes only: a plot belongs to the new commune its latest assignment gives it (the largest overlap),
a plot not yet assigned to none. Every page, API route and command that takes a user asks here; the web
app's role guard (``web.auth.require``) calls :func:`allow_plot` / :func:`allow_commune` before the view
runs, and refuses editors on every province-wide route that does not filter by :func:`communes_of`.

Personal data in clear: an admin anywhere, an editor on its own communes' plots (they type ID numbers in);
both audited by the caller.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from geoland.errors import Forbidden, NotFound
from geoland.review.users import role_at_least


def communes_of(user: dict | None) -> tuple[str, ...] | None:
    """The communes a user is bound to, or None for "the whole province" (every role but editor)."""
    if user is None:
        return ()
    return tuple(user.get("communes") or ()) if user.get("role") == "editor" else None


def plot_commune(conn: Connection, plot_id: int) -> str | None:
    """The new commune a plot is assigned to now (None when not assigned).

    Raises
    ------
    NotFound
        No such plot.
    """
    row = conn.execute(sa.text("""
        SELECT a.commune_code FROM geoland.plot p
        LEFT JOIN LATERAL (SELECT commune_code FROM geoland.plot_assignment_current a
                           WHERE a.plot_id = p.id ORDER BY a.effective DESC LIMIT 1) a ON true
        WHERE p.id = :id"""), {"id": plot_id}).first()
    if row is None:
        raise NotFound(f"no plot {plot_id}")
    return row.commune_code


def allow_commune(user: dict, commune: str) -> None:
    """Refuse (403) an editor a commune that is not theirs."""
    mine = communes_of(user)
    if mine is not None and commune not in mine:
        raise Forbidden(f"commune {commune} is not one of your communes ({', '.join(mine) or 'none'})")


def allow_plot(conn: Connection, user: dict, plot_id: int) -> str | None:
    """Refuse (403) an editor a plot outside their communes; returns the plot's commune.

    Raises
    ------
    NotFound
        No such plot (to anyone: a missing plot is no secret).
    Forbidden
        An editor, and the plot is not assigned to one of their communes.
    """
    commune = plot_commune(conn, plot_id)
    mine = communes_of(user)
    if mine is not None and commune not in mine:
        raise Forbidden(f"plot {plot_id} is not in one of your communes ({', '.join(mine) or 'none'})")
    return commune


def may_see_personal(user: dict) -> bool:
    """Whether a user may see personal data in clear on a plot they may open (admin; editor on theirs)."""
    return user is not None and user.get("role") in ("admin", "editor")


def may_edit(user: dict | None) -> bool:
    """Whether a user may change plot data at all (editor and above; an editor on their plots only)."""
    return user is not None and role_at_least(user.get("role"), "editor")


def visible(conn: Connection, user: dict, plot_ids) -> set[int]:
    """Which of these plots the user may see (all of them but for an editor)."""
    mine = communes_of(user)
    if mine is None:
        return {int(p) for p in plot_ids}
    rows = conn.execute(sa.text("""
        SELECT DISTINCT ON (plot_id) plot_id, commune_code FROM geoland.plot_assignment_current
        WHERE plot_id = ANY(:ids) ORDER BY plot_id, effective DESC"""), {"ids": [int(p) for p in plot_ids]}).all()
    return {p for p, c in rows if c in mine}


def only_visible(conn: Connection, user: dict, answer: dict, *, refuse_empty: bool) -> dict:
    """A look-up's answer cut to what the user may see.

    ``plots``: records with ``plot_id``; ``paper_plots``: with ``commune_code``. With ``refuse_empty``, 403
    when the answer named plots and none of them is the user's.
    """
    mine = communes_of(user)
    if mine is None:
        return answer
    shown = visible(conn, user, [p["plot_id"] for p in answer.get("plots", [])])
    plots = [p for p in answer.get("plots", []) if p["plot_id"] in shown]
    paper = [p for p in answer.get("paper_plots", []) if p.get("commune_code") in mine]
    if refuse_empty and not plots and not paper and (answer.get("plots") or answer.get("paper_plots")):
        raise Forbidden(f"none of these plots is in one of your communes ({', '.join(mine) or 'none'})")
    out = {k: v for k, v in answer.items() if k != "paper_plots"} | {"plots": plots}
    return out | ({"paper_plots": paper} if paper else {})
