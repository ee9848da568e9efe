"""What each dashboard page and action needs, beyond being staff (the roles in
shopsmart.accounts.roles hold these permissions; superusers hold all of them).

A page a staff member may not open answers 403; a figure or button they may not use is not
shown, and its action answers 403 too.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

View = Callable[..., HttpResponse]

# The overview's figures (events, funnel, top products, trending, coverage).
VIEW_FIGURES = "tracking.view_event"
# Money: revenue figures and charts.
VIEW_REVENUE = "catalog.view_revenue"
# The evaluation's quality charts.
VIEW_QUALITY = "recommender.view_evaluationrun"
# The pipelines page: runs, cache hit rates.
VIEW_PIPELINES = "recommender.view_pipelinerun"
RUN_PIPELINES = "recommender.run_pipelines"
FLUSH_CACHES = "recommender.flush_caches"
# The outbox's backlog of tasks waiting for the broker.
VIEW_OUTBOX = "outbox.view_outboxmessage"
# The experiments and their results (Merchandiser, Analyst).
VIEW_EXPERIMENTS = "recommender.view_experiment"


def staff_required(permission: str) -> Callable[[View], View]:
    """Anonymous -> the sign-in page; signed in without staff rights or the permission -> 403."""

    def decorator(view: View) -> View:
        @wraps(view)
        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not (request.user.is_staff and request.user.has_perm(permission)):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return guarded

    return decorator


def dashboard_rights(request: HttpRequest) -> dict[str, bool]:
    """What the signed-in staff member may see and do, for the templates."""
    user = request.user
    return {
        "figures": user.has_perm(VIEW_FIGURES),
        "revenue": user.has_perm(VIEW_REVENUE),
        "quality": user.has_perm(VIEW_QUALITY),
        "pipelines": user.has_perm(VIEW_PIPELINES),
        "run": user.has_perm(RUN_PIPELINES),
        "flush": user.has_perm(FLUSH_CACHES),
        "outbox": user.has_perm(VIEW_OUTBOX),
        "experiments": user.has_perm(VIEW_EXPERIMENTS),
    }
