from django.contrib.auth import views as auth_views
from django.urls import path

from shopsmart.accounts import views
from shopsmart.accounts.forms import (
    PasswordChangeEverywhereForm,
    PasswordResetEverywhereForm,
    QueuedPasswordResetForm,
)

urlpatterns = [
    path("", views.account, name="account"),
    path("signup/", views.signup, name="signup"),
    path("verify/resend/", views.email_confirm_resend, name="email_verify_resend"),
    path("verify/<str:token>/", views.email_confirm, name="email_verify"),
    path(
        "login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    # Django's own views and tokens; the email goes through the outbox.
    path(
        "password/reset/",
        auth_views.PasswordResetView.as_view(form_class=QueuedPasswordResetForm),
        name="password_reset",
    ),
    path(
        "password/reset/sent/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "password/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(form_class=PasswordResetEverywhereForm),
        name="password_reset_confirm",
    ),
    path(
        "password/reset/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path(
        "password/",
        auth_views.PasswordChangeView.as_view(form_class=PasswordChangeEverywhereForm),
        name="password_change",
    ),
    path(
        "password/changed/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
]
