"""Shoppers' accounts over the API: sign up, sign in, sign out, and "me".

Credentials: the same opaque DRF tokens partners use (`Authorization: Token <key>`), one per
account. Chosen over short-lived JWTs (djangorestframework-simplejwt) because signing out or
a password change must end a session at once: a token is deleted and, being checked against
the database (its answer cached under a hash of the key, forgotten on every change), stops
working on the next request, where a JWT stays valid until it expires unless a blacklist is
consulted on every request, which is the same lookup. A shopper's token acts for that
shopper's own visitor only (infrastructure.api.access); a partner's (the API client role)
for any.

Signing in names the app's anonymous visitor (`visitor`), whose history joins the account, as
signing in on the pages does. Sign-in and sign-up are throttled per client (429 with
Retry-After) and wrong passwords lock an account out as on the pages (django-axes).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import authenticate
from django.contrib.auth.models import User
from django.contrib.auth.tokens import default_token_generator
from django.utils.http import urlsafe_base64_decode
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.selectors import order_history
from infrastructure.api.access import WindowRateThrottle
from shopsmart.accounts.forms import (
    PasswordResetEverywhereForm,
    QueuedPasswordResetForm,
    SignupForm,
)
from shopsmart.accounts.verification import (
    VerificationError,
    email_is_verified,
    email_verification_send,
    email_verify,
    site_root,
)
from tracking.models import new_visitor_id
from tracking.selectors import account_visitor
from tracking.services import visitor_sign_in


class AuthThrottle(WindowRateThrottle):
    """Sign-in and sign-up attempts per client address."""

    scope = "auth"

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class SignupInput(serializers.Serializer[Any]):
    username = serializers.CharField(max_length=150)
    email = serializers.EmailField()
    password = serializers.CharField(write_only=True, style={"input_type": "password"})
    first_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    visitor = serializers.CharField(
        max_length=64, required=False, help_text="The app's anonymous visitor, to keep its history."
    )


class LoginInput(serializers.Serializer[Any]):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(write_only=True, style={"input_type": "password"})
    visitor = serializers.CharField(
        max_length=64, required=False, help_text="The app's anonymous visitor, to keep its history."
    )


class OrderLineOutput(serializers.Serializer[Any]):
    product = serializers.IntegerField(source="product_id", allow_null=True)
    product_name = serializers.CharField()
    unit_price = serializers.DecimalField(max_digits=10, decimal_places=2)
    quantity = serializers.IntegerField()


class OrderOutput(serializers.Serializer[Any]):
    number = serializers.CharField()
    status = serializers.CharField()
    total = serializers.DecimalField(max_digits=12, decimal_places=2)
    created_at = serializers.DateTimeField()
    lines = OrderLineOutput(many=True, source="lines.all")


class MeOutput(serializers.Serializer[Any]):
    username = serializers.CharField()
    email = serializers.EmailField()
    email_verified = serializers.BooleanField(
        help_text="The shopper opened the link sent to this address."
    )
    first_name = serializers.CharField()
    visitor = serializers.CharField(allow_null=True)
    orders = OrderOutput(many=True)


class SessionOutput(serializers.Serializer[Any]):
    token = serializers.CharField(help_text="Send it as `Authorization: Token <token>`.")
    visitor = serializers.CharField(help_text="The account's visitor: recommendations, events.")


def _session(user: User, visitor: str | None) -> dict[str, str]:
    """The account's token and its visitor, which the app's anonymous one joins."""
    account = visitor_sign_in(visitor=visitor or new_visitor_id(), user=user)
    token, _ = Token.objects.get_or_create(user=user)
    return {"token": token.key, "visitor": account.external_id}


class SignupView(APIView):
    """Create a shopper's account and sign in: the token and the account's visitor."""

    authentication_classes: list[Any] = []
    permission_classes: list[Any] = []
    throttle_classes = [AuthThrottle]
    error_statuses = (400, 429)

    @extend_schema(request=SignupInput, responses={201: SessionOutput})
    def post(self, request: Request) -> Response:
        given = SignupInput(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        form = SignupForm(
            {
                "username": data["username"],
                "email": data["email"],
                "first_name": data.get("first_name", ""),
                "password1": data["password"],
                "password2": data["password"],
            }
        )
        if not form.is_valid():
            # The form's two password fields are the API's one.
            renamed = {"password1": "password", "password2": "password"}
            errors: dict[str, list[str]] = {}
            for field, messages in form.errors.get_json_data().items():
                errors.setdefault(renamed.get(field, field), []).extend(
                    m["message"] for m in messages
                )
            raise ValidationError(errors)
        user = form.save()
        email_verification_send(user=user, site=site_root(request.build_absolute_uri("/")))
        return Response(_session(user, data.get("visitor")), status=status.HTTP_201_CREATED)


class LoginView(APIView):
    """Sign in: the account's token and visitor (the app's anonymous visitor joins it)."""

    authentication_classes: list[Any] = []
    permission_classes: list[Any] = []
    throttle_classes = [AuthThrottle]
    error_statuses = (400, 429)

    @extend_schema(request=LoginInput, responses={200: SessionOutput})
    def post(self, request: Request) -> Response:
        given = LoginInput(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        user = authenticate(request._request, username=data["username"], password=data["password"])
        # A locked-out account: django-axes answers 429 (shopsmart.accounts.lockout).
        if user is None:
            raise ValidationError({"password": ["Wrong username or password."]})
        return Response(_session(user, data.get("visitor")))


class LogoutView(APIView):
    """Sign out: the token stops working at once."""

    permission_classes = [IsAuthenticated]
    error_statuses = (401,)

    @extend_schema(request=None, responses={204: OpenApiResponse(description="Signed out.")})
    def post(self, request: Request) -> Response:
        if isinstance(request.auth, Token):
            request.auth.delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(APIView):
    """The signed-in shopper: profile, visitor and orders (newest first)."""

    permission_classes = [IsAuthenticated]
    error_statuses = (401,)

    @extend_schema(responses=MeOutput)
    def get(self, request: Request) -> Response:
        user = request.user
        me = {
            "username": user.get_username(),
            "email": getattr(user, "email", ""),
            "email_verified": email_is_verified(user=user),  # type: ignore[arg-type]
            "first_name": getattr(user, "first_name", ""),
            "visitor": account_visitor(user),
            "orders": order_history(user=user),  # type: ignore[arg-type]
        }
        return Response(MeOutput(me).data)


class VerifyEmailInput(serializers.Serializer[Any]):
    token = serializers.CharField(
        max_length=1_000, help_text="The last part of the link in the verification email."
    )


class VerifiedOutput(serializers.Serializer[Any]):
    email = serializers.EmailField()
    email_verified = serializers.BooleanField()


class VerifyEmailView(APIView):
    """Confirm a shopper's email address with the token of the link sent at sign-up (an app
    that opens the link itself); again is harmless. Needs no credentials: the token is one."""

    authentication_classes: list[Any] = []
    permission_classes: list[Any] = []
    throttle_classes = [AuthThrottle]
    error_statuses = (400, 429)

    @extend_schema(request=VerifyEmailInput, responses={200: VerifiedOutput})
    def post(self, request: Request) -> Response:
        given = VerifyEmailInput(data=request.data)
        given.is_valid(raise_exception=True)
        try:
            user = email_verify(token=given.validated_data["token"])
        except VerificationError as error:
            raise ValidationError({"token": [str(error)]}) from error
        return Response({"email": user.email, "email_verified": True})


class VerifyEmailResendView(APIView):
    """Send the signed-in shopper a new verification link (at most one a minute)."""

    permission_classes = [IsAuthenticated]
    throttle_classes = [AuthThrottle]
    error_statuses = (401, 429)

    @extend_schema(request=None, responses={200: VerifiedOutput})
    def post(self, request: Request) -> Response:
        user: User = request.user  # type: ignore[assignment]  # IsAuthenticated
        email_verification_send(user=user, site=site_root(request.build_absolute_uri("/")))
        return Response({"email": user.email, "email_verified": email_is_verified(user=user)})


class PasswordResetInput(serializers.Serializer[Any]):
    email = serializers.EmailField()


class PasswordResetConfirmInput(serializers.Serializer[Any]):
    uid = serializers.CharField(max_length=64, help_text="The link's first part after /reset/.")
    token = serializers.CharField(max_length=128, help_text="The link's second part.")
    new_password = serializers.CharField(write_only=True, style={"input_type": "password"})


class PasswordResetView(APIView):
    """Email a link to choose a new password (Django's own tokens, the same email as the
    pages'); the same answer whether or not an account has the address."""

    authentication_classes: list[Any] = []
    permission_classes: list[Any] = []
    throttle_classes = [AuthThrottle]
    error_statuses = (400, 429)

    @extend_schema(
        request=PasswordResetInput,
        responses={202: OpenApiResponse(description="Sent, if an account has the address.")},
    )
    def post(self, request: Request) -> Response:
        given = PasswordResetInput(data=request.data)
        given.is_valid(raise_exception=True)
        form = QueuedPasswordResetForm({"email": given.validated_data["email"]})
        if form.is_valid():
            form.save(request=request._request, use_https=request.is_secure())
        return Response(status=status.HTTP_202_ACCEPTED)


class PasswordResetConfirmView(APIView):
    """Choose the new password with the emailed link's two parts; it ends every session of
    the account (tokens included), and the link works once."""

    authentication_classes: list[Any] = []
    permission_classes: list[Any] = []
    throttle_classes = [AuthThrottle]
    error_statuses = (400, 429)

    @extend_schema(
        request=PasswordResetConfirmInput,
        responses={204: OpenApiResponse(description="The password is changed.")},
    )
    def post(self, request: Request) -> Response:
        given = PasswordResetConfirmInput(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        user = _reset_user(data["uid"])
        if user is None or not default_token_generator.check_token(user, data["token"]):
            raise ValidationError(
                {"token": ["This link does not work any more: ask for a new one."]}
            )
        form = PasswordResetEverywhereForm(
            user, {"new_password1": data["new_password"], "new_password2": data["new_password"]}
        )
        if not form.is_valid():
            raise ValidationError(
                {
                    "new_password": [
                        m["message"] for ms in form.errors.get_json_data().values() for m in ms
                    ]
                }
            )
        form.save()
        return Response(status=status.HTTP_204_NO_CONTENT)


def _reset_user(uid: str) -> User | None:
    try:
        pk = urlsafe_base64_decode(uid).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    return User.objects.filter(pk=pk, is_active=True).first() if pk.isdigit() else None
