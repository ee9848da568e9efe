from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from catalog.selectors import order_history
from shopsmart.accounts.forms import SignupForm
from shopsmart.accounts.verification import (
    VerificationError,
    email_is_verified,
    email_verification_send,
    email_verify,
    site_root,
    verification_enabled,
)


@require_http_methods(["GET", "HEAD", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("account")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        email_verification_send(user=user, site=site_root(request.build_absolute_uri("/")))
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return redirect(_next_page(request))
    context = {"form": form, "next": request.POST.get("next") or request.GET.get("next", "")}
    status = 400 if request.method == "POST" else 200
    return render(request, "accounts/signup.html", context, status=status)


@require_safe
@login_required
def account(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]  # login_required
    context = {
        "orders": order_history(user=user),
        "verification": verification_enabled(),
        "email_verified": email_is_verified(user=user),
    }
    return render(request, "accounts/account.html", context)


@require_http_methods(["GET", "HEAD", "POST"])
def email_confirm(request: HttpRequest, token: str) -> HttpResponse:
    """The link of the verification email: a page asking to confirm (mail scanners that open
    links must not verify for the shopper), and the confirmation (POST)."""
    if request.method != "POST":
        return render(request, "accounts/verify_email.html", {"token": token})
    try:
        user = email_verify(token=token)
    except VerificationError as error:
        context = {"token": token, "error": str(error)}
        return render(request, "accounts/verify_email.html", context, status=400)
    messages.success(request, f"Thank you: {user.email} is confirmed.")
    return redirect("account" if request.user.is_authenticated else "catalog:home")


@require_POST
@login_required
def email_confirm_resend(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]  # login_required
    if email_verification_send(user=user, site=site_root(request.build_absolute_uri("/"))):
        messages.success(request, f"We sent a new link to {user.email}.")
    return redirect("account")


def _next_page(request: HttpRequest) -> str:
    wanted = request.POST.get("next") or request.GET.get("next") or ""
    safe = url_has_allowed_host_and_scheme(
        wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return wanted if safe else reverse("account")
