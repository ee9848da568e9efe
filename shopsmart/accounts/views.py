from __future__ import annotations

from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_safe

from catalog.selectors import order_history
from shopsmart.accounts.forms import SignupForm


@require_http_methods(["GET", "HEAD", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("account")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        login(request, form.save(), backend="django.contrib.auth.backends.ModelBackend")
        return redirect(_next_page(request))
    context = {"form": form, "next": request.POST.get("next") or request.GET.get("next", "")}
    status = 400 if request.method == "POST" else 200
    return render(request, "accounts/signup.html", context, status=status)


@require_safe
@login_required
def account(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/account.html", {"orders": order_history(user=request.user)})  # type: ignore[arg-type]


def _next_page(request: HttpRequest) -> str:
    wanted = request.POST.get("next") or request.GET.get("next") or ""
    safe = url_has_allowed_host_and_scheme(
        wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return wanted if safe else reverse("account")
